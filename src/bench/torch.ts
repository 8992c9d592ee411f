// PyTorch on this CPU as the training peer: its peer script (run in the same bench run, when `import torch` works) and
// rnnc's same work — training steps, forward, a streaming step, g2p words per second — as ratios.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createCompiler } from "../compiler.js";
import type { ModelIR } from "../ir/ir.js";
import { nodeHost, packageRoot } from "../node/host.js";
import { stopScanHelper } from "../node/scan-helper.js";
import { alloc, type Tensor } from "../runtime/tensor.js";
import { useBackend } from "../tfjs/backend.js";
import { Trainer, type Batch } from "../tfjs/train.js";
import { FusedTrainer } from "../fused/train-model.js";
import type { TrainEngine } from "../runtime/training.js";
import { initParams, modelParamSpecs } from "../weights/weights.js";
import { emitPytorch } from "../emit/pytorch/module.js";

type Timer = (f: () => unknown, reps: number, warmup?: number) => Promise<number>;

export interface TorchRow { readonly case: string; readonly unit: "ms" | "words/s" | "µs"; readonly torch: number; readonly rnnc: number; readonly ratio: number; readonly note: string }

interface PeerResult {
  torch: string;
  trainingStepMs: Record<"LSTM" | "GRU", Record<"1" | "2", number>>;
  forwardMs: Record<"LSTM" | "GRU", number>;
  streamingStepUs: number;
  g2pWordsPerSecond?: number;
  g2pAttentionWordsPerSecond?: number;
  /** rnnc's PyTorch target against the same model written by hand in torch: median ms of each. */
  compiled?: Record<"LSTM" | "GRU", Record<"forward" | "step", { compiled: number; hand: number }>>;
}

/** The python that has torch: $RNNC_PYTHON, else python3; undefined (with why) when torch does not import. */
function python(): { exe: string } | { why: string } {
  const exe = process.env["RNNC_PYTHON"] ?? "python3";
  const r = spawnSync(exe, ["-c", "import torch"], { encoding: "utf8" });
  return r.status === 0 ? { exe } : { why: `${exe} -c "import torch" failed${r.error ? ` (${r.error.message})` : ""}: set RNNC_PYTHON to a python with torch` };
}

const G2P_DIMS = { L: 28, P: 41, E: 32, H: 128 };
/** g2p-attention.rnn's: the same, and A, the attention's size. */
const G2P_ATTENTION_DIMS = { ...G2P_DIMS, A: 64 };
const G2P_LR = 0.001, G2P_CLIP = 5, G2P_BATCH = 32;

/** The first `words` training words of examples/g2p as padded batches (the same for rnnc and PyTorch). */
export async function g2pBatches(words: number): Promise<{ json: object; batches: Batch[] }> {
  const data = await import(pathToFileURL(join(packageRoot, "examples", "g2p", "data.mjs")).href) as { load(o: object): { train: { inputs: { letters: number[]; prev_phones: number[] }; target: number[] }[] } };
  const train = data.load({}).train.slice(0, words);
  const pad = (rows: number[][], v: number) => { const n = Math.max(...rows.map((r) => r.length)); return rows.map((r) => [...r, ...Array(n - r.length).fill(v)]); };
  const ids = (rows: number[][]): Tensor => { const t = alloc([rows.length, rows[0]!.length], "f32"); t.data.set(rows.flat()); return t; };
  const json: object[] = [];
  const batches: Batch[] = [];
  for (let k = 0; k < train.length; k += G2P_BATCH) {
    const chunk = train.slice(k, k + G2P_BATCH);
    const letters = pad(chunk.map((e) => e.inputs.letters), 0), prev = pad(chunk.map((e) => e.inputs.prev_phones), 0);
    json.push({ letters, letter_lengths: chunk.map((e) => e.inputs.letters.length), prev_phones: prev, targets: pad(chunk.map((e) => e.target), -100) });
    batches.push({ inputs: { letters: ids(letters), prev_phones: ids(prev) }, lengths: { letters: chunk.map((e) => e.inputs.letters.length), prev_phones: chunk.map((e) => e.inputs.prev_phones.length) }, targets: chunk.map((e) => e.target) });
  }
  return { json: { dims: G2P_ATTENTION_DIMS, lr: G2P_LR, clip: G2P_CLIP, batches: json }, batches };
}

/** rnnc's side of the rows timed elsewhere in the run (the js target's forward and streaming step), NaN where not timed. */
export interface OwnFigures { readonly lstmForwardMs: number; readonly gruForwardMs: number; readonly streamingStepUs: number }

export async function benchTorch(models: Record<"LSTM" | "GRU", ModelIR>, time: Timer, reps: number, own: OwnFigures, words = 4000): Promise<TorchRow[]> {
  const py = python();
  if ("why" in py) {
    process.stderr.write(`no PyTorch column: ${py.why}\n`);
    return [];
  }
  const g2p = await g2pBatches(words);
  const work = mkdtempSync(join(tmpdir(), "rnnc-bench-"));
  const file = join(work, "g2p-batches.json");
  writeFileSync(file, JSON.stringify(g2p.json));
  // The bench's LSTM and GRU models compiled to PyTorch (--target pytorch), timed there against the same written by hand.
  const modelEnv = new Map([["I", 64], ["H", 128]]);
  const compiledFiles = (["LSTM", "GRU"] as const).map((cell) => {
    const path = join(work, `bench_${cell.toLowerCase()}.py`);
    writeFileSync(path, emitPytorch(models[cell], modelEnv, initParams(modelParamSpecs(models[cell], modelEnv), 1), "bench.rnn", "bench").source);
    return path;
  });
  process.stderr.write("PyTorch peer script …\n");
  const r = spawnSync(py.exe, [join(packageRoot, "src", "bench", "peers", "torch_peer.py"), file, ...compiledFiles], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    process.stderr.write(`the PyTorch peer script failed: ${r.stderr.trim().split("\n").slice(-3).join(" / ")}\n`);
    return [];
  }
  const peer = JSON.parse(r.stdout.trim().split("\n").pop()!) as PeerResult;
  const rows: TorchRow[] = [];
  await useBackend("tfjs-wasm");
  await stopScanHelper(); // one thread, as PyTorch's column
  const B = 32, T = 100, I = 64, H = 128;
  const env = new Map([["I", I], ["H", H]]);
  for (const cell of ["LSTM", "GRU"] as const) {
    const ir = models[cell];
    const params = initParams(modelParamSpecs(ir, env), 1);
    const x = alloc([B, T, I], "f32");
    for (let i = 0; i < x.data.length; i++) x.data[i] = Math.sin(i * 0.37);
    const targets = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => Array.from({ length: H }, (_, h) => Math.cos(b + t * 0.1 + h))));
    const settings = { output: "seq", loss: "mse", optimizer: "sgd", learningRate: 0.01 } as const;
    const batch = { inputs: { x }, targets };
    const tfjs = new Trainer(ir, env, params, settings);
    const ms = await time(() => tfjs.step(batch), reps, 5); // warmed up as the kernels' tiers need
    tfjs.dispose();
    const fused = new FusedTrainer(ir, env, params, settings);
    const fusedMs = await time(() => fused.step(batch), reps, 5);
    const t1 = peer.trainingStepMs[cell]["1"];
    rows.push({ case: `${cell} training step (batch ${B}, ${T} steps, input ${I}, hidden ${H}; MSE on every output, SGD), through tfjs as a compiled tfjs module trains`, unit: "ms", torch: t1, rnnc: ms, ratio: ms / t1,
      note: `rnnc on tfjs-wasm, one thread; PyTorch on two threads: ${peer.trainingStepMs[cell]["2"].toFixed(1)} ms` });
    rows.push({ case: `${cell} training step, the same on rnnc train's default engine (the whole model on the fused kernels, no tfjs)`, unit: "ms", torch: t1, rnnc: fusedMs, ratio: fusedMs / t1, note: "one thread each" });
  }
  // g2p: the same words, batch 32, Adam, clip 5, one epoch over them, on rnnc train's default engine and on tfjs-wasm.
  const g2pIr = createCompiler(nodeHost).model(join(packageRoot, "examples", "g2p", "g2p.rnn"), "G2P");
  const g2pEnv = new Map(Object.entries(G2P_DIMS));
  const g2pSettings = { output: "logits", loss: "crossentropy", optimizer: "adam", learningRate: G2P_LR, clipNorm: G2P_CLIP } as const;
  const wordsPerSecond = (trainer: TrainEngine): number => {
    for (const b of g2p.batches.slice(0, 5)) trainer.step(b); // warm-up
    const t0 = performance.now();
    for (const b of g2p.batches) trainer.step(b);
    const wps = g2p.batches.reduce((s, b) => s + b.targets.length, 0) / ((performance.now() - t0) / 1000);
    trainer.dispose();
    return wps;
  };
  const g2pStart = initParams(modelParamSpecs(g2pIr, g2pEnv), 1);
  const wps = wordsPerSecond(new FusedTrainer(g2pIr, g2pEnv, g2pStart, g2pSettings));
  const tfjsWps = wordsPerSecond(new Trainer(g2pIr, g2pEnv, g2pStart, g2pSettings));
  if (peer.g2pWordsPerSecond) rows.push({ case: `g2p training (${words} CMUdict words, batch ${G2P_BATCH}, Adam, clip ${G2P_CLIP}), rnnc train's default engine (fused)`, unit: "words/s", torch: peer.g2pWordsPerSecond, rnnc: wps, ratio: wps / peer.g2pWordsPerSecond,
    note: `one thread each; ratio is rnnc / PyTorch; on tfjs-wasm rnnc trains ${tfjsWps.toFixed(0)} words/s (${(tfjsWps / peer.g2pWordsPerSecond).toFixed(2)}×)` });
  // g2p with attention: the same words, on rnnc train's default engine (fused) and on tfjs-wasm (its decoder op by op).
  if (peer.g2pAttentionWordsPerSecond) {
    const attIr = createCompiler(nodeHost).model(join(packageRoot, "examples", "g2p", "g2p-attention.rnn"), "G2PAttention");
    const attEnv = new Map(Object.entries(G2P_ATTENTION_DIMS));
    const attStart = initParams(modelParamSpecs(attIr, attEnv), 1);
    const attWps = wordsPerSecond(new FusedTrainer(attIr, attEnv, attStart, g2pSettings));
    const attTfjsWps = wordsPerSecond(new Trainer(attIr, attEnv, attStart, g2pSettings));
    rows.push({ case: `g2p with attention (g2p-attention.rnn; the same words, batch ${G2P_BATCH}, Adam, clip ${G2P_CLIP}), rnnc train's default engine (fused)`, unit: "words/s", torch: peer.g2pAttentionWordsPerSecond, rnnc: attWps, ratio: attWps / peer.g2pAttentionWordsPerSecond,
      note: `one thread each; ratio is rnnc / PyTorch; the plain model above: ${wps.toFixed(0)} words/s; on tfjs-wasm (its decoder op by op) rnnc trains ${attTfjsWps.toFixed(0)} words/s (${(attTfjsWps / peer.g2pAttentionWordsPerSecond).toFixed(2)}×); PyTorch runs the decoder's LSTM over all steps and attends for all of them at once` });
  }
  rows.push(...(await (await import("./engines.js")).benchEngines(py.exe)));
  const beside = (c: string, unit: TorchRow["unit"], torch: number, rnnc: number, note: string): TorchRow => ({ case: c, unit, torch, rnnc, ratio: rnnc / torch, note });
  for (const cell of ["LSTM", "GRU"] as const) {
    const c = peer.compiled?.[cell];
    if (!c) continue;
    rows.push(
      beside(`${cell} forward in PyTorch: rnnc's --target pytorch module against torch.nn.${cell} written by hand (batch 32, 100 steps, input 64, hidden 128)`, "ms", c.forward.hand, c.forward.compiled, "both in torch, one thread; ratio is the compiled module's time / the hand-written one's"),
      beside(`${cell} training step in PyTorch (MSE on every output, SGD): rnnc's module against torch.nn.${cell} by hand`, "ms", c.step.hand, c.step.compiled, "both in torch, one thread; ratio is the compiled module's time / the hand-written one's"),
    );
  }
  rows.push(
    beside("LSTM forward (batch 32, 100 steps, input 64, hidden 128)", "ms", peer.forwardMs.LSTM, own.lstmForwardMs, "rnnc: the js target's predict; one thread each"),
    beside("GRU forward (PyTorch's GRU is reset-after; rnnc's row: GRUResetBefore, as the ONNX table)", "ms", peer.forwardMs.GRU, own.gruForwardMs, "rnnc: the js target's predict; one thread each"),
    beside("LSTMCell streaming step at batch 1 (input 32, hidden 64)", "µs", peer.streamingStepUs, own.streamingStepUs, "rnnc: the js target's step (PyTorch: one LSTMCell call)"),
  );
  return rows;
}
