// Beam search in generate (issue 25): the rule against an exhaustive search, K = 1 against greedy decoding, and every
// backend that generates (interpreter, TensorFlow.js, the js target) against the interpreter.
import { describe, expect, it } from "vitest";
import { beamSearch, logProbabilities, type BeamOptions } from "../../src/runtime/beam.js";
import { runModel } from "../../src/interp/run-model.js";
import { runModelTf } from "../../src/tfjs/run.js";
import { useBackend } from "../../src/tfjs/backend.js";
import { exportOnnx } from "../../src/emit/onnx/export.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { resolveDims } from "../../src/runtime/dims.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { closeness, modelFrom, randomTensor } from "../helpers.js";
import { createCompiler } from "../../src/compiler.js";
import { memoryHost } from "../../src/resolve/host.js";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "../helpers.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { compileModule } from "../../src/emit/compile.js";
import type { ModelIR } from "../../src/ir/ir.js";

/** The model compiled to the js target with these weights, imported (written inside the repository, as the emit tests do). */
async function jsModel(ir: ModelIR, env: Map<string, number>, params: Map<string, Tensor>, file: string) {
  const m = await compileModule({ ir, env, target: "js", weights: params, weightsGiven: true, source: "test.rnn", version: "test", simd: true });
  const dir = join(root, ".test-out", "beam");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${file}.js`);
  writeFileSync(path, m.js);
  return (await import(pathToFileURL(path).href)).createModel();
}

/** A toy language model: the log-probabilities of the next token depend on the whole prefix (a hash of it). */
function toyLogp(prefix: readonly number[], V: number, seed: number): Float64Array {
  let h = seed;
  for (const t of prefix) h = (Math.imul(h ^ (t + 1), 2654435761) + 0x9e3779b9) >>> 0;
  const rng = mulberry32(h);
  return logProbabilities(Array.from({ length: V }, () => 3 * rng()), false);
}

/** Every sequence the generate could output, scored as beam search ranks them: the best by exhaustion. */
function exhaustive(V: number, o: BeamOptions, seed: number): { tokens: number[]; score: number } {
  let best = { tokens: [] as number[], score: -Infinity };
  const visit = (prefix: number[], logp: number) => {
    const lp = toyLogp(prefix, V, seed);
    for (let v = 0; v < V; v++) {
      const total = logp + lp[v]!, n = prefix.length + 1;
      const score = o.lengthNorm ? total / Math.pow(n, o.lengthNorm) : total;
      const ended = v === o.until;
      if (ended || n === o.steps) { if (score > best.score) best = { tokens: ended ? [...prefix] : [...prefix, v], score }; }
      else visit([...prefix, v], total);
    }
  };
  visit([], 0);
  return best;
}

/** The toy model as a beam step: a state is the tokens fed so far (the start token first). */
const toyStep = (V: number, seed: number) => (hyps: readonly { state: number[]; token: number }[]) => {
  const states = hyps.map((h) => [...h.state, h.token]);
  return { logp: states.map((s) => toyLogp(s.slice(1), V, seed)), states };
};

describe("beam search", () => {
  it("with K past the number of sequences, finds the best sequence an exhaustive search finds (lengths, ends, normalization)", () => {
    for (const [V, steps, until, lengthNorm, seed] of [[3, 4, 0, 0, 1], [4, 3, 2, 0.7, 2], [3, 5, 1, 1, 3], [2, 4, -1, 0, 4], [5, 3, 4, 0.6, 5]] as const) {
      const o = { beam: V ** (steps + 1), steps, until, start: 9, lengthNorm };
      const [r] = beamSearch([[]], o, toyStep(V, seed));
      const want = exhaustive(V, o, seed);
      expect({ V, steps, seed, tokens: r!.tokens }).toEqual({ V, steps, seed, tokens: want.tokens });
      expect(r!.score).toBeCloseTo(want.score, 12);
    }
  });

  it("with K = 1 is greedy decoding: the argmax each step (the lowest id on a tie), to the end token", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const V = 3 + (seed % 4), until = seed % V, steps = 6;
      const [r] = beamSearch([[]], { beam: 1, steps, until, start: 9, lengthNorm: 0.5 }, toyStep(V, seed));
      const greedy: number[] = [];
      for (let k = 0; k < steps; k++) {
        const lp = toyLogp(greedy, V, seed);
        const v = lp.indexOf(Math.max(...lp));
        if (v === until) break;
        greedy.push(v);
      }
      expect(r!.tokens).toEqual(greedy);
    }
    // A tie: equal scores take the lower token id, as argmax does.
    const [tie] = beamSearch([0], { beam: 1, steps: 2, until: -1, start: 0, lengthNorm: 0 }, (hs) => ({ logp: hs.map(() => [-1, -0.5, -0.5]), states: hs.map(() => 0) }));
    expect(tie!.tokens).toEqual([1, 1]);
  });

  it("finds a more probable sequence than greedy decoding on a hand-built case", () => {
    // Token 1 is likelier first (0.6 against 0.4 for 2), but after it nothing is likely (0.25 each); after 2 the end
    // token (0) is 0.9 likely. Greedy: 1, then 0 at 0.25: p = 0.15. The search: 2, then 0: p = 0.36.
    const table = (prefix: readonly number[]) => (prefix.length === 0 ? [0, 0.6, 0.4, 0] : prefix[0] === 1 ? [0.25, 0.25, 0.25, 0.25] : [0.9, 0.05, 0.05, 0]);
    const step = (hyps: readonly { state: number[]; token: number }[]) => {
      const states = hyps.map((h) => [...h.state, h.token]);
      return { logp: states.map((s) => table(s.slice(1)).map(Math.log)), states };
    };
    const o = { steps: 4, until: 0, start: -1, lengthNorm: 0 };
    const [greedy] = beamSearch([[]], { ...o, beam: 1 }, step), [searched] = beamSearch([[]], { ...o, beam: 2 }, step);
    expect(greedy!.tokens).toEqual([1]);
    expect(Math.exp(greedy!.logp)).toBeCloseTo(0.15, 12);
    expect(searched!.tokens).toEqual([2]);
    expect(Math.exp(searched!.logp)).toBeCloseTo(0.36, 12);
  });

  it("decodes each example of a batch on its own, and a wider beam never scores below a narrower one on this model", () => {
    const starts = [[9], [9], [9]];
    const seeds = [11, 12, 13];
    const step = (hyps: readonly { state: number[]; token: number }[]) => {
      // The example is the first element of the state: each has its own model.
      const states = hyps.map((h) => [...h.state, h.token]);
      return { logp: states.map((s) => toyLogp(s.slice(2), 4, seeds[s[0]!]!)), states };
    };
    const o = { steps: 5, until: 0, start: -1, lengthNorm: 0 };
    const batch = beamSearch(starts.map((_, b) => [b]), { ...o, beam: 3 }, step);
    seeds.forEach((_, b) => {
      const [alone] = beamSearch([[b]], { ...o, beam: 3 }, step);
      expect(batch[b]!.tokens).toEqual(alone!.tokens);
      expect(batch[b]!.score).toBeGreaterThanOrEqual(beamSearch([[b]], { ...o, beam: 1 }, step)[0]!.score - 1e-12);
    });
  });
});

const spec = (beam: number, lengthNorm = 0, softmax = false) => `import { Embedding, LSTM, Dense } from "std"
cell Dec<P, E, H> {
  input phone: [] int
  layer embed = Embedding<P, E>
  layer rnn = LSTM<E, H>
  layer head = Dense<H, P>
  output y = ${softmax ? "softmax(head(rnn(embed(phone))))" : "head(rnn(embed(phone)))"}
}
model M<L = 7, P = 6, E = 5, H = 8> {
  input letters: [S] int
  layer letter = Embedding<L, E>
  layer enc = LSTM<E, H>
  layer dec = Dec<P, E, H>
  e = scan(enc, map(letter, letters))
  output greedy = generate(dec, init = final(e), start = 0, steps = 7, until = 1)
  output searched = generate(dec, init = final(e), start = 0, steps = 7, until = 1${beam > 1 ? `, beam = ${beam}` : ""}${lengthNorm ? `, length_norm = ${lengthNorm}` : ""})
  output last = final(generate(dec, init = final(e), start = 0, steps = 7, until = 1${beam > 1 ? `, beam = ${beam}` : ""}${lengthNorm ? `, length_norm = ${lengthNorm}` : ""}))
}`;

function setup(beam: number, lengthNorm = 0, softmax = false, seed = 3) {
  const ir = modelFrom(spec(beam, lengthNorm, softmax));
  const env = resolveDims(ir, new Map()) as Map<string, number>;
  const params = initParams(modelParamSpecs(ir, env), seed);
  // Larger weights than the initializers draw: the decoder's choices then depend on the letters and differ from greedy.
  let k = 0;
  for (const [name, t] of params) params.set(name, randomTensor([...t.shape], seed * 100 + ++k, 1.5));
  const B = 5, S = 4;
  const rng = mulberry32(seed);
  const letters: Tensor = { shape: [B, S], data: Float32Array.from({ length: B * S }, () => Math.floor(rng() * 7)) };
  return { ir, env, params, input: { inputs: { letters }, lengths: { letters: [4, 2, 3, 4, 1] } } };
}

const seqs = (o: { tensor?: Tensor; lengths?: readonly number[] }) =>
  o.lengths!.map((l, b) => Array.from(o.tensor!.data.subarray(b * o.tensor!.shape[1]!, b * o.tensor!.shape[1]! + l)));

describe("generate(…, beam = K)", () => {
  it("beam = 1 gives the greedy output on the interpreter and on TensorFlow.js", async () => {
    await useBackend("tfjs-cpu");
    const { ir, env, params, input } = setup(1);
    for (const out of [runModel(ir, env, params, input), runModelTf(ir, env, params, input)]) expect(seqs(out["searched"]!)).toEqual(seqs(out["greedy"]!));
  });

  it("greedy generate's final states on TensorFlow.js are the interpreter's when examples end at different steps", async () => {
    await useBackend("tfjs-cpu");
    let mixed = 0;
    for (const seed of [3, 4, 8, 9]) {
      const { ir, env, params, input } = setup(1, 0, false, seed);
      const want = runModel(ir, env, params, input), got = runModelTf(ir, env, params, input);
      const lengths = want["greedy"]!.lengths!;
      if (new Set(lengths).size > 1) mixed++;
      expect(got["greedy"]!.lengths).toEqual(lengths);
      // A row that ended keeps the states of the step that ended it (it used to step on with the others).
      for (const state of ["rnn.h", "rnn.c"]) expect({ seed, state, err: closeness(got["last"]!.states![state]!.data, want["last"]!.states![state]!.data, 1e-4, 1e-5) }).toEqual({ seed, state, err: expect.closeTo(0, 0) });
    }
    expect(mixed).toBeGreaterThan(0);
  });

  it("TensorFlow.js and the js target find the interpreter's sequences and final states (scores, and probabilities from a softmax)", async () => {
    await useBackend("tfjs-cpu");
    let differs = 0;
    for (const [beam, norm, softmax, seed] of [[3, 0, false, 3], [4, 0.7, false, 4], [3, 1, true, 5], [2, 0, true, 6]] as const) {
      const { ir, env, params, input } = setup(beam, norm, softmax, seed);
      const want = runModel(ir, env, params, input);
      const tf = runModelTf(ir, env, params, input);
      expect(seqs(tf["searched"]!)).toEqual(seqs(want["searched"]!));
      for (const state of ["rnn.h", "rnn.c"]) expect(closeness(tf["last"]!.states![state]!.data, want["last"]!.states![state]!.data, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
      const js = await jsModel(ir, env, params, `beam-${seed}`);
      const r = js.run({ letters: { shape: [...input.inputs.letters.shape], data: input.inputs.letters.data } }, { lengths: input.lengths });
      expect(seqs({ tensor: r.outputs.searched as Tensor, lengths: r.lengths.searched })).toEqual(seqs(want["searched"]!));
      if (JSON.stringify(seqs(want["searched"]!)) !== JSON.stringify(seqs(want["greedy"]!))) differs++;
    }
    expect(differs).toBeGreaterThan(0); // the search chose other sequences than greedy decoding somewhere
  });

  it("rnnc eval --beam K (evaluate's beam) scores a generated output as the spec's own beam = K would", async () => {
    const { evaluate } = await import("../../src/api/evaluate.js");
    const { ir, env, params } = setup(3, 0, false, 7);
    const rng = mulberry32(9);
    const examples = Array.from({ length: 12 }, () => ({ inputs: { letters: Array.from({ length: 1 + Math.floor(rng() * 4) }, () => Math.floor(rng() * 7)) }, target: Array.from({ length: 1 + Math.floor(rng() * 5) }, () => 2 + Math.floor(rng() * 4)) }));
    const opts = { metrics: ["error-rate", "exact"], backend: "tfjs-cpu" as const };
    const asSpec = await evaluate({ ir, env }, params, examples, { output: "searched", ...opts });
    const overridden = await evaluate({ ir, env }, params, examples, { output: "greedy", beam: 3, ...opts });
    const greedy = await evaluate({ ir, env }, params, examples, { output: "searched", beam: 1, ...opts });
    const plain = await evaluate({ ir, env }, params, examples, { output: "greedy", ...opts });
    expect(overridden.results).toEqual(asSpec.results);
    expect(greedy.results).toEqual(plain.results);
    await expect(evaluate({ ir, env }, params, examples, { output: "last", beam: 2, ...opts })).rejects.toThrow("beam searches a generated output of token ids");
  });

  it("is refused where it cannot search: with a temperature, over vectors, for a cell reading h[t-2]", () => {
    const errs = (text: string) => {
      const std = new Map(readdirSync(join(root, "stdlib")).map((f) => [`std/${f}`, readFileSync(join(root, "stdlib", f), "utf8")]));
      return createCompiler(memoryHost(new Map([["m.rnn", text], ...std]), [...std.keys()])).check("m.rnn").diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.message}`);
    };
    expect(errs(spec(3).replace("beam = 3", "beam = 3, temperature = 0.5"))).toEqual(expect.arrayContaining([expect.stringContaining("RNN0709 `generate` either samples (temperature 0.5) or searches (a beam), not both")]));
    expect(errs(spec(3).replace("beam = 3", "beam = 0"))).toEqual(expect.arrayContaining([expect.stringMatching(/beam.*a whole number of hypotheses, 1 … 4096/)]));
    expect(errs(spec(3).replace("beam = 3", "beam = 1000000"))).toEqual(expect.arrayContaining([expect.stringMatching(/beam.*a whole number of hypotheses, 1 … 4096/)])); // a beam that would not end
    const vectors = `import { GRU } from "std"
model V<H = 4> {
  input x: [H]
  layer g = GRU<H, H>
  output y = generate(g, start = x, steps = 3, beam = 2)
}`;
    expect(errs(vectors)).toEqual(["RNN0709 beam search chooses among tokens, and this `generate` feeds vectors back"]);
    const deep = `import { Embedding, Dense } from "std"
cell Two<P = 5, H = 4> {
  input t: [] int
  layer e = Embedding<P, H>
  layer d = Dense<H, P>
  state h: [H] = 0
  h = tanh(e(t) + h[t-2])
  output y = d(h)
}
model D {
  layer two = Two
  output y = generate(two, start = 0, steps = 3, beam = 2)
}`;
    expect(errs(deep)).toEqual(["RNN0709 beam search restarts each hypothesis from its states, and `two` reads `h` 2 steps back"]);
  });

  it.each([[3, 0, false], [3, 0.8, false], [4, 0, true], [2, 1, true]])("the ONNX export searches as the interpreter does (beam %i, length_norm %s, softmax output %s) in onnxruntime", async (beam, norm, softmax) => {
    const ort = await import("onnxruntime-web");
    ort.env.wasm.numThreads = 1;
    const { params, input } = setup(beam, norm, softmax);
    // The record of states (`last`) is not an ONNX output: the model without it.
    const ir = modelFrom(spec(beam, norm, softmax).replace(/\n  output last = .*\n/, "\n"));
    const env = resolveDims(ir, new Map());
    const session = await ort.InferenceSession.create(exportOnnx(ir, env, params, "m").bytes);
    const letters = input.inputs.letters;
    const out = await session.run({ letters: new ort.Tensor("int64", BigInt64Array.from(letters.data, (v) => BigInt(v)), [...letters.shape]), letters_lengths: new ort.Tensor("int64", BigInt64Array.from(input.lengths.letters, BigInt), [5]) });
    const want = runModel(ir, env, params, input);
    for (const name of ["greedy", "searched"]) {
      const lengths = Array.from(out[`${name}_lengths`]!.data as BigInt64Array, Number);
      expect(lengths, name).toEqual(want[name]!.lengths);
      const T = out[name]!.dims[1]!, got = Array.from(out[name]!.data as BigInt64Array, Number);
      expect(lengths.map((l, b) => got.slice(b * T, b * T + l)), name).toEqual(seqs(want[name]!));
    }
    expect(seqs(want["searched"]!)).not.toEqual(seqs(want["greedy"]!)); // the search found other sequences here
    await session.release();
  });
});
