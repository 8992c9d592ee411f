// rnnc compile: every example, both targets, imported and compared with the interpreter; streaming against predict; determinism.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs";
import * as prettier from "prettier";
import { beforeAll, describe, expect, it } from "vitest";
import { compileModule, type Target } from "../../src/emit/compile.js";
import { resolveDims } from "../../src/runtime/dims.js";
import { tensorFromJson } from "../../src/runtime/json-tensor.js";
import { runModel, type ModelOutput } from "../../src/interp/run-model.js";
import type { ModelIR } from "../../src/ir/ir.js";
import { streamability } from "../../src/ir/streaming.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { closeness, compiler, modelFrom, root } from "../helpers.js";

const outDir = join(root, ".test-out", "compile");
mkdirSync(outDir, { recursive: true });

/** Compiles a model and imports the module (written inside the repository, so that @tensorflow/tfjs resolves). */
export async function compileAndImport(ir: ModelIR, target: Target, file: string, seed = 0, simd = true, dims: ReadonlyMap<string, number> = new Map()) {
  const env = resolveDims(ir, dims);
  const weights = initParams(modelParamSpecs(ir, env), seed);
  const m = await compileModule({ ir, env, target, weights, weightsGiven: false, source: "test.rnn", version: "test", simd });
  const path = join(outDir, `${file}.${target}${simd ? "" : ".nosimd"}.js`);
  writeFileSync(path, m.js);
  writeFileSync(path.replace(/\.js$/, ".d.ts"), m.dts);
  return { module: await import(pathToFileURL(path).href), env, weights, compiled: m };
}

const examples = join(root, "examples");
const cases = readdirSync(examples)
  .filter((f) => f !== "shared" && statSync(join(examples, f)).isDirectory())
  // Every spec of the folder (g2p has its attention models beside the plain one), on the folder's sample input; a model
  // only wider than another (`repeats`) is left to the ONNX test.
  .flatMap((folder) => readdirSync(join(examples, folder)).filter((f) => f.endsWith(".rnn")).flatMap((file) => {
    const spec = join(examples, folder, file);
    return [...compiler.check(spec).models.keys()].filter((model) => model !== "G2PBi2Wide").map((model) => ({ folder, spec, model }));
  }));

type Flat = { data: ArrayLike<number>; lengths?: number[] };
/** Each output as flat numbers (states concatenated in order). */
function flatRef(o: ModelOutput): Flat {
  return o.states ? { data: Object.values(o.states).flatMap((t) => [...t.data]) } : { data: o.tensor!.data, ...(o.lengths ? { lengths: o.lengths } : {}) };
}

beforeAll(async () => {
  await tf.setBackend("cpu");
  tf.env().set("PROD", true);
});

describe("compiled modules take a model's initial states as inputs", () => {
  const ir = compiler.model(join(root, "test", "fixtures", "ir", "model-initial-states.rnn"), "Starts");
  const env = resolveDims(ir, new Map());
  const params = initParams(modelParamSpecs(ir, env), 0);
  const sample = { xs: [[[1, 2, 3], [0.5, 0, 1], [0, 0, 1]], [[0, 1, 0], [1, 1, 1], [2, 0, 0]]], h0: [[0.1, 0.2, 0.3, 0.4], [-1, 0, 1, 0]], c0: [[1, 0, -1, 0.5], [0, 2, 0, 0]] };
  const lengths = { xs: [3, 2] };
  const inputs = Object.fromEntries(ir.inputs.map((i) => [i.name, tensorFromJson(sample[i.name as keyof typeof sample], i.name, "f32")]));
  const reference = runModel(ir, env, params, { inputs, lengths });
  it.each(["js", "tfjs"] as const)("target %s: predict equals the interpreter", async (target) => {
    const { module } = await compileAndImport(ir, target, "initial-states");
    const m = module.createModel();
    const feeds = target === "js" ? sample : Object.fromEntries(Object.entries(sample).map(([k, v]) => [k, tf.tensor(v)]));
    const r = m.run(feeds, { lengths });
    for (const [name, ref] of Object.entries(reference)) {
      const o = r.outputs[name] as Float32Array | tf.Tensor | { data: Float32Array };
      const got = o instanceof tf.Tensor ? o.dataSync() : "data" in o ? o.data : o;
      expect(closeness(got, ref.tensor!.data), name).toBeLessThanOrEqual(1);
    }
    if (target === "tfjs") m.dispose();
  });
});

/** The g2p ensemble at small sizes: the generated code is the same at any size, and its 5.4 million weights cost a minute. */
const smaller: Record<string, ReadonlyMap<string, number>> = { G2PEnsemble: new Map([["E", 8], ["A", 8], ["D1", 8], ["D2", 12], ["D3", 8], ["D4", 8]]) };

describe.each(cases)("examples/$folder: model $model", ({ folder, spec, model }) => {
  const ir = compiler.model(spec, model);
  const sample = JSON.parse(readFileSync(join(examples, folder, "input.sample.json"), "utf8"));
  const lengths = sample.lengths as Record<string, number[]> | undefined;
  const dims = smaller[model] ?? new Map<string, number>();
  const env = resolveDims(ir, dims);
  const params = initParams(modelParamSpecs(ir, env), 0);
  const inputs = Object.fromEntries(ir.inputs.map((i) => [i.name, tensorFromJson(sample[i.name], i.name, "f32")]));
  const reference = runModel(ir, env, params, { inputs, ...(lengths ? { lengths } : {}), seed: 0 });
  const ints = new Set(ir.outputs.filter((o) => ir.nodes[o.node]!.dtype === "int").map((o) => o.name));

  const compare = (got: Record<string, Flat>) => {
    for (const [name, ref] of Object.entries(reference)) {
      const want = flatRef(ref);
      const g = got[name]!;
      if (ints.has(name)) expect(Array.from(g.data), `${name}: generated tokens`).toEqual(Array.from(want.data));
      else expect(closeness(g.data, want.data), name).toBeLessThanOrEqual(1);
      expect(g.lengths, `${name}: lengths`).toEqual(want.lengths);
    }
  };

  it.each([true, false])("target js (simd %s): predict equals the interpreter", async (simd) => {
    const { module } = await compileAndImport(ir, "js", `${folder}-${model}`, 0, simd, dims);
    const r = module.createModel().run(Object.fromEntries(ir.inputs.map((i) => [i.name, sample[i.name]])), { ...(lengths ? { lengths } : {}), seed: 0 });
    compare(Object.fromEntries(Object.entries(r.outputs as Record<string, { data?: Float32Array }>).map(([k, o]) => [k, {
      data: o.data ?? Object.values(o as Record<string, { data: Float32Array }>).flatMap((t) => [...t.data]),
      ...(r.lengths[k] ? { lengths: r.lengths[k] } : {}),
    }])));
  });

  it("target tfjs: predict equals the interpreter", async () => {
    const { module } = await compileAndImport(ir, "tfjs", `${folder}-${model}`, 0, true, dims);
    const m = module.createModel();
    const before = tf.memory().numTensors;
    const feeds = Object.fromEntries(ir.inputs.map((i) => [i.name, tf.tensor(sample[i.name], undefined, i.dtype === "int" ? "int32" : "float32")]));
    const r = m.run(feeds, { ...(lengths ? { lengths } : {}), seed: 0 });
    compare(Object.fromEntries(Object.entries(r.outputs as Record<string, tf.Tensor | Record<string, tf.Tensor>>).map(([k, o]) => [k, {
      data: o instanceof tf.Tensor ? o.dataSync() : Object.values(o).flatMap((t) => [...t.dataSync()]),
      ...(r.lengths[k] ? { lengths: r.lengths[k] } : {}),
    }])));
    for (const o of Object.values(r.outputs as Record<string, tf.Tensor | Record<string, tf.Tensor>>)) tf.dispose(o instanceof tf.Tensor ? o : Object.values(o));
    tf.dispose(Object.values(feeds));
    expect(tf.memory().numTensors, "no tensors leak from predict").toBe(before);
    m.dispose();
  });

  it("streaming: step by step equals predict on the whole sequence (js and tfjs), or step says why it cannot", async () => {
    const js = (await compileAndImport(ir, "js", `${folder}-${model}`, 0, true, dims)).module.createModel();
    if (!streamability(ir).ok) {
      expect(() => js.step({})).toThrow(/cannot run a step at a time: .+/);
      return;
    }
    const tfm = (await compileAndImport(ir, "tfjs", `${folder}-${model}`, 0, true, dims)).module.createModel();
    const whole = js.run(Object.fromEntries(ir.inputs.map((i) => [i.name, sample[i.name]])), lengths ? { lengths } : {});
    const batch = (sample[ir.inputs[0]!.name] as unknown[]).length;
    for (let b = 0; b < batch; b++) {
      const T = lengths?.[ir.inputs[0]!.name]?.[b] ?? (sample[ir.inputs[0]!.name][b] as unknown[]).length;
      js.reset();
      tfm.reset();
      for (let t = 0; t < T; t++) {
        const at = (i: { name: string }) => sample[i.name][b][t];
        const y = js.step(Object.fromEntries(ir.inputs.map((i) => [i.name, at(i)])));
        const ytf = tf.tidy(() => {
          const outs = tfm.step(Object.fromEntries(ir.inputs.map((i) => [i.name, tf.tensor([at(i)], undefined, i.dtype === "int" ? "int32" : "float32")])));
          return Object.fromEntries(Object.entries(outs as Record<string, tf.Tensor>).map(([k, v]) => [k, v.dataSync().slice()]));
        });
        for (const o of ir.outputs) {
          const node = ir.nodes[o.node]!;
          const full = whole.outputs[o.name] as { shape: number[]; data: Float32Array };
          const per = full.shape.slice(node.seq ? 2 : 1).reduce((p, d) => p * d, 1);
          // A sequence output is compared at every step; a single value (from `last`) at the last step.
          if (!node.seq && t !== T - 1) continue;
          const offset = node.seq ? (b * full.shape[1]! + t) * per : b * per;
          const want = full.data.subarray(offset, offset + per);
          expect(closeness(y[o.name], want), `${o.name} js step ${t}`).toBeLessThanOrEqual(1);
          expect(closeness(ytf[o.name]!, want), `${o.name} tfjs step ${t}`).toBeLessThanOrEqual(1);
        }
      }
    }
    // The tfjs module also streams whole batches: every example's step at once (when the sequences share a length).
    const T0 = (sample[ir.inputs[0]!.name][0] as unknown[]).length;
    const equal = Array.from({ length: batch }, (_, b) => lengths?.[ir.inputs[0]!.name]?.[b] ?? T0).every((l) => l === T0);
    if (equal) {
      tfm.reset();
      for (let t = 0; t < T0; t++) {
        const outs = tf.tidy(() => Object.fromEntries(Object.entries(tfm.step(Object.fromEntries(ir.inputs.map((i) => [i.name,
          tf.tensor((sample[i.name] as unknown[][]).map((row) => row[t]) as number[], undefined, i.dtype === "int" ? "int32" : "float32")]))) as Record<string, tf.Tensor>)
          .map(([k, v]) => [k, v.dataSync().slice()])));
        for (const o of ir.outputs) {
          const node = ir.nodes[o.node]!;
          if (!node.seq && t !== T0 - 1) continue;
          const full = whole.outputs[o.name] as { shape: number[]; data: Float32Array };
          const per = full.shape.slice(node.seq ? 2 : 1).reduce((p, d) => p * d, 1);
          const want = Float32Array.from({ length: batch * per }, (_, k) => full.data[node.seq ? (Math.floor(k / per) * full.shape[1]! + t) * per + (k % per) : k]!);
          expect(closeness(outs[o.name]!, want), `${o.name} tfjs batched step ${t}`).toBeLessThanOrEqual(1);
        }
      }
    }
    tfm.dispose();
  });

}, 120_000); // the g2p ensemble has 5.4 million weights: ~25 s a target with a training on the other core

describe("compiled modules", () => {
  const spec = join(examples, "co2-forecast", "co2-forecast.rnn");
  const ir = compiler.model(spec, undefined);
  const env = resolveDims(ir, new Map());
  const weights = initParams(modelParamSpecs(ir, env), 0);

  it("are deterministic: the same input gives byte-identical output", async () => {
    for (const target of ["js", "tfjs"] as const) {
      const a = await compileModule({ ir, env, target, weights, weightsGiven: false, source: spec, version: "1" });
      const b = await compileModule({ ir: compiler.model(spec, undefined), env, target, weights: initParams(modelParamSpecs(ir, env), 0), weightsGiven: false, source: spec, version: "1" });
      expect(a.js === b.js && a.dts === b.dts, target).toBe(true);
    }
  });

  it("are formatted by prettier and carry a header naming the spec and the compiler version", async () => {
    const m = await compileModule({ ir, env, target: "js", weights, weightsGiven: false, source: "examples/co2.rnn", version: "9.8.7" });
    expect(m.js.split("\n")[0]).toBe("// Generated by rnnc 9.8.7 from examples/co2.rnn: model CO2Forecast, target js, dims H=32.");
    expect(await prettier.check(m.js, { parser: "babel", printWidth: 120 })).toBe(true);
    expect(await prettier.check(m.dts, { parser: "typescript", printWidth: 120 })).toBe(true);
  });

  it("target js has no imports, and its step functions allocate nothing", async () => {
    const m = await compileModule({ ir, env, target: "js", weights, weightsGiven: false, source: spec, version: "1" });
    expect(m.js).not.toMatch(/^\s*import\b|\brequire\(|\bimport\(/m);
    // The GRU's gate products run in the WebAssembly kernel (sizes 96 x 32 and 96 x 1 fit it), unless asked not to.
    expect(m.js).toMatch(/\bmv\(c\d+\.byteOffset, r0_1\.byteOffset, b\d+\.byteOffset, 96, 32\);/);
    const plain = await compileModule({ ir, env, target: "js", weights, weightsGiven: false, source: spec, version: "1", simd: false });
    expect(plain.js).not.toMatch(/WebAssembly|\bmv\(/);
    const steps = [...m.js.matchAll(/^ {2}function step\([^)]*\) \{\n([\s\S]*?)\n {2}\}$/gm)].map((x) => x[1]!);
    expect(steps.length).toBe(ir.layers.length + 1);
    for (const body of steps) expect(body).not.toMatch(/\bnew\b|=>|\[\s*\]|\{\s*\}|\.(slice|map|subarray|concat)\(|\.\.\./);
  });

  it("d.ts names every input and output with its shape", async () => {
    const m = await compileModule({ ir, env, target: "tfjs", weights, weightsGiven: false, source: spec, version: "1" });
    expect(m.dts).toContain('import type * as tf from "@tensorflow/tfjs"');
    expect(m.dts).toMatch(/`series`: a sequence, \[batch, T, 1\]\.[\s\S]*series: tf\.Tensor \| NestedArray \| \{ shape: number\[\]; data: ArrayLike<number> \};/);
    expect(m.dts).toMatch(/`next`: a sequence, \[batch, T, 1\]\.[\s\S]*next: tf\.Tensor;/);
    expect(m.dts).toContain("Many-to-many, aligned: monthly CO2 at Mauna Loa");
  });

  it("tfjs module: an output that is an input comes back as its own tensor (disposing outputs leaves the caller's inputs)", async () => {
    const ir = modelFrom(`model P<H = 2> { input v: [H]  input x: [T, H]  output same = v  output seq = x }`, "P");
    const tfm = (await compileAndImport(ir, "tfjs", "output-is-input")).module.createModel();
    const v = tf.tensor2d([[1, 2], [3, 4]]), x = tf.tensor3d([[[1, 2]], [[3, 4]]]);
    const out = tfm.predict({ v, x });
    expect(out.same).not.toBe(v);
    expect(Array.from(out.same.dataSync())).toEqual([1, 2, 3, 4]);
    for (const t of Object.values(out) as tf.Tensor[]) t.dispose();
    expect(v.isDisposed).toBe(false);
    expect(Array.from(v.dataSync())).toEqual([1, 2, 3, 4]);
    tf.dispose([v, x]);
    tfm.dispose();
  });

  it("throw on wrong shapes, naming the input, the expected and the actual shape", async () => {
    const js = (await compileAndImport(ir, "js", "co2-shapes")).module.createModel();
    expect(() => js.predict({ series: [[[1, 2], [3, 4]]] })).toThrow("input `series` has shape [1, 2, 2], expected [batch, T, 1]");
    expect(() => js.step({ series: [1, 2] })).toThrow("step input `series` has shape [2], expected [1]");
    expect(() => js.predict({ serie: [[[1]]] })).toThrow("model `CO2Forecast` has no input `serie`");
    // Values that are not finite float32 numbers are refused with their index, from typed arrays as from plain ones.
    for (const bad of [NaN, Infinity, -Infinity])
      for (const data of [Float32Array.of(0.5, 1, bad, 2), Float64Array.of(0.5, 1, bad, 2), [0.5, 1, bad, 2]])
        expect(() => js.predict({ series: { shape: [1, 4, 1], data } })).toThrow(`input \`series\` data[2] is ${String(bad)}, not a finite float32 number`);
    expect(() => js.predict({ series: { shape: [1, 2, 1], data: Float64Array.of(1, 1e39) } })).toThrow("data[1] is 1e+39, not a finite float32 number");
    // Longer inputs (checked four values at a time, then the rest): the first bad value wherever it falls, the last included.
    for (const at of [0, 3, 5, 6, 9, 10]) {
      const data = Float32Array.from({ length: 11 }, (_, i) => (i === at || i === 10 ? NaN : i - 5));
      expect(() => js.predict({ series: { shape: [1, 11, 1], data } })).toThrow(`input \`series\` data[${at}] is NaN, not a finite float32 number`);
    }
    expect(js.predict({ series: { shape: [1, 2, 1], data: Float32Array.of(-3.4e38, 3.4e38) } }).next).toBeDefined();
    const tfm = (await compileAndImport(ir, "tfjs", "co2-shapes")).module.createModel();
    const x = tf.zeros([2, 5, 3]);
    expect(() => tfm.predict({ series: x })).toThrow("input `series` has shape [2, 5, 3], expected [batch, T, 1]");
    x.dispose();
    tfm.dispose();
  });

  it("target tfjs: the variables train with a tfjs optimizer, and the weights saved load into rnnc run's format", async () => {
    const { module } = await compileAndImport(ir, "tfjs", "co2-train");
    const m = module.createModel({ seed: 3 });
    const x = tf.tensor3d([[[0.1], [0.3], [0.2], [0.5]], [[1.0], [0.8], [0.9], [0.4]]]);
    const y = tf.tensor3d([[[0.3], [0.2], [0.5], [0.4]], [[0.8], [0.9], [0.4], [0.6]]]);
    const loss = () => tf.losses.meanSquaredError(y, m.predict({ series: x }).next) as tf.Scalar;
    const opt = tf.train.adam(0.05);
    const first = loss().dataSync()[0]!;
    for (let k = 0; k < 20; k++) opt.minimize(loss, false, Object.values(m.variables) as tf.Variable[]);
    const last = loss().dataSync()[0]!;
    expect(last).toBeLessThan(first * 0.5);
    const saved = JSON.parse(m.saveWeights());
    expect(Object.keys(saved.params).sort()).toEqual(Object.keys(m.variables).sort());
    const want = runModel(ir, env, new Map(Object.entries(saved.params as Record<string, { shape: number[]; data: number[] }>).map(([k, v]) => [k, { shape: v.shape, data: Float32Array.from(v.data) }])), { inputs: { series: { shape: [2, 4, 1], data: x.dataSync() as Float32Array } } });
    expect(closeness(m.predict({ series: x }).next.dataSync(), want.next!.tensor!.data)).toBeLessThanOrEqual(1);
    tf.dispose([x, y]);
    opt.dispose();
    m.dispose();
  });

  it("target tfjs: takes nested arrays and {shape, data} as well as tensors, and frees what it converted", async () => {
    const m = (await compileAndImport(ir, "tfjs", "co2-plain")).module.createModel();
    const x = [[[0.5], [-1], [2]], [[0.1], [0.2], [0.3]]];
    const t = tf.tensor3d(x);
    const want = (m.predict({ series: t }).next as tf.Tensor).dataSync();
    const before = tf.memory().numTensors;
    const nested = m.predict({ series: x }).next as tf.Tensor;
    const plain = m.predict({ series: { shape: [2, 3, 1], data: Float32Array.from(x.flat(2)) } }).next as tf.Tensor;
    expect(Array.from(nested.dataSync())).toEqual(Array.from(want));
    expect(Array.from(plain.dataSync())).toEqual(Array.from(want));
    tf.dispose([nested, plain]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => m.predict({ series: "x" })).toThrow("input `series` must be a tf.Tensor, nested arrays (batch first) or {shape, data}");
    t.dispose();
    m.dispose();
  });

  it("load and save weights in the documented format, and reject ones that do not fit", async () => {
    const { module } = await compileAndImport(ir, "js", "co2-weights");
    const other = initParams(modelParamSpecs(ir, env), 7);
    const text = JSON.stringify({ format: "rnnc-weights", version: 1, params: Object.fromEntries([...other].map(([k, t]) => [k, { shape: t.shape, data: Array.from(t.data) }])) });
    const m = module.createModel({ weights: text });
    const x = [[[0.5], [-1], [2]]];
    const want = runModel(ir, env, other, { inputs: { series: tensorFromJson(x, "x", "f32") } }).next!.tensor!.data;
    expect(closeness(m.predict({ series: x }).next.data, want)).toBeLessThanOrEqual(1);
    const again = module.createModel();
    again.loadWeights(m.saveWeights());
    expect(Array.from(again.predict({ series: x }).next.data)).toEqual(Array.from(m.predict({ series: x }).next.data));
    expect(() => module.createModel({ weights: { format: "rnnc-weights", version: 1, params: {} } })).toThrow(/param `head\.W` is missing/);
  });
});

describe("names that are Object.prototype's", () => {
  const ir = modelFrom(`import { LSTM } from "std"\nmodel P<__proto__ = 3, constructor = 4> {\n  input toString: [T, __proto__]\n  layer hasOwnProperty = LSTM<__proto__, constructor>\n  output valueOf = scan(hasOwnProperty, toString)\n}\n`);
  it.each(["js", "tfjs"] as const)("dims __proto__ and constructor stay own keys of the module's info; a layer hasOwnProperty and an input toString work (%s)", async (target) => {
    const { module, env, weights } = await compileAndImport(ir, target, "proto-names");
    expect(Object.keys(module.info.dims)).toEqual(["__proto__", "constructor"]);
    expect(Object.getOwnPropertyDescriptor(module.info.dims, "__proto__")?.value).toBe(3);
    expect(Object.getPrototypeOf(module.info.dims)).toBe(Object.prototype);
    const x = [[[0.5, -0.25, 1], [0.1, 0.2, 0.3]]];
    const m = module.createModel();
    const out = m.predict({ toString: target === "js" ? x : tf.tensor(x) });
    // (Read as own keys: `.valueOf` on the objects themselves would name Object.prototype's method.)
    const own = (o: object, k: string) => Object.getOwnPropertyDescriptor(o, k)!.value as unknown;
    const got = target === "js" ? (own(out, "valueOf") as { data: Float32Array }).data : (own(out, "valueOf") as tf.Tensor).dataSync();
    const want = (own(runModel(ir, env, weights, { inputs: { toString: tensorFromJson(x, "x", "f32") } }), "valueOf") as ModelOutput).tensor!.data;
    expect(closeness(got, want)).toBeLessThanOrEqual(1);
    if (target === "tfjs") m.dispose();
  });
});

describe("hostile specs", () => {
  const spec = join(root, "test", "emit", "hostile", "hostile.rnn");
  const ir = compiler.model(spec, undefined);
  const env = resolveDims(ir, new Map());
  const x = [[[0.1, -0.2, 0.3], [0.5, 0.4, -1], [1, 2, 3]]];
  const want = runModel(ir, env, initParams(modelParamSpecs(ir, env), 0), { inputs: { Float32Array: tensorFromJson(x, "x", "f32") } });

  it.each(["js", "tfjs"] as const)("reserved words, the module's own names and non-ASCII names still give a valid module (%s)", async (target) => {
    const { module, compiled } = await compileAndImport(ir, target, "hostile");
    const m = module.createModel();
    const out = m.predict({ Float32Array: target === "js" ? x : tf.tensor(x) });
    expect(Object.keys(out).sort()).toEqual(["__proto__", "h'", "return"]);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    for (const name of ["__proto__", "h'", "return"]) {
      const got = target === "js" ? (out[name] as { data: Float32Array }).data : (out[name] as tf.Tensor).dataSync();
      expect(closeness(got, want[name]!.tensor!.data), name).toBeLessThanOrEqual(1);
    }
    expect(module.info.inputs[0].doc).toBe("`*/` again");
    // Doc comments are carried into the .d.ts with `*/` broken up, so they cannot end the comment early.
    expect(compiled.dts).toContain("`*\\/` again");
    expect(compiled.dts.match(/\*\//g)!.length).toBe(compiled.dts.match(/\/\*\*/g)!.length);
    if (target === "tfjs") m.dispose();
  });

  it("the .d.ts type-checks", async () => {
    const ts = await import("typescript");
    const { compiled } = await compileAndImport(ir, "js", "hostile-types");
    const file = join(outDir, "hostile-types.d.ts");
    writeFileSync(file, compiled.dts);
    const program = ts.createProgram([file], { strict: true, noEmit: true, skipLibCheck: false, types: [] });
    expect(ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))).toEqual([]);
  });
});

describe("src/emit/README.md", () => {
  it("its compile example runs as written, and streaming prints predict's numbers", async () => {
    const { spawnSync } = await import("node:child_process");
    const dir = join(root, ".test-out", "readme-example");
    mkdirSync(dir, { recursive: true });
    const readme = readFileSync(join(root, "src", "emit", "README.md"), "utf8");
    const command = /```sh\n(npx rnnc compile examples\/co2-forecast\/co2-forecast\.rnn --target js -o co2\.js)\n```/.exec(readme)![1]!;
    const cli = join(root, "dist", "cli", "main.js");
    const args = command.split(" ").slice(2).map((a) => (a.startsWith("examples/") ? join(root, a) : a));
    expect(spawnSync(process.execPath, [cli, ...args], { cwd: dir }).status).toBe(0);
    writeFileSync(join(dir, "app.mjs"), /```js\n(\/\/ app\.mjs[\s\S]*?)```/.exec(readme)![1]!);
    const r = spawnSync(process.execPath, ["app.mjs"], { cwd: dir, encoding: "utf8" });
    expect(r.stderr).toBe("");
    const data = /Float32Array\(6\) \[([^\]]*)\]/.exec(r.stdout)![1]!.split(",").map(Number);
    const streamed = r.stdout.trim().split("\n").slice(-3).map(Number);
    // A batch runs on the fused kernels, a stream through the compiled cells: the same numbers to float32 rounding.
    streamed.forEach((x, i) => expect(Math.abs(x - data[i]!)).toBeLessThanOrEqual(1e-6 * Math.abs(data[i]!) + 1e-7));
  });
});
