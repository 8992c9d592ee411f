// Benchmarks of compiled js modules: streaming steps against a stateful tf.layers model, batched forward against the interpreter.
import * as tf from "@tensorflow/tfjs";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { compileModule } from "../emit/compile.js";
import { exportOnnxStreaming } from "../emit/onnx/stream.js";
import { runModel } from "../interp/run-model.js";
import type { Tensor } from "../runtime/tensor.js";
import type { ModelIR } from "../ir/ir.js";
import { useBackend, type TfBackend } from "../tfjs/backend.js";
import { toTf } from "../tfjs/run.js";
import { initParams, modelParamSpecs } from "../weights/weights.js";

/** Median ms of `f` over `reps` runs after `warmup` runs. */
type Timer = (f: () => unknown, reps: number, warmup?: number) => Promise<number>;

/** `jsMs`: the js target as compiled by default (WebAssembly SIMD kernel for products); `plainMs`: with --no-simd. */
export interface CompiledRow { case: string; peer: string; peerMs: number; jsMs: number; ratio: number; plainMs: number; plainRatio: number }

interface JsModel {
  predict(inputs: Record<string, { shape: number[]; data: Float32Array }>): Record<string, { data: Float32Array }>;
  step(inputs: Record<string, Float32Array>): Record<string, Float32Array>;
  reset(): void;
}

export async function compileJs(ir: ModelIR, env: Map<string, number>, params: Map<string, Tensor>, name: string, simd = true): Promise<JsModel> {
  const m = await compileModule({ ir, env, target: "js", weights: params, weightsGiven: true, source: "bench.rnn", version: "bench", simd });
  const dir = join(dirname(fileURLToPath(import.meta.url)), "compiled");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.js`);
  writeFileSync(file, m.js);
  return (await import(pathToFileURL(file).href)).createModel() as JsModel;
}

/** The same model as a compiled tfjs module (`rnnc compile --target tfjs`): its predict gives tf tensors the caller disposes. */
export async function compileTfjsModule(ir: ModelIR, env: Map<string, number>, params: Map<string, Tensor>, name: string): Promise<{ predict(inputs: Record<string, { shape: number[]; data: Float32Array }>): Record<string, tf.Tensor> }> {
  const m = await compileModule({ ir, env, target: "tfjs", weights: params, weightsGiven: true, source: "bench.rnn", version: "bench" });
  const dir = join(dirname(fileURLToPath(import.meta.url)), "compiled");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.tfjs.js`);
  writeFileSync(file, m.js);
  return (await import(pathToFileURL(file).href)).createModel();
}

const lstmWeights = (params: Map<string, Tensor>) => {
  const cat = (names: string[], tr: boolean) => tf.concat(names.map((n) => { const t = toTf(params.get(`rnn.${n}`)!); return tr ? t.transpose() : t; }), tr ? 1 : 0);
  return [cat(["W_xi", "W_xf", "W_xg", "W_xo"], true), cat(["W_hi", "W_hf", "W_hg", "W_ho"], true), cat(["b_i", "b_f", "b_g", "b_o"], false)];
};

/**
 * Streaming at batch 1 (input 32, hidden 64): one step per call, timed over `steps` calls. The peer is a stateful
 * tf.layers LSTM model whose predict takes one time step, on the given backend, with the same weights.
 */
export async function benchStreaming(ir: ModelIR, backends: readonly TfBackend[], time: Timer, reps: number): Promise<CompiledRow[]> {
  const env = new Map([["I", 32], ["H", 64]]);
  const params = initParams(modelParamSpecs(ir, env), 1);
  const js = await compileJs(ir, env, params, "stream-lstm");
  const plain = await compileJs(ir, env, params, "stream-lstm-plain", false);
  const steps = 200;
  const xs = Array.from({ length: steps }, (_, t) => Float32Array.from({ length: 32 }, (_, i) => Math.sin(t * 0.1 + i)));
  // Streaming is about steady state: both sides are warmed up over thousands of steps (the JIT needs them).
  const warm = 50;
  const jsMs = (await time(() => { js.reset(); for (const x of xs) js.step({ x }); }, reps, warm)) / steps;
  const plainMs = (await time(() => { plain.reset(); for (const x of xs) plain.step({ x }); }, reps, warm)) / steps;
  const rows: CompiledRow[] = [];
  for (const backend of backends) {
    await useBackend(backend);
    const layer = tf.layers.lstm({ units: 64, recurrentActivation: "sigmoid", stateful: true, returnSequences: false, batchInputShape: [1, 1, 32] });
    const model = tf.sequential({ layers: [layer] });
    layer.setWeights(lstmWeights(params));
    const inputs = xs.map((x) => tf.tensor3d(x, [1, 1, 32]));
    const peerMs = (await time(() => { model.resetStates(); for (const x of inputs) tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync()); }, reps, warm)) / steps;
    rows.push({ case: "LSTM streaming step (batch 1, input 32, hidden 64)", peer: `tf.layers stateful, ${backend}`, peerMs, jsMs, ratio: peerMs / jsMs, plainMs, plainRatio: peerMs / plainMs });
    tf.dispose(inputs);
    model.dispose();
  }
  const native = await nativeStreamingMs(ir, env, params, xs, time, reps, warm);
  if (native !== undefined) rows.push({ case: "LSTM streaming step (batch 1, input 32, hidden 64)", peer: "onnxruntime-node, 1 thread (rnnc's --streaming ONNX export, one session.run per step)", peerMs: native, jsMs, ratio: native / jsMs, plainMs, plainRatio: native / plainMs });
  return rows;
}

/**
 * The same streaming steps in onnxruntime-node (native, one thread) on rnnc's streaming ONNX export of the model: one
 * `session.run` per step, the states it returns fed to the next; undefined when onnxruntime-node is not installed.
 */
async function nativeStreamingMs(ir: ModelIR, env: Map<string, number>, params: Map<string, Tensor>, xs: readonly Float32Array[], time: Timer, reps: number, warm: number): Promise<number | undefined> {
  let ort: typeof import("onnxruntime-node");
  try {
    ort = await import("onnxruntime-node");
  } catch {
    return undefined;
  }
  const ex = exportOnnxStreaming(ir, env, params, "bench");
  const session = await ort.InferenceSession.create(ex.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const input = ir.inputs[0]!.name;
  const feeds = xs.map((x) => new ort.Tensor("float32", x, [1, x.length]));
  const start = () => Object.fromEntries(ex.states.map((st) =>
    [st.input, new ort.Tensor("float32", new Float32Array(st.shape.reduce((a, b) => a * b, 1)).fill(st.start), [1, ...st.shape])]));
  const ms = await time(async () => {
    let states: Record<string, import("onnxruntime-node").Tensor> = start();
    for (const feed of feeds) {
      const out = await session.run({ [input]: feed, ...states });
      states = Object.fromEntries(ex.states.map((st) => [st.input, out[st.output]!]));
    }
  }, reps, warm);
  await session.release();
  return ms / xs.length;
}

/** A batched forward pass (batch 32, 100 steps, input 64, hidden 128): the js target against the reference interpreter. */
export async function benchBatched(ir: ModelIR, time: Timer, reps: number, x: Tensor): Promise<CompiledRow> {
  const env = new Map([["I", 64], ["H", 128]]);
  const params = initParams(modelParamSpecs(ir, env), 1);
  const js = await compileJs(ir, env, params, "batched-lstm");
  const plain = await compileJs(ir, env, params, "batched-lstm-plain", false);
  const feed = { x: { shape: [...x.shape], data: x.data as Float32Array } };
  const jsMs = await time(() => js.predict(feed), reps);
  const plainMs = await time(() => plain.predict(feed), reps);
  const peerMs = await time(() => runModel(ir, env, params, { inputs: { x } }), Math.max(1, Math.floor(reps / 2)));
  return { case: "LSTM forward (batch 32, 100 steps, input 64, hidden 128)", peer: "reference interpreter", peerMs, jsMs, ratio: peerMs / jsMs, plainMs, plainRatio: peerMs / plainMs };
}
