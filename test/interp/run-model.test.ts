// Model interpreter tests against hand-written loops: generation, encoder–decoder handoff, higher-order recurrence in models.
import { describe, expect, it } from "vitest";
import { runModel } from "../../src/interp/run-model.js";
import { CellStepper } from "../../src/interp/stepper.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { alloc, index0, type Tensor } from "../../src/runtime/tensor.js";
import type { ModelIR } from "../../src/ir/ir.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { layerEnv } from "../../src/runtime/dims.js";
import { closeness, matVec, modelFrom } from "../helpers.js";

const decoder = `
/// A token in, scores over the vocabulary out: embedding, recurrence, projection, as one cell.
cell Decoder<V, E, H> {
  input token: [] int
  layer embed = Embedding<V, E>
  layer rnn = LSTM<E, H>
  layer head = Dense<H, V>
  output logits = head(rnn(embed(token)))
}`;

function params(ir: ModelIR, env: Map<string, number>, seed: number, scale = 1.5): Map<string, Tensor> {
  const specs = modelParamSpecs(ir, env);
  const p = initParams(specs, seed, "f64");
  const rng = mulberry32(seed);
  for (const s of specs) { const t = p.get(s.name)!; for (let i = 0; i < t.data.length; i++) t.data[i] = scale * (2 * rng() - 1); }
  return p;
}

/** A stepper for one of the model's layers, with its own params. */
function stepperOf(ir: ModelIR, env: Map<string, number>, p: Map<string, Tensor>, layer: string, initial = new Map<string, Tensor>()) {
  const l = ir.layers.find((x) => x.name === layer)!;
  const own = new Map([...p].filter(([k]) => k.startsWith(`${layer}.`)).map(([k, t]) => [k.slice(layer.length + 1), t]));
  return new CellStepper(l.ir, layerEnv(l, env), own, "f64", initial);
}

const scalar = (v: number) => { const t = alloc([], "f64"); t.data[0] = v; return t; };
const argmax = (t: Tensor) => Array.from(t.data).reduce((best, v, i, a) => (v > a[best]! ? i : best), 0);

describe("generate (one-to-many)", () => {
  const src = (extra: string) => `import { Embedding, LSTM, Dense } from "std"
    ${decoder}
    model Gen<V = 7, E = 4, H = 8> {
      input ctx: [H]
      layer dec = Decoder<V, E, H>
      output tokens = generate(dec, init = ctx, start = 0, ${extra})
    }`;
  const env = new Map([["V", 7], ["E", 4], ["H", 8]]);
  const ctx = alloc([2, 8], "f64");
  ctx.data.set(Array.from({ length: 16 }, (_, i) => Math.sin(i * 1.7)));

  /** The greedy loop written out: argmax of each step's scores is the next input. */
  function greedy(ir: ModelIR, p: Map<string, Tensor>, b: number, steps: number): number[] {
    const s = stepperOf(ir, env, p, "dec", new Map([["rnn.h", index0(ctx, b, "f64")]]));
    const out: number[] = [];
    let x = 0;
    for (let k = 0; k < steps; k++) {
      x = argmax(s.step(new Map([["token", scalar(x)]])).get("logits")!);
      out.push(x);
    }
    return out;
  }

  it("greedy decoding is deterministic, matches the written-out loop and respects N", () => {
    const ir = modelFrom(src("steps = 12"));
    const p = params(ir, env, 1);
    const a = runModel(ir, env, p, { inputs: { ctx } }, "f64")["tokens"]!;
    const b = runModel(ir, env, p, { inputs: { ctx } }, "f64")["tokens"]!;
    expect(a).toEqual(b);
    expect(a.lengths).toEqual([12, 12]);
    for (let k = 0; k < 2; k++) expect(Array.from(a.tensor!.data.subarray(k * 12, (k + 1) * 12))).toEqual(greedy(ir, p, k, 12));
  });

  it("stops at the end token, which it does not emit", () => {
    const full = greedy(modelFrom(src("steps = 12")), params(modelFrom(src("steps = 12")), env, 1), 0, 12);
    // Choose as end token one that appears after the first step; the output is everything before it.
    const k = full.findIndex((t, i) => i > 0 && full.indexOf(t) === i);
    expect(k).toBeGreaterThan(0);
    const ir = modelFrom(src(`steps = 12, until = ${full[k]}`));
    const r = runModel(ir, env, params(ir, env, 1), { inputs: { ctx } }, "f64")["tokens"]!;
    expect(r.lengths![0]).toBe(k);
    expect(Array.from(r.tensor!.data.subarray(0, k))).toEqual(full.slice(0, k));
  });

  it("samples at a temperature, reproducibly for a seed", () => {
    const ir = modelFrom(src("steps = 20, temperature = 1.5"));
    const p = params(ir, env, 2);
    const run = (seed: number) => Array.from(runModel(ir, env, p, { inputs: { ctx }, seed }, "f64")["tokens"]!.tensor!.data);
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
    expect(run(3).every((t) => Number.isInteger(t) && t >= 0 && t < 7)).toBe(true);
  });
});

describe("encoder–decoder (many-to-many, different lengths)", () => {
  const env = new Map([["V", 6], ["E", 3], ["H", 5]]);
  const text = `import { Embedding, LSTM, Dense } from "std"
    ${decoder}
    model Seq2Seq<V, E, H> {
      input src: [S] int
      input tgt: [T] int
      layer embed = Embedding<V, E>
      layer enc = LSTM<E, H>
      layer dec = Decoder<V, E, H>
      e = scan(enc, map(embed, src))
      output logits = scan(dec, tgt, init = final(e))   // teacher forcing
      output reply = generate(dec, init = final(e), start = 0, steps = 4)
    }`;

  it("hands the encoder's final states to the decoder, for teacher forcing and for generation", () => {
    const ir = modelFrom(text);
    const p = params(ir, env, 3, 0.8);
    const src = alloc([2, 5], "f64");
    src.data.set([1, 2, 3, 4, 5, 5, 4, 0, 0, 0]);
    const tgt = alloc([2, 3], "f64");
    tgt.data.set([0, 2, 4, 0, 1, 1]);
    const r = runModel(ir, env, p, { inputs: { src, tgt }, lengths: { src: [5, 2] } }, "f64");
    for (let b = 0; b < 2; b++) {
      const len = [5, 2][b]!;
      const emb = stepperOf(ir, env, p, "embed");
      const enc = stepperOf(ir, env, p, "enc");
      for (let t = 0; t < len; t++) enc.step(new Map([["x", emb.step(new Map([["token", scalar(src.data[b * 5 + t]!)]])).get("e")!]]));
      const handoff = () => new Map([["rnn.h", enc.states().get("h")!], ["rnn.c", enc.states().get("c")!]]);
      const dec = stepperOf(ir, env, p, "dec", handoff());
      for (let t = 0; t < 3; t++) {
        const want = dec.step(new Map([["token", scalar(tgt.data[b * 3 + t]!)]])).get("logits")!;
        const got = r["logits"]!.tensor!.data.subarray((b * 3 + t) * 6, (b * 3 + t + 1) * 6);
        expect(closeness(got, want.data, 1e-12, 1e-12)).toBeLessThanOrEqual(1);
      }
      const gen = stepperOf(ir, env, p, "dec", handoff());
      let x = 0;
      const tokens: number[] = [];
      for (let k = 0; k < 4; k++) tokens.push((x = argmax(gen.step(new Map([["token", scalar(x)]])).get("logits")!)));
      expect(Array.from(r["reply"]!.tensor!.data.subarray(b * 4, (b + 1) * 4))).toEqual(tokens);
    }
  });
});

describe("higher-order recurrence in models", () => {
  it("h[t-2] in a reversed, variable-length scan matches a written-out loop", () => {
    const ir = modelFrom(`
      cell Second<I, H> {
        input x: [I]
        state h: [H] = 0
        param A, C: [H, H]
        param U: [H, I]
        h = tanh(A @ h[t-1] + C @ h[t-2] + U @ x)
        output h
      }
      model M<I, H> { input xs: [T, I]  layer s = Second<I, H>  output y = scan(s, xs, reverse = true) }`);
    const env = new Map([["I", 2], ["H", 3]]);
    const p = params(ir, env, 4, 0.9);
    const xs = alloc([2, 6, 2], "f64");
    xs.data.set(Array.from({ length: 24 }, (_, i) => Math.cos(i)));
    const lengths = [6, 4];
    const r = runModel(ir, env, p, { inputs: { xs }, lengths: { xs: lengths } }, "f64")["y"]!;
    const M = (n: string) => p.get(`s.${n}`)!;
    const mv = matVec;
    for (let b = 0; b < 2; b++) {
      let h1 = [0, 0, 0];
      let h2 = [0, 0, 0];
      for (let t = lengths[b]! - 1; t >= 0; t--) {
        const x = Array.from(xs.data.subarray((b * 6 + t) * 2, (b * 6 + t + 1) * 2));
        const a = mv(M("A"), h1), c = mv(M("C"), h2), u = mv(M("U"), x);
        const h = a.map((v, i) => Math.tanh(v + c[i]! + u[i]!));
        expect(closeness(r.tensor!.data.subarray((b * 6 + t) * 3, (b * 6 + t + 1) * 3), h, 1e-12, 1e-12)).toBeLessThanOrEqual(1);
        h2 = h1;
        h1 = h;
      }
    }
  });
});
