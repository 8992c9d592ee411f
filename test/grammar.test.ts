// Keeps grammar/rnn.ebnf and the chevrotain parser in sync: same rules, each using the same rules and tokens.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ISerializedGast } from "chevrotain";
import { describe, expect, it } from "vitest";
import { parser } from "../src/syntax/parser.js";
import { allTokens } from "../src/syntax/tokens.js";
import { root } from "./helpers.js";

/** EBNF terminal spelling → token name, from the token patterns (keywords, punctuation) and the named classes. */
function terminalNames(): Map<string, string> {
  const m = new Map<string, string>([["IDENTIFIER", "Identifier"], ["NUMBER", "NumberLiteral"], ["STRING", "StringLiteral"]]);
  for (const t of allTokens) {
    const src = (t.PATTERN as RegExp).source ?? "";
    for (const alt of src.split("|")) m.set(`"${alt.replace(/\\/g, "")}"`, t.name);
  }
  return m;
}

function ebnfRules(): Map<string, Set<string>> {
  const text = readFileSync(join(root, "grammar", "rnn.ebnf"), "utf8").replace(/\(\*[\s\S]*?\*\)/g, "");
  const terms = terminalNames();
  const rules = new Map<string, Set<string>>();
  for (const m of text.matchAll(/(\w+)\s*=([\s\S]*?);\s*$/gm)) {
    const refs = new Set<string>();
    for (const tok of m[2]!.matchAll(/"[^"]+"|\b[A-Za-z]\w*\b/g)) {
      const t = tok[0];
      if (t.startsWith('"') || /^[A-Z]+$/.test(t)) {
        const name = terms.get(t);
        if (!name) throw new Error(`rule ${m[1]}: unknown terminal ${t}`);
        refs.add(`token:${name}`);
      } else refs.add(`rule:${t}`);
    }
    rules.set(m[1]!, refs);
  }
  return rules;
}

function parserRules(): Map<string, Set<string>> {
  const rules = new Map<string, Set<string>>();
  const walk = (node: ISerializedGast, refs: Set<string>): void => {
    const n = node as ISerializedGast & { name?: string; definition?: ISerializedGast[] };
    if (n.type === "NonTerminal") refs.add(`rule:${n.name}`);
    if (n.type === "Terminal") refs.add(`token:${n.name}`);
    for (const d of n.definition ?? []) walk(d, refs);
    const sep = (n as { separator?: { name: string } }).separator;
    if (sep) refs.add(`token:${sep.name}`);
  };
  for (const r of parser.getSerializedGastProductions()) {
    const refs = new Set<string>();
    walk(r, refs);
    rules.set((r as unknown as { name: string }).name, refs);
  }
  return rules;
}

describe("grammar/rnn.ebnf", () => {
  const ebnf = ebnfRules();
  const gast = parserRules();
  it("declares the same rules as the parser", () => {
    expect([...ebnf.keys()].sort()).toEqual([...gast.keys()].sort());
  });
  it.each([...gast.keys()])("rule %s uses the same rules and tokens", (rule) => {
    expect([...(ebnf.get(rule) ?? [])].sort()).toEqual([...gast.get(rule)!].sort());
  });
});
