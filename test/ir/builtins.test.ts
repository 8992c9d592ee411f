// Every builtin function, in a cell, on every backend (interpreter, tfjs cpu and wasm, compiled js) against written-out float64 values.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { compileModule } from "../../src/emit/compile.js";
import { resolveDims, type DimEnv } from "../../src/runtime/dims.js";
import { runModel } from "../../src/interp/run-model.js";
import { alloc, type Tensor } from "../../src/runtime/tensor.js";
import { builtins, opInfo, type OpInfo } from "../../src/ir/ops.js";
import { useBackend } from "../../src/tfjs/backend.js";
import { runModelTf } from "../../src/tfjs/run.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { closeness, modelFrom, root } from "../helpers.js";
import { exportOnnx } from "../../src/emit/onnx/export.js";
import type { ModelIR } from "../../src/ir/ir.js";

const N = 5;
const T = 3;
const sig = (x: number) => 1 / (1 + Math.exp(-x));
const SELU = [1.6732632423543772, 1.0507009873554805] as const;
const each = (f: (x: number) => number) => (x: number[]) => x.map(f);
const softmax = (x: number[]) => { const m = Math.max(...x); const z = x.reduce((s, v) => s + Math.exp(v - m), 0); return x.map((v) => Math.exp(v - m) / z); };

type Case = { expr: string; positive?: boolean; want: (x: number[], y: number[], W: number[][], i: number) => number[] };
const unary = (f: (x: number) => number, positive = false): Case => ({ expr: "F(x)", positive, want: (x) => each(f)(x) });
const binary = (f: (a: number, b: number) => number, positive = false): Case => ({ expr: "F(x, y)", positive, want: (x, y) => x.map((v, k) => f(v, y[k]!)) });

/** Expected values by builtin name, written out here independently of every backend. */
const cases: Record<string, Case> = {
  sigmoid: unary(sig), σ: unary(sig),
  hard_sigmoid: unary((x) => Math.min(1, Math.max(0, 0.2 * x + 0.5))),
  tanh: unary(Math.tanh),
  hard_tanh: unary((x) => Math.min(1, Math.max(-1, x))),
  relu: unary((x) => Math.max(x, 0)),
  elu: unary((x) => (x > 0 ? x : Math.expm1(x))),
  selu: unary((x) => SELU[1] * (x > 0 ? x : SELU[0] * Math.expm1(x))),
  softplus: unary((x) => Math.log(1 + Math.exp(x))),
  softsign: unary((x) => x / (1 + Math.abs(x))),
  swish: unary((x) => x * sig(x)), silu: unary((x) => x * sig(x)),
  gelu: unary((x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))),
  exp: unary(Math.exp),
  log: unary(Math.log, true),
  abs: unary(Math.abs),
  sqrt: unary(Math.sqrt, true),
  square: unary((x) => x * x),
  sin: unary(Math.sin), cos: unary(Math.cos),
  linear: unary((x) => x), identity: unary((x) => x),
  softmax: { expr: "F(x)", want: softmax },
  log_softmax: { expr: "F(x)", want: (x) => softmax(x).map(Math.log) },
  sum: { expr: "F(x)", want: (x) => [x.reduce((s, v) => s + v, 0)] },
  mean: { expr: "F(x)", want: (x) => [x.reduce((s, v) => s + v, 0) / x.length] },
  max: binary(Math.max), min: binary(Math.min),
  pow: binary(Math.pow, true),
  concat: { expr: "F(x, y)", want: (x, y) => [...x, ...y] },
  matmul: { expr: "F(W, x)", want: (x, _, W) => W.map((row) => row.reduce((s, w, k) => s + w * x[k]!, 0)) },
  transpose: { expr: "F(W) @ x", want: (x, _, W) => W[0]!.map((_, c) => W.reduce((s, row, r) => s + row[c]! * x[r]!, 0)) },
  gather: { expr: "F(W, i)", want: (_, __, W, i) => W[i]! },
};

function specFor(name: string, c: Case): string {
  return `cell F<N> {
  input x: [N]
  input y: [N]
  input i: [] int
  param W: [N, N] ~ normal(0, 1)
  output z = ${c.expr.replace("F", name)} + 0 * sum(y) + 0 * sum(W @ y)
}
model M<N = ${N}> {
  input xs: [T, N]
  input ys: [T, N]
  input is: [T] int
  layer f = F<N>
  output z = map(f, xs, ys, is)
}`;
}

function inputs(positive: boolean): { xs: Tensor; ys: Tensor; is: Tensor } {
  const xs = alloc([1, T, N], "f32");
  const ys = alloc([1, T, N], "f32");
  const is = alloc([1, T], "f32");
  for (let k = 0; k < T * N; k++) {
    const v = Math.fround(-2.6 + 5.3 * ((k * 7) % 13) / 12);
    xs.data[k] = positive ? Math.fround(Math.abs(v) + 0.1) : v;
    ys.data[k] = Math.fround(1.7 - 0.31 * k);
  }
  for (let t = 0; t < T; t++) is.data[t] = (t * 2 + 1) % N;
  return { xs, ys, is };
}

function expected(c: Case, feed: ReturnType<typeof inputs>, W: Float32Array): number[] {
  const rows = Array.from({ length: N }, (_, r) => Array.from(W.subarray(r * N, (r + 1) * N)));
  return Array.from({ length: T }, (_, t) => {
    const x = Array.from(feed.xs.data.subarray(t * N, (t + 1) * N));
    const y = Array.from(feed.ys.data.subarray(t * N, (t + 1) * N));
    return c.want(x, y, rows, feed.is.data[t]!);
  }).flat();
}

const outDir = join(root, ".test-out", "builtins");
mkdirSync(outDir, { recursive: true });

describe("builtins on every backend", () => {
  it("every builtin name has a case here, and every callable op has a name", () => {
    expect(Object.keys(cases).sort()).toEqual([...builtins.keys()].sort());
    for (const [op, i] of Object.entries(opInfo) as [string, OpInfo][])
      if (["unary", "lastAxis", "reduce", "matmul", "transpose", "gather", "concat"].includes(i.category) && op !== "neg" && op !== "step" && op !== "dropout") expect(i.names.length, op).toBeGreaterThan(0); // -x; step is for derivatives only; dropout(x, p) has its own elaboration (src/elaborate/random-ops.ts)
  });

  const setups = Object.entries(cases).map(([name, c]) => {
    const ir = modelFrom(specFor(name, c), "M");
    const env = resolveDims(ir, new Map());
    const weights = initParams(modelParamSpecs(ir, env), 7);
    const feed = inputs(c.positive ?? false);
    return { name, c, ir, env, weights, feed, want: expected(c, feed, weights.get("f.W")!.data as Float32Array) };
  });

  it.each(setups.map((s) => [s.name, s] as const))("%s: interpreter (f32 and f64)", (_, s) => {
    for (const p of ["f32", "f64"] as const) {
      const got = runModel(s.ir, s.env, s.weights, { inputs: s.feed }, p).z!.tensor!.data;
      expect(closeness(got, s.want, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    }
  });

  for (const backend of ["tfjs-cpu", "tfjs-wasm"] as const) {
    describe(backend, () => {
      beforeAll(async () => useBackend(backend));
      it.each(setups.map((s) => [s.name, s] as const))(`%s: ${backend}`, (_, s) => {
        const got = runModelTf(s.ir, s.env, s.weights, { inputs: s.feed }).z!.tensor!.data;
        expect(closeness(got, s.want, backend === "tfjs-wasm" ? 1e-4 : 1e-5, 1e-5)).toBeLessThanOrEqual(1);
      });
    });
  }

  it.each(setups.map((s) => [s.name, s] as const))("%s: compiled js (simd and not)", async (name, s) => {
    for (const simd of [true, false]) {
      const m = await compileModule({ ir: s.ir, env: s.env, target: "js", weights: s.weights, weightsGiven: true, source: "builtins.rnn", version: "test", simd });
      const file = join(outDir, `${[...name].map((ch) => (/\w/.test(ch) ? ch : `u${ch.codePointAt(0)}`)).join("")}${simd ? "" : ".nosimd"}.js`);
      writeFileSync(file, m.js);
      const module = await import(pathToFileURL(file).href);
      const out = module.createModel().predict({ xs: s.feed.xs, ys: s.feed.ys, is: s.feed.is });
      expect(closeness(out.z.data, s.want, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    }
  });

  /** Runs a model exported to ONNX in onnxruntime-web on the feed (one example, T steps) and returns output z. */
  async function runOnnx(ir: ModelIR, env: DimEnv, weights: ReadonlyMap<string, Tensor>, feed: Record<string, Tensor>): Promise<Float32Array> {
    const ort = await import("onnxruntime-web");
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(exportOnnx(ir, env, weights, "test").bytes);
    const feeds: Record<string, import("onnxruntime-web").Tensor> = {};
    for (const inp of ir.inputs) {
      const t = feed[inp.name]!;
      feeds[inp.name] = inp.dtype === "int" ? new ort.Tensor("int64", BigInt64Array.from(t.data, (v) => BigInt(v)), [...t.shape]) : new ort.Tensor("float32", Float32Array.from(t.data), [...t.shape]);
      if (inp.seq) feeds[`${inp.name}_lengths`] = new ort.Tensor("int64", BigInt64Array.of(BigInt(T)), [1]);
    }
    const out = await session.run(feeds);
    await session.release();
    return out["z"]!.data as Float32Array;
  }

  it.each(setups.map((s) => [s.name, s] as const))("%s: ONNX (in a cell's step, exported as a Scan body) in onnxruntime-web", async (_, s) => {
    const got = await runOnnx(s.ir, s.env, s.weights, s.feed);
    expect(closeness(got, s.want, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
  });

  // Between layers: the same function on whole sequences (a batch and a time axis ahead of its own), where it needs no param.
  const modelLevel = setups.filter((s) => !/W|i\)/.test(s.c.expr));
  it.each(modelLevel.map((s) => [s.name, s] as const))("%s: ONNX between layers, on sequences, in onnxruntime-web", async (name, s) => {
    const ir = modelFrom(`model M<N = ${N}> {\n  input xs: [T, N]\n  input ys: [T, N]\n  output z = ${s.c.expr.replace("F", name).replace(/\bx\b/g, "xs").replace(/\by\b/g, "ys")} + 0 * sum(ys)\n}`, "M");
    const env = resolveDims(ir, new Map());
    const got = await runOnnx(ir, env, new Map(), { xs: s.feed.xs, ys: s.feed.ys });
    expect(closeness(got, s.want, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
  });
});
