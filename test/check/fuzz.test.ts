// Property tests: random and mutated sources never make the checker throw; they only produce well-formed diagnostics.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createCompiler } from "../../src/compiler.js";
import { codes } from "../../src/diagnostics/codes.js";
import { renderDiagnostics } from "../../src/diagnostics/render.js";
import { memoryHost } from "../../src/resolve/host.js";
import { verifyCellIR, verifyModelIR } from "../../src/ir/verify.js";
import { rnnFiles, root } from "../helpers.js";

const corpusFiles = [...rnnFiles("stdlib"), ...rnnFiles("examples"), ...rnnFiles("test/fixtures")];
const corpus = corpusFiles.map((f) => readFileSync(f, "utf8"));
const stdlib = new Map(readdirSync(join(root, "stdlib")).map((f) => [`std/${f}`, readFileSync(join(root, "stdlib", f), "utf8")]));

/** Checks one source; asserts the result is well formed and returns it. */
function checkSource(text: string) {
  const files = new Map([["fuzz.rnn", text], ...stdlib]);
  const r = createCompiler(memoryHost(files, [...stdlib.keys()])).check("fuzz.rnn");
  for (const d of r.diagnostics) {
    expect(codes.has(d.code), `unknown code ${d.code}`).toBe(true);
    expect(d.message.length).toBeGreaterThan(0);
    const len = (r.sources.get(d.primary.file) ?? "").length;
    expect(d.primary.span.start).toBeGreaterThanOrEqual(0);
    expect(d.primary.span.end).toBeLessThanOrEqual(len);
    expect(d.primary.span.start).toBeLessThanOrEqual(d.primary.span.end);
  }
  for (const c of r.cells.values()) if (c.ok) expect(verifyCellIR(c.ir)).toEqual([]);
  for (const m of r.models.values()) if (m.ok) expect(verifyModelIR(m.ir)).toEqual([]);
  renderDiagnostics(r.diagnostics, r.sources); // rendering must not throw either
  return r;
}

const vocabulary = [
  "cell", "input", "state", "param", "gate", "output", "import", "from", "\"std\"", "{", "}", "(", ")", "[", "]", "<", ">",
  "=", "~", ":", ",", "@", "·", "⊙", "*", "/", "+", "-", "t", "t-1", "[t-1]", "[t-2]", "[t+1]", "[0:H]", "H", "I", "x", "h",
  "W", "σ", "tanh", "relu", "sigmoid", "concat", "gather", "0", "1", "2.5", "\n", " ", "//", "///", "/*", "*/", "$", "int",
  // models
  "model", "layer", "LSTM<I, H>", "GRU<_, H>", "Dense<H, V>", "Embedding<V, E>", "scan", "map", "last", "final", "bidirectional",
  "generate", "init =", "reverse = true", "merge = sum", "steps = 3", "until = 1", ".h", ".", "[T, I]", "[S] int", "_",
  "import { LSTM, GRU, Dense, Embedding } from \"std\"",
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.constantFrom(...vocabulary) }),
  fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
);

function mutate(text: string, ms: { kind: "delete" | "insert" | "duplicate"; at: number; len?: number; text?: string }[]): string {
  let s = text;
  for (const m of ms) {
    const at = s.length ? m.at % (s.length + 1) : 0;
    if (m.kind === "delete") s = s.slice(0, at) + s.slice(at + m.len!);
    else if (m.kind === "insert") s = s.slice(0, at) + m.text + s.slice(at);
    else s = s.slice(0, at) + s.slice(at, at + m.len!) + s.slice(at);
  }
  return s;
}

describe("checker fuzzing", () => {
  it("random text never throws", () => {
    fc.assert(fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), (s) => { checkSource(s); }), { numRuns: 300, seed: 42 });
  });

  it("random model-shaped programs never throw", () => {
    const part = fc.constantFrom(
      "input x: [T, I]", "input tok: [T] int", "input v: [I]", "layer r = LSTM<I, H>", "layer g = GRU<_, H>", "layer d = Dense<H, I>",
      "layer e = Embedding<V, I>", "y = scan(r, x)", "z = last(y)", "w = final(y)", "q = map(d, y)", "u = d(z)", "k = scan(g, x, init = w.h)",
      "b = bidirectional(r, g, x, merge = ave)", "n = generate(d, start = v, steps = 3)", "output y", "output z, u", "output n",
    );
    fc.assert(fc.property(fc.array(part, { maxLength: 12 }), (items) => {
      checkSource(`import { LSTM, GRU, Dense, Embedding } from "std"\nmodel M<I, H, V> {\n${items.join("\n")}\n}\n`);
    }), { numRuns: 500, seed: 99 });
  }, 60_000);

  it("random token soup never throws", () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...vocabulary), { maxLength: 80 }), (ts) => { checkSource(ts.join(" ")); }), { numRuns: 400, seed: 7 });
  });

  it("mutated real sources never throw", () => {
    fc.assert(
      fc.property(fc.nat({ max: corpus.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), (i, ms) => {
        checkSource(mutate(corpus[i]!, ms));
      }),
      // RNNC_FUZZ_RUNS=10000 (npm run fuzz:long) for the long run; CI runs the default.
      { numRuns: Number(process.env["RNNC_FUZZ_RUNS"] ?? 2000), seed: Number(process.env["RNNC_FUZZ_SEED"] ?? 1234) },
    );
  }, Number(process.env["RNNC_FUZZ_RUNS"] ?? 2000) * 60);

  it("deep and large generated programs never throw: nested expressions up to past the limits, long chains of equations", () => {
    const leaf = fc.constantFrom("x", "h[t-1]", "W @ x", "1", "b");
    const expr = fc.letrec<{ e: string }>((tie) => ({
      e: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf,
        fc.tuple(tie("e"), fc.constantFrom(" + ", " - ", " * ", " ⊙ ", " @ "), tie("e")).map(([a, op, b]) => a + op + b),
        tie("e").map((a) => `(${a})`), tie("e").map((a) => `-${a}`), tie("e").map((a) => `tanh(${a})`)),
    })).e;
    const wrap = fc.tuple(fc.nat({ max: 90 }), fc.constantFrom(["(", ")"], ["-", ""], ["σ(", ")"], ["[", "]"]))
      .map(([n, [o, c]]) => (inner: string) => o!.repeat(n) + inner + c!.repeat(n));
    const cellOf = (defs: string[]) => `cell C<I, H> {\n  input x: [H]\n  state h: [H]\n  param W: [H, H]\n  param b: [H]\n${defs.map((d, k) => `  v${k} = ${d}`).join("\n")}\n  h = tanh(v${defs.length - 1})\n  output h\n}\n`;
    fc.assert(fc.property(fc.array(fc.tuple(expr, wrap), { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 400 }), (parts, chain) => {
      const defs = parts.map(([e, w]) => w(e));
      for (let k = 0; k < chain; k++) defs.push(`v${defs.length - 1} + x`);
      checkSource(cellOf(defs));
    }), { numRuns: 150, seed: 2024 });
    // A sum long enough to pass the depth limit, and one just within it.
    for (const n of [200, 257, 258, 3000]) checkSource(cellOf([Array(n).fill("x").join(" + ")]));
  }, 120_000);

  it("the unmutated corpus gives well-formed results", () => {
    for (const text of corpus) checkSource(text);
  });
});
