// onnxruntime-web on one thread as the inference peer: the same LSTM and GRU sizes, against rnnc's fused kernel, in one run.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FusedScan } from "../fused/scan.js";
import type { ModelIR } from "../ir/ir.js";
import { packageRoot } from "../node/host.js";
import { startScanHelper, stopScanHelper } from "../node/scan-helper.js";
import { optimize } from "../passes/pipeline.js";
import { layerEnv } from "../runtime/dims.js";
import { initParams, modelParamSpecs } from "../weights/weights.js";
import { exportOnnx } from "../emit/onnx/export.js";
import { compileJs, compileTfjsModule } from "./compiled.js";
import { useBackend } from "../tfjs/backend.js";

export interface OnnxRow {
  readonly cell: string; readonly case: string; readonly peerMs: number;
  /** rnnc's fused kernel on this thread alone, and with the batch split over two threads (when there is a second core). */
  readonly fusedMs: number; readonly ratio: number; readonly twoThreadsMs?: number; readonly twoThreadsRatio?: number;
  /** rnnc's own ONNX export of the model, run by the same onnxruntime-web, and the same model as rnnc's js target. */
  readonly exportedMs: number;
  readonly jsTargetMs: number;
  /** The same model as a compiled tfjs module on tfjs-wasm, one thread (its predict, every output read). */
  readonly tfjsModuleMs: number;
  /** The same peer file in onnxruntime-node (native), on one and on two threads, when it is installed. */
  readonly nodeMs?: number;
  readonly nodeTwoThreadsMs?: number;
}

/** onnxruntime-node's time for the peer file on `threads` intra-op threads, or undefined when it is not installed. */
async function nativeMs(file: string, x: Float32Array, dims: number[], threads: number, time: Timer, reps: number): Promise<number | undefined> {
  let ort: typeof import("onnxruntime-node");
  try {
    ort = await import("onnxruntime-node");
  } catch {
    return undefined;
  }
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  const input = new ort.Tensor("float32", x, dims);
  const ms = await time(() => session.run({ X: input }), reps);
  await session.release();
  return ms;
}

type Timer = (f: () => unknown, reps: number) => Promise<number>;

/** The peer models are written by src/bench/peers/make_peers.py (input 64, hidden 128, free batch and length). */
export async function benchOnnx(models: Record<"LSTM" | "GRUResetBefore", ModelIR>, time: Timer, reps: number, B = 32, T = 100): Promise<OnnxRow[]> {
  let ort: typeof import("onnxruntime-web");
  try {
    ort = await import("onnxruntime-web");
  } catch {
    process.stderr.write("onnxruntime-web is not installed (a devDependency): its rows are left out\n");
    return [];
  }
  ort.env.wasm.numThreads = 1;
  const rows: OnnxRow[] = [];
  const I = 64;
  const x = Float32Array.from({ length: T * B * I }, (_, k) => Math.sin(k * 0.37));
  for (const [cell, file] of [["LSTM", "lstm.onnx"], ["GRUResetBefore", "gru.onnx"]] as const) {
    const session = await ort.InferenceSession.create(readFileSync(join(packageRoot, "src", "bench", "peers", file)));
    const input = new ort.Tensor("float32", x, [T, B, I]);
    const peerMs = await time(() => session.run({ X: input }), reps);
    const path = join(packageRoot, "src", "bench", "peers", file);
    const nodeMs = await nativeMs(path, x, [T, B, I], 1, time, reps);
    const nodeTwoThreadsMs = nodeMs === undefined ? undefined : await nativeMs(path, x, [T, B, I], 2, time, reps);
    // The same model exported by rnnc (batch first, with lengths) in the same runtime.
    const benchIr = models[cell];
    const benchEnv = new Map([["I", I], ["H", 128]]);
    const exported = await ort.InferenceSession.create(exportOnnx(benchIr, benchEnv, initParams(modelParamSpecs(benchIr, benchEnv), 1), "bench").bytes);
    const xb = new ort.Tensor("float32", x, [B, T, I]);
    const lens = new ort.Tensor("int64", BigInt64Array.from({ length: B }, () => BigInt(T)), [B]);
    const exportedMs = await time(() => exported.run({ x: xb, x_lengths: lens }), reps);
    await exported.release();
    // The same model and weights through rnnc's js target (its batched predict), on the same input.
    const jsModule = await compileJs(benchIr, benchEnv, initParams(modelParamSpecs(benchIr, benchEnv), 1), `onnx-peer-${cell}`);
    const jsTargetMs = await time(() => jsModule.predict({ x: { shape: [B, T, I], data: x } }), reps);
    await useBackend("tfjs-wasm");
    await stopScanHelper();
    const tfjsModule = await compileTfjsModule(benchIr, benchEnv, initParams(modelParamSpecs(benchIr, benchEnv), 1), `onnx-peer-${cell}`);
    const tfjsModuleMs = await time(() => { const out = tfjsModule.predict({ x: { shape: [B, T, I], data: x } }); for (const t of Object.values(out)) { t.dataSync(); t.dispose(); } }, reps);
    const ir = models[cell];
    const env = new Map([["I", I], ["H", 128]]);
    const layer = ir.layers[0]!;
    const kernel = new FusedScan(optimize(layer.ir), layerEnv(layer, env));
    const prefix = `${layer.name}.`;
    const params = new Map([...initParams(modelParamSpecs(ir, env), 1)].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t.data as Float32Array]));
    await stopScanHelper();
    const fusedMs = await time(() => kernel.forward(params, { T, B, xs: [x] }, false), reps);
    const twoThreadsMs = startScanHelper() ? await time(() => kernel.forward(params, { T, B, xs: [x] }, false), reps) : undefined;
    await stopScanHelper();
    rows.push({
      cell, case: `forward (batch ${B}, ${T} steps, input ${I}, hidden 128)`, peerMs, fusedMs, ratio: peerMs / fusedMs, exportedMs, jsTargetMs, tfjsModuleMs,
      ...(nodeMs !== undefined ? { nodeMs, nodeTwoThreadsMs: nodeTwoThreadsMs! } : {}),
      ...(twoThreadsMs ? { twoThreadsMs, twoThreadsRatio: peerMs / twoThreadsMs } : {}),
    });
    await session.release();
  }
  return rows;
}
