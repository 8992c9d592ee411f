// The TextMate grammar: its word lists match the compiler's, and a real tokenizer gives the seed LSTM the expected scopes.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as oniguruma from "vscode-oniguruma";
import * as textmate from "vscode-textmate";
import { constructs } from "../../src/elaborate/constructs.js";
import { initializers } from "../../src/ir/initializers.js";
import { builtins } from "../../src/ir/ops.js";
import { keywords } from "../../src/syntax/tokens.js";
import { grammarWithBuiltins, readmeWithTable } from "../../src/tools/tables.js";
import { root } from "../helpers.js";

const grammarPath = join(root, "grammar", "rnn.tmLanguage.json");
const grammarJson = JSON.parse(readFileSync(grammarPath, "utf8"));

/** The alternatives of the largest `(a|b|…)` group of plain words in a pattern. */
function wordsIn(pattern: string): string[] {
  const groups = [...pattern.matchAll(/\(([^()\\[\]?]+)\)/gu)].map((m) => m[1]!.split("|"));
  return groups.sort((a, b) => b.length - a.length)[0] ?? [];
}

async function grammar(): Promise<textmate.IGrammar> {
  const require = createRequire(import.meta.url);
  const wasm = readFileSync(join(require.resolve("vscode-oniguruma"), "..", "onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer);
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({ createOnigScanner: (p) => new oniguruma.OnigScanner(p), createOnigString: (s) => new oniguruma.OnigString(s) }),
    loadGrammar: async (scope) => (scope === "source.rnn" ? textmate.parseRawGrammar(readFileSync(grammarPath, "utf8"), grammarPath) : null),
  });
  return (await registry.loadGrammar("source.rnn"))!;
}

describe("TextMate grammar", () => {
  const text = JSON.stringify(grammarJson);

  it("names exactly the compiler's keywords, builtins, constructs and initializers", () => {
    const repo = grammarJson.repository;
    const kw = repo.keywords.patterns.flatMap((p: { match: string }) => p.match.match(/\(([a-z|]+)\)/)![1]!.split("|"));
    expect(kw.sort()).toEqual(keywords.map((k) => k.name.toLowerCase()).sort());
    const expr = JSON.stringify(repo.expression);
    expect(wordsIn(JSON.parse(expr).patterns[2].match).sort()).toEqual([...builtins.keys()].sort());
    expect(wordsIn(JSON.parse(expr).patterns[3].match).sort()).toEqual([...constructs.keys()].sort());
    const init = repo.declarations.patterns.find((p: { match: string }) => p.match.startsWith("(~)")).match;
    expect(wordsIn(init).sort()).toEqual([...initializers.keys()].sort());
    expect(text).toContain('"scopeName":"source.rnn"');
  });

  it("its builtin pattern and grammar/README.md's builtin table are the ones the op table generates (npm run tables:update)", () => {
    const text = readFileSync(grammarPath, "utf8");
    expect(grammarWithBuiltins(text)).toBe(text);
    const page = readFileSync(join(root, "grammar", "README.md"), "utf8");
    expect(readmeWithTable(page)).toBe(page);
  });

  it("scopes the seed LSTM as an editor shows it", async () => {
    const g = await grammar();
    const source = readFileSync(join(root, "examples", "seed-lstm.rnn"), "utf8").split("\n");
    const scopes = new Map<string, string[]>();
    let stack = textmate.INITIAL;
    for (const line of source) {
      const r = g.tokenizeLine(line, stack);
      for (const t of r.tokens) {
        const word = line.slice(t.startIndex, t.endIndex).trim();
        if (word && !scopes.has(word)) scopes.set(word, t.scopes);
      }
      stack = r.ruleStack;
    }
    const scopeOf = (w: string) => scopes.get(w)?.[scopes.get(w)!.length - 1];
    expect(scopeOf("cell")).toBe("storage.type.rnn");
    expect(scopeOf("SeedLSTM")).toBe("entity.name.type.rnn");
    expect(scopeOf("param")).toBe("storage.type.rnn");
    expect(scopeOf("glorot_uniform")).toBe("support.function.initializer.rnn");
    expect(scopeOf("σ")).toBe("support.function.builtin.rnn");
    expect(scopeOf("tanh")).toBe("support.function.builtin.rnn");
    expect(scopeOf("t")).toBe("variable.language.time.rnn");
    expect(scopeOf("@")).toBe("keyword.operator.rnn");
    expect(scopes.get("// forget gate")?.at(-1)).toBe("comment.line.double-slash.rnn");
    expect([...scopes].find(([w]) => w.startsWith("///"))![1].at(-1)).toBe("comment.line.documentation.rnn");
  });
});
