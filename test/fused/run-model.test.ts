// Whole models over a batch on the fused kernels against the interpreter's model runner, example by example.
import { describe, expect, it } from "vitest";
import { BatchedModelRunner, batchedUnsupported } from "../../src/fused/run-model.js";
import { runModel } from "../../src/interp/run-model.js";
import type { ModelIR } from "../../src/ir/ir.js";
import { resolveDims } from "../../src/runtime/dims.js";
import { mulberry32 } from "../../src/runtime/random.js";
import type { ModelRunInput } from "../../src/runtime/run-types.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { closeness, exampleModels, modelFrom } from "../helpers.js";

const B = 4, T = 6;
const lengths = [6, 3, 1, 5];

const topologies: [string, string][] = [
  ["stacked, reverse, last, final and a field", `model M<I = 3, H = 4> { input x: [T, I]  layer a = LSTM<I, H>  layer b = GRU<H, H>  layer d = Dense<H, 2>
    s = scan(b, scan(a, x), reverse = true)  output y = d(last(s))  output h = final(s).h  output st = final(s)  output seq = s }`],
  ["states from model inputs, a bidirectional started and its final states joined", `model M<I = 3, H = 4> { input x: [T, I]  input h0: [H]  input c0: [H]  layer a = LSTM<I, H>
    layer f = GRU<I, H>  layer g = GRU<I, H>  layer dec = LSTM<I, 2 * H>  output y = scan(a, x, init = states(h = h0, c = c0))
    both = bidirectional(f, g, x, init_fwd = states(h = c0), init_bwd = states(h = h0))  output z = scan(dec, x, init = states(h = final(both).h, c = final(both).h * 0.5))  output w = both  output s = final(both).h }`],
  ["bidirectional (concat and ave) with a map", `model M<I = 3, H = 4> { input x: [T, I]  layer f = LSTM<I, H>  layer g = LSTM<I, H>  layer d = Dense<2 * H, 1>
    output y = map(d, bidirectional(f, g, x, merge = concat))  output z = bidirectional(f, g, x, merge = ave) }`],
  ["encoder–decoder with embeddings, teacher forced", `model M<H = 4> { input src: [S] int  input tgt: [U] int  layer e = Embedding<5, 3>  layer enc = LSTM<3, H>  layer dec = LSTM<3, H>
    output y = scan(dec, map(e, tgt), init = final(scan(enc, map(e, src)))) }`],
  ["a cell of two layers started from two encoders' records", `cell Two<I, H> { input x: [I]  layer one = LSTM<I, H>  layer two = GRU<I, H>  output y = one(x) - two(x) }
    model M<I = 3, H = 4> { input x: [T, I]  layer a = LSTM<I, H>  layer b = GRU<I, H>  layer dec = Two<I, H>
    output y = scan(dec, x, init = states(final(scan(a, x)), final(scan(b, x, reverse = true)))) }`],
  ["pointwise work on sequences and single values", `model M<I = 3, H = 4> { input x: [T, I]  input z: [H]  layer a = Elman<I, H>  layer d = Dense<H, H>
    s = scan(a, x)  output y = tanh(s) * 2 + 1  output w = d(z) - 0.5 }`],
];

function models(): [string, ModelIR][] {
  return [...exampleModels(["G2PBi2Wide"]), ...topologies.map(([name, spec]): [string, ModelIR] => [name, modelFrom(`import { LSTM, GRU, Elman, Dense, Embedding } from "std"\n${spec}`, "M")])];
}

describe("models over a batch on the fused kernels", () => {
  for (const [name, ir] of models()) {
    const why = batchedUnsupported(ir);
    if (why) {
      it(`${name}: runs an example at a time (${why})`, () => expect(ir.nodes.some((n) => n.op === "generate")).toBe(true));
      continue;
    }
    it(`${name}: equals the interpreter`, () => {
      const env = resolveDims(ir, new Map());
      const params = initParams(modelParamSpecs(ir, env), 3);
      const rng = mulberry32(8);
      const inputs = Object.fromEntries(ir.inputs.map((i) => {
        const inner = i.shape.map((d) => [...d].reduce((s, [k, c]) => s + c * (k === "" ? 1 : env.get(k)!), 0));
        const shape = i.seq ? [B, T, ...inner] : [B, ...inner];
        const n = shape.reduce((a, b) => a * b, 1);
        return [i.name, { shape, data: Float32Array.from({ length: n }, () => (i.dtype === "int" ? Math.floor(rng() * 4) : 2 * rng() - 1)) }];
      }));
      const input: ModelRunInput = { inputs, lengths: Object.fromEntries(ir.inputs.filter((i) => i.seq).map((i) => [i.name, lengths])) };
      const want = runModel(ir, env, params, input, "f32");
      const got = new BatchedModelRunner(ir, env, params).run(input);
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      for (const [k, w] of Object.entries(want)) {
        const g = got[k]!;
        if (w.states) for (const [s, t] of Object.entries(w.states)) {
          expect(g.states![s]!.shape).toEqual(t.shape);
          expect(closeness(g.states![s]!.data, t.data, 1e-5, 1e-6), `${k}.${s}`).toBeLessThanOrEqual(1);
        }
        else {
          expect(g.tensor!.shape, k).toEqual(w.tensor!.shape);
          expect(g.lengths).toEqual(w.lengths);
          expect(closeness(g.tensor!.data, w.tensor!.data, 1e-5, 1e-6), k).toBeLessThanOrEqual(1);
        }
      }
    });
  }

  it("a runner's later calls reuse its arrays without touching what earlier calls returned", () => {
    const [, ir] = models().find(([name]) => name.startsWith("stacked"))!;
    const env = resolveDims(ir, new Map());
    const params = initParams(modelParamSpecs(ir, env), 3);
    const rng = mulberry32(5);
    const input = (lens?: number[]): ModelRunInput => ({ inputs: { x: { shape: [B, T, 3], data: Float32Array.from({ length: B * T * 3 }, () => 2 * rng() - 1) } }, ...(lens ? { lengths: { x: lens } } : {}) });
    const runner = new BatchedModelRunner(ir, env, params);
    const first = runner.run(input());
    const kept = JSON.stringify(first, (_k, v: unknown) => (v instanceof Float32Array ? Array.from(v) : v));
    // The same sizes, so the second call takes the first's dead arrays; with lengths, its padding must read 0 again.
    const second = input(lengths);
    const got = runner.run(second);
    expect(JSON.stringify(first, (_k, v: unknown) => (v instanceof Float32Array ? Array.from(v) : v))).toBe(kept);
    const want = new BatchedModelRunner(ir, env, params).run(second);
    for (const [k, w] of Object.entries(want)) {
      if (w.tensor) expect(Array.from(got[k]!.tensor!.data), k).toEqual(Array.from(w.tensor.data));
      for (const [s, t] of Object.entries(w.states ?? {})) expect(Array.from(got[k]!.states![s]!.data), `${k}.${s}`).toEqual(Array.from(t.data));
    }
    expect(Array.from(got["seq"]!.tensor!.data.subarray((1 * T + 3) * 4, (1 * T + 4) * 4))).toEqual([0, 0, 0, 0]); // example 1 stops after 3 steps
  });

  it("refuses bad inputs with the interpreter's errors", () => {
    const ir = modelFrom(`import { LSTM } from "std"\nmodel M<I = 2, H = 3> { input x: [T, I]  layer a = LSTM<I, H>  output y = last(scan(a, x)) }`, "M");
    const env = resolveDims(ir, new Map());
    const params = initParams(modelParamSpecs(ir, env), 1);
    const runner = new BatchedModelRunner(ir, env, params);
    const bad: ModelRunInput[] = [
      { inputs: { x: { shape: [2, 3, 2], data: new Float32Array(12) } }, lengths: { x: [3, 0] } },
      { inputs: { x: { shape: [2, 3, 4], data: new Float32Array(24) } } },
      { inputs: { y: { shape: [2, 3, 2], data: new Float32Array(12) } } },
      { inputs: { x: { shape: [2, 3, 2], data: new Float32Array(12) } }, lengths: { x: [3, 4] } },
    ];
    for (const input of bad) {
      const message = (f: () => unknown) => { try { f(); return "no error"; } catch (e) { return `${(e as { code?: string }).code} ${(e as Error).message}`; } };
      const want = message(() => runModel(ir, env, params, input, "f32"));
      expect(want).toMatch(/^RNN0605 /);
      expect(message(() => runner.run(input))).toBe(want);
    }
  });
});
