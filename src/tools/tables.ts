// Text generated from the op table: grammar/README.md's table of builtin functions and the TextMate grammar's builtin pattern.
import { builtinsByOp, builtins, opInfo, type OpInfo } from "../ir/ops.js";

export const README_START = "<!-- builtins: generated from src/ir/ops.ts by `npm run tables:update` -->";
export const README_END = "<!-- /builtins -->";

/** The README's table: one row per callable op, in the table's order. */
export function builtinTable(): string {
  const rows = builtinsByOp().map(([name, ...aliases]) => {
    const i: OpInfo = opInfo[builtins.get(name!)!.op];
    const arity = typeof i.arity === "number" ? String(i.arity) : `${i.arity[0]}–${i.arity[1]}`;
    const range = i.range ? `[${i.range[0]}, ${i.range[1]}]` : "";
    return `| \`${name}\`${aliases.map((a) => ` \`${a}\``).join("")} | ${arity} | ${i.doc.replaceAll("|", "\\|")} | ${range} |`;
  });
  return ["| function (other names) | arguments | what it computes | output range |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

/** The README with its builtin table replaced by the current one. */
export function readmeWithTable(readme: string): string {
  const a = readme.indexOf(README_START);
  const b = readme.indexOf(README_END);
  if (a < 0 || b < a) throw new Error(`grammar/README.md has no ${README_START} … ${README_END} block`);
  return `${readme.slice(0, a + README_START.length)}\n${builtinTable()}\n${readme.slice(b)}`;
}

/** The builtin pattern: every name, longest first, so that no name is cut short by a shorter one. */
export function builtinPattern(): string {
  const names = [...builtins.keys()].map((n, i) => ({ n, i })).sort((x, y) => y.n.length - x.n.length || x.i - y.i).map((x) => x.n);
  return `(?<![\\p{L}\\p{N}_'])(${names.join("|")})(?![\\p{L}\\p{N}_'])`;
}

/** The TextMate grammar (its JSON text) with the builtin pattern replaced by the current one. */
export function grammarWithBuiltins(text: string): string {
  const g = JSON.parse(text) as { repository: { expression: { patterns: { name?: string; match?: string }[] } } };
  const p = g.repository.expression.patterns.find((x) => x.name === "support.function.builtin.rnn");
  if (!p) throw new Error("the grammar has no support.function.builtin.rnn pattern");
  p.match = builtinPattern();
  return `${JSON.stringify(g, null, 2)}\n`;
}
