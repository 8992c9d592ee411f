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

/** An onnxruntime-node session of the peer file on `threads` intra-op threads, or undefined when it is not installed. */
async function nativeSession(file: string, threads: number): Promise<import("onnxruntime-node").InferenceSession | undefined> {
  try {
    const ort = await import("onnxruntime-node");
    return await ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  } catch {
    return undefined;
  }
}

/**
 * Median ms of each function, timed in rounds (each in turn: one call to warm its caches again, one timed), so that a
 * slow minute of this shared machine slows every column alike and the ratios between them hold.
 */
export async function timeInterleaved<K extends string>(fns: Record<K, () => unknown>, reps: number, warmup = 3): Promise<Record<K, number>> {
  const keys = Object.keys(fns) as K[];
  const ms = new Map<K, number[]>(keys.map((k) => [k, []]));
  for (let r = 0; r < warmup + reps; r++)
    for (const k of keys) {
      await fns[k](); // untimed: its caches warm again after the others' turns
      const t0 = performance.now();
      await fns[k]();
      if (r >= warmup) ms.get(k)!.push(performance.now() - t0);
      await new Promise((done) => setImmediate(done));
    }
  const median = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  return Object.fromEntries(keys.map((k) => [k, median(ms.get(k)!)])) as Record<K, number>;
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
    const path = join(packageRoot, "src", "bench", "peers", file);
    const session = await ort.InferenceSession.create(readFileSync(path));
    const input = new ort.Tensor("float32", x, [T, B, I]);
    const node1 = await nativeSession(path, 1);
    const node2 = node1 && await nativeSession(path, 2);
    const { Tensor: NodeTensor } = node1 ? await import("onnxruntime-node") : { Tensor: undefined };
    const nodeInput = NodeTensor && new NodeTensor("float32", x, [T, B, I]);
    // The same model exported by rnnc (batch first, with lengths) in the same runtime.
    const benchIr = models[cell];
    const benchEnv = new Map([["I", I], ["H", 128]]);
    const exported = await ort.InferenceSession.create(exportOnnx(benchIr, benchEnv, initParams(modelParamSpecs(benchIr, benchEnv), 1), "bench").bytes);
    const xb = new ort.Tensor("float32", x, [B, T, I]);
    const lens = new ort.Tensor("int64", BigInt64Array.from({ length: B }, () => BigInt(T)), [B]);
    // The same model and weights through rnnc's js target (its batched predict) and its tfjs module, on the same input.
    const jsModule = await compileJs(benchIr, benchEnv, initParams(modelParamSpecs(benchIr, benchEnv), 1), `onnx-peer-${cell}`);
    await useBackend("tfjs-wasm");
    await stopScanHelper();
    const tfjsModule = await compileTfjsModule(benchIr, benchEnv, initParams(modelParamSpecs(benchIr, benchEnv), 1), `onnx-peer-${cell}`);
    const layer = benchIr.layers[0]!;
    const kernel = new FusedScan(optimize(layer.ir), layerEnv(layer, benchEnv));
    const prefix = `${layer.name}.`;
    const params = new Map([...initParams(modelParamSpecs(benchIr, benchEnv), 1)].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t.data as Float32Array]));
    const fused = () => kernel.forward(params, { T, B, xs: [x] }, false);
    const t = await timeInterleaved({
      peer: () => session.run({ X: input }),
      node1: () => node1?.run({ X: nodeInput! }),
      node2: () => node2?.run({ X: nodeInput! }),
      exported: () => exported.run({ x: xb, x_lengths: lens }),
      js: () => jsModule.predict({ x: { shape: [B, T, I], data: x } }),
      tfjs: () => { const out = tfjsModule.predict({ x: { shape: [B, T, I], data: x } }); for (const v of Object.values(out)) { v.dataSync(); v.dispose(); } },
      fused,
    }, reps);
    // Two threads last, on their own (the helper thread would take the second core from the others).
    const twoThreadsMs = startScanHelper() ? await time(fused, reps) : undefined;
    await stopScanHelper();
    rows.push({
      cell, case: `forward (batch ${B}, ${T} steps, input ${I}, hidden 128)`, peerMs: t.peer, fusedMs: t.fused, ratio: t.peer / t.fused, exportedMs: t.exported, jsTargetMs: t.js, tfjsModuleMs: t.tfjs,
      ...(node1 ? { nodeMs: t.node1, nodeTwoThreadsMs: t.node2 } : {}),
      ...(twoThreadsMs ? { twoThreadsMs, twoThreadsRatio: t.peer / twoThreadsMs } : {}),
    });
    await Promise.all([session.release(), exported.release(), node1?.release(), node2?.release()]);
  }
  return rows;
}
