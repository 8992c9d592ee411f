// `npm run bench`: rnnc on tfjs against tf.layers with the same sizes, in the same run, on the cpu and wasm backends.
import * as tf from "@tensorflow/tfjs";
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { MIN_SPLIT_WORK, startScanHelper, stopScanHelper } from "../node/scan-helper.js";
import { createCompiler } from "../compiler.js";
import { nodeHost, stdlibFiles } from "../node/host.js";
import { memoryHost } from "../resolve/host.js";
import { loweringDefaults, useBackend, type TfBackend } from "../tfjs/backend.js";
import { TfModel } from "../tfjs/model.js";
import { toTf, variablesOf } from "../tfjs/run.js";
import { Trainer } from "../tfjs/train.js";
import { alloc, type Tensor } from "../runtime/tensor.js";
import { mulberry32 } from "../runtime/random.js";
import { initParams, modelParamSpecs } from "../weights/weights.js";
import type { ModelIR } from "../ir/ir.js";
import { benchBatched, benchStreaming, type CompiledRow } from "./compiled.js";
import { benchDiagnostics, type LspBench } from "./lsp.js";
import { benchStartup, type StartupRow } from "./startup.js";
import { benchOnnx, type OnnxRow } from "./onnx.js";
import { benchTorch, type TorchRow } from "./torch.js";
import { enableRelaxedSimd } from "../node/wasm-features.js";
import { benchKernels, type KernelBench } from "./kernels.js";
import { benchImportScale, type ImportScaleRow } from "./import-scale.js";

function model(cell: string): ModelIR {
  const text = `import { ${cell}, Dense } from "std"
model Bench<I, H> {
  input x: [T, I]
  layer rnn = ${cell}<I, H>
  output seq = scan(rnn, x)
  output y = last(seq)
}`;
  const std = new Map(stdlibFiles().map((f) => [f, nodeHost.readFile(f)!]));
  return createCompiler(memoryHost(new Map([["bench.rnn", text], ...std]), [...std.keys()])).model("bench.rnn", "Bench");
}

function rand(shape: number[], seed: number): Tensor {
  const r = mulberry32(seed);
  const t = alloc(shape, "f32");
  for (let i = 0; i < t.data.length; i++) t.data[i] = 2 * r() - 1;
  return t;
}

/** Median milliseconds of `f` over `reps` runs after `warmup` runs. */
async function time(f: () => unknown, reps: number, warmup = 5): Promise<number> {
  for (let i = 0; i < warmup; i++) await f();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    ms.push(performance.now() - t0);
    await new Promise((r) => setImmediate(r));
  }
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)]!;
}

/** The lowerings timed: the default on one thread and on two (where there is a second core), and no passes at all. */
function variants(): (readonly ["on" | "off", 1 | 2])[] {
  return [["on", 1], ...(availableParallelism() > 1 ? [["on", 2] as const] : []), ["off", 1]];
}
const label_ = (passes: string, threads: number) => (threads > 1 ? `${passes}, ${threads} threads` : passes);
/** Fused scans on one thread, or their batches split with a helper thread. */
async function threadsFor(n: 1 | 2): Promise<void> {
  if (n === 1) await stopScanHelper();
  else startScanHelper();
}

/** Passes left out by default on a backend (see loweringDefaults). */
const disabledFor = (backend: TfBackend) => loweringDefaults(backend).disabled ?? new Set<string>();

interface Row { backend: string; cell: string; case: string; passes: string; tflayersMs: number; rnncMs: number; ratio: number }

const gateNames: Record<string, { x: string[]; h: string[]; b: string[] }> = {
  LSTM: { x: ["W_xi", "W_xf", "W_xg", "W_xo"], h: ["W_hi", "W_hf", "W_hg", "W_ho"], b: ["b_i", "b_f", "b_g", "b_o"] },
  GRUResetBefore: { x: ["W_xz", "W_xr", "W_xn"], h: ["W_hz", "W_hr", "W_hn"], b: ["b_z", "b_r", "b_n"] },
};

async function benchCell(backend: TfBackend, cell: "LSTM" | "GRUResetBefore", reps: number): Promise<Row[]> {
  await useBackend(backend);
  const rows: Row[] = [];
  const ir = model(cell);
  for (const [label, B, T] of [["forward", 32, 100], ["streaming step", 1, 1]] as const) {
    const I = 64, H = 128;
    const env = new Map([["I", I], ["H", H]]);
    const params = initParams(modelParamSpecs(ir, env), 1);
    const x = rand([B, T, I], 2);
    const layerOpts = { units: H, recurrentActivation: "sigmoid" as const, returnSequences: false, inputShape: [T, I] };
    const layer = cell === "LSTM" ? tf.layers.lstm(layerOpts) : tf.layers.gru(layerOpts);
    const seqModel = tf.sequential({ layers: [layer] });
    const g = gateNames[cell]!;
    const cat = (names: string[], tr: boolean) => tf.concat(names.map((n) => { const t = toTf(params.get(`rnn.${n}`)!); return tr ? t.transpose() : t; }), tr ? 1 : 0);
    layer.setWeights([cat(g.x, true), cat(g.h, true), cat(g.b, false)]);
    const xt = toTf(x);
    const tfl = await time(() => tf.tidy(() => { (seqModel.predict(xt) as tf.Tensor).dataSync(); }), reps);
    for (const [passes, threads] of variants()) {
      if (threads > 1 && B * T < MIN_SPLIT_WORK) continue; // never split: the same as one thread
      await threadsFor(threads);
      const vars = variablesOf(params, false);
      const m = new TfModel(ir, env, vars, passes === "on" ? { disabled: disabledFor(backend) } : { optimize: false });
      const lastNode = ir.outputs.find((o) => o.name === "y")!.node;
      const ours = await time(() => tf.tidy(() => { (m.run({ inputs: { x: xt } })[lastNode] as { t: tf.Tensor }).t.dataSync(); }), reps);
      rows.push({ backend, cell, case: `${label} (batch ${B}, ${T} step${T === 1 ? "" : "s"})`, passes: label_(passes, threads), tflayersMs: tfl, rnncMs: ours, ratio: tfl / ours });
      for (const v of vars.values()) v.dispose();
    }
    // A training step: MSE on the last output, plain SGD, same data.
    if (label === "forward") {
      const target = tf.randomNormal([B, H], 0, 1, "float32", 3);
      seqModel.compile({ optimizer: tf.train.sgd(0.01), loss: "meanSquaredError" });
      const tflTrain = await time(() => seqModel.trainOnBatch(xt, target), Math.max(3, Math.floor(reps / 2)), 1);
      const targets = Array.from(target.arraySync() as number[][]);
      for (const [passes, threads] of variants()) {
        await threadsFor(threads);
        const trainer = new Trainer(ir, env, params, { output: "y", loss: "mse", optimizer: "sgd", learningRate: 0.01, lowering: passes === "on" ? loweringDefaults(backend) : { optimize: false } });
        const batch = { inputs: { x }, targets };
        const ours = await time(() => { trainer.step(batch); }, Math.max(3, Math.floor(reps / 2)), 1);
        rows.push({ backend, cell, case: `training step (batch ${B}, ${T} steps)`, passes: label_(passes, threads), tflayersMs: tflTrain, rnncMs: ours, ratio: tflTrain / ours });
        trainer.dispose();
      }
      target.dispose();
    }
    xt.dispose();
    seqModel.dispose();
  }
  return rows;
}

async function main(): Promise<void> {
  const fma = enableRelaxedSimd(); // as rnnc's own commands do
  process.stderr.write(`rnnc's products on ${fma ? "fused multiply-adds (relaxed SIMD)" : "multiplies and adds (no relaxed SIMD, or RNNC_NO_FMA)"}\n`);
  const reps = Number(process.env["BENCH_REPS"] ?? 7);
  const backends = (process.env["BENCH_BACKENDS"] ?? "tfjs-cpu,tfjs-wasm").split(",") as TfBackend[];
  const only = process.env["BENCH_ONLY"];
  const rows: Row[] = [];
  if (!only || only === "tfjs") for (const backend of backends)
    for (const cell of ["LSTM", "GRUResetBefore"] as const) {
      process.stderr.write(`${backend} ${cell} …\n`);
      rows.push(...(await benchCell(backend, cell, reps)));
    }
  const header = "| backend | cell | case | passes | tf.layers ms | rnnc ms | tf.layers / rnnc |";
  const lines = [header, "| --- | --- | --- | --- | ---: | ---: | ---: |",
    ...rows.map((r) => `| ${r.backend} | ${r.cell} | ${r.case} | ${r.passes} | ${r.tflayersMs.toFixed(2)} | ${r.rnncMs.toFixed(2)} | ${r.ratio.toFixed(2)}× |`)];
  if (rows.length) process.stdout.write(lines.join("\n") + "\n\n");
  const compiled: CompiledRow[] = [];
  if (!only || only === "compiled") {
    process.stderr.write("compiled js module …\n");
    compiled.push(...(await benchStreaming(model("LSTM"), backends, time, reps)));
    compiled.push(await benchBatched(model("LSTM"), time, Math.max(3, Math.floor(reps / 2)), rand([32, 100, 64], 2)));
    const ms = (v: number) => v.toFixed(v < 1 ? 4 : 2);
    process.stdout.write(["| case | peer | peer ms | rnnc js ms | peer / js | js --no-simd ms | peer / js --no-simd |", "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
      ...compiled.map((r) => `| ${r.case} | ${r.peer} | ${ms(r.peerMs)} | ${ms(r.jsMs)} | ${r.ratio.toFixed(1)}× | ${ms(r.plainMs)} | ${r.plainRatio.toFixed(1)}× |`)].join("\n") + "\n");
  }
  const onnx: OnnxRow[] = [];
  if (!only || only === "onnx") {
    process.stderr.write("onnxruntime-web (one thread) …\n");
    onnx.push(...(await benchOnnx({ LSTM: model("LSTM"), GRUResetBefore: model("GRUResetBefore") }, time, reps)));
    const two = (r: OnnxRow) => (r.twoThreadsMs ? `${r.twoThreadsMs.toFixed(2)} | ${r.twoThreadsRatio!.toFixed(2)}×` : "– | –");
    process.stdout.write(["\n| cell | case | onnxruntime-web, 1 thread, ms | rnnc fused, 1 thread, ms | peer / rnnc | rnnc fused, 2 threads, ms | peer / rnnc | rnnc's ONNX export in onnxruntime-web, ms | the same model as rnnc's js target (predict), ms |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...onnx.map((r) => `| ${r.cell} | ${r.case} | ${r.peerMs.toFixed(2)} | ${r.fusedMs.toFixed(2)} | ${r.ratio.toFixed(2)}× | ${two(r)} | ${r.exportedMs.toFixed(2)} | ${r.jsTargetMs.toFixed(2)} |`)].join("\n") + "\n");
    // The js target's forward against both ONNX Runtimes (native: onnxruntime-node's own CPU kernels).
    process.stdout.write(["\n| cell | js target forward, ms | tfjs module forward (wasm), ms | tfjs / js | onnxruntime-web 1 thread, ms | web / js | onnxruntime-node 1 thread, ms | js / node-1 | onnxruntime-node 2 threads, ms | js / node-2 |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...onnx.map((r) => `| ${r.cell} | ${r.jsTargetMs.toFixed(2)} | ${r.tfjsModuleMs.toFixed(2)} | ${(r.tfjsModuleMs / r.jsTargetMs).toFixed(2)}× | ${r.peerMs.toFixed(2)} | ${(r.peerMs / r.jsTargetMs).toFixed(2)}× | ${r.nodeMs?.toFixed(2) ?? "–"} | ${r.nodeMs ? `${(r.jsTargetMs / r.nodeMs).toFixed(2)}×` : "–"} | ${r.nodeTwoThreadsMs?.toFixed(2) ?? "–"} | ${r.nodeTwoThreadsMs ? `${(r.jsTargetMs / r.nodeTwoThreadsMs).toFixed(2)}×` : "–"} |`)].join("\n") + "\n");
  }
  const torch: TorchRow[] = [];
  if (!only || only === "torch") {
    // rnnc's side of the forward and streaming rows comes from the tables above (the js target).
    const jsForward = (cell: string) => onnx.find((r) => r.cell === cell)?.jsTargetMs ?? NaN;
    const jsStep = compiled.find((r) => r.case.startsWith("LSTM streaming step"))?.jsMs;
    torch.push(...(await benchTorch({ LSTM: model("LSTM"), GRU: model("GRU") }, time, reps,
      { lstmForwardMs: jsForward("LSTM"), gruForwardMs: jsForward("GRUResetBefore"), streamingStepUs: jsStep === undefined ? NaN : jsStep * 1000 })));
    const v = (x: number, unit: string) => (Number.isNaN(x) ? "–" : unit === "µs" ? x.toFixed(1) : unit === "words/s" ? x.toFixed(0) : x.toFixed(2));
    if (torch.length) process.stdout.write(["\n| work (PyTorch in the same run) | unit | PyTorch | rnnc | rnnc / PyTorch | note |", "| --- | --- | ---: | ---: | ---: | --- |",
      ...torch.map((r) => `| ${r.case} | ${r.unit} | ${v(r.torch, r.unit)} | ${v(r.rnnc, r.unit)} | ${Number.isNaN(r.ratio) ? "–" : `${r.ratio.toFixed(2)}×`} | ${r.note} |`)].join("\n") + "\n");
  }
  let kernels: KernelBench | undefined;
  if (!only || only === "kernels") {
    process.stderr.write("kernels against the SIMD peak …\n");
    kernels = await benchKernels({ LSTM: model("LSTM"), GRU: model("GRU") }, time, reps);
    if (kernels) process.stdout.write([`\nWebAssembly SIMD peak on this machine (register-only f32x4 loop, one core): multiply and add ${kernels.plainPeak.toFixed(1)} GFLOP/s` +
      (kernels.fma ? `, fused multiply-add (relaxed SIMD, which the kernels use) ${kernels.peak.toFixed(1)} GFLOP/s; shares below are of the latter` : "; the kernels use multiplies and adds"),
      "", "| kernel | ms | GFLOP/s | of the peak |", "| --- | ---: | ---: | ---: |",
      ...kernels.rows.map((r) => `| ${r.what} | ${r.ms.toFixed(3)} | ${r.gflops.toFixed(1)} | ${(100 * r.ofPeak).toFixed(0)}% |`)].join("\n") + "\n");
  }
  let lsp: LspBench | undefined;
  if (!only || only === "lsp") {
    process.stderr.write("language server …\n");
    lsp = benchDiagnostics();
    process.stdout.write(`\nlanguage server: diagnostics of a ${lsp.lines}-line spec after a one-character edit: median ${lsp.medianMs.toFixed(1)} ms, p90 ${lsp.p90Ms.toFixed(1)} ms over ${lsp.edits} edits (first analysis ${lsp.firstMs.toFixed(0)} ms)\n`);
  }
  let imports: ImportScaleRow[] | undefined;
  if (!only || only === "import") {
    process.stderr.write("importers against the number of weights …\n");
    imports = benchImportScale(Math.max(3, reps));
    process.stdout.write(["\n| importer | weights | ms | µs per weight |", "| --- | ---: | ---: | ---: |",
      ...imports.map((r) => `| ${r.format} | ${r.weights} | ${r.ms.toFixed(1)} | ${r.usPerWeight.toFixed(2)} |`)].join("\n") + "\n");
  }
  let startup: StartupRow[] | undefined;
  if (!only || only === "startup") {
    process.stderr.write("start-up …\n");
    startup = benchStartup(Math.max(reps, 7));
    process.stdout.write(["\n| command (a new process each time) | median ms | over `node -e ''` ms |", "| --- | ---: | ---: |",
      ...startup.map((r) => `| ${r.command} | ${r.medianMs.toFixed(0)} | ${r.overNodeMs.toFixed(0)} |`)].join("\n") + "\n");
  }
  const out = process.env["BENCH_OUT"] ?? "bench-results.json";
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, reps, medians: rows, compiled, onnx, torch, kernels, lsp, imports, startup }, null, 2) + "\n");
  process.stderr.write(`wrote ${out}\n`);
}

main().catch((e) => { process.stderr.write(`bench failed: ${(e as Error).stack}\n`); process.exitCode = 1; });
