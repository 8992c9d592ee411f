// The PyTorch engine of fit(): the spec compiled to a torch module, the data written once, trainer.py run by python (torchrun for several processes), driven epoch by epoch over a local socket.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RnncError, UsageError } from "../diagnostics/errors.js";
import { reachable } from "../ir/graph.js";
import type { ModelIR } from "../ir/ir.js";
import { emitPytorch } from "../emit/pytorch/module.js";
import { concreteShape, type DimEnv } from "../runtime/dims.js";
import type { MaskSpec } from "../runtime/dropout.js";
import type { Tensor } from "../runtime/tensor.js";
import type { EpochPlan, EpochRunner, OptimizerState, TrainSettings } from "../runtime/training.js";
import { encodeData, targetLayoutOf, type DataExample } from "./data-file.js";
import { TrainerLink } from "./link.js";

/** How PyTorch runs: which python, how many processes on this machine (and machines in all), threads, device. */
export interface TorchOptions {
  /** A python that imports torch and numpy (default: $RNNC_PYTHON, else python3). */
  readonly python?: string | undefined;
  /** Processes on this machine (torchrun's --nproc_per_node; default 1: no torchrun). */
  readonly nproc?: number | undefined;
  /** Machines in all, this one's rank among them, and the address and port of rank 0's (torchrun's static rendezvous). */
  readonly nnodes?: number | undefined;
  readonly nodeRank?: number | undefined;
  readonly master?: string | undefined;
  /** Threads per process (default: this machine's cores over its processes). */
  readonly threads?: number | undefined;
  /** `auto` (default): CUDA where torch sees it (nccl between processes), else the CPU (gloo). */
  readonly device?: "auto" | "cpu" | "cuda" | undefined;
}

export interface TorchSetup {
  readonly ir: ModelIR;
  readonly env: DimEnv;
  readonly settings: TrainSettings;
  /** Whether the trained output holds probabilities (cross-entropy then takes their log). */
  readonly probabilities: boolean;
  readonly masks: readonly MaskSpec[];
  readonly seed: number;
  readonly train: readonly DataExample[];
  readonly held: readonly DataExample[];
  readonly weights: ReadonlyMap<string, Tensor>;
  readonly options: TorchOptions;
  readonly explain?: (text: string) => void;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The python to run, checked: it must import torch and numpy (a coded error says how to get them). */
export function torchPythonOf(given: string | undefined): { python: string; torch: string; cuda: boolean } {
  const python = given ?? process.env["RNNC_PYTHON"] ?? "python3";
  const r = spawnSync(python, ["-c", "import numpy, torch; print(torch.__version__, torch.cuda.is_available())"], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) {
    const why = r.error ? `it cannot be run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})` : `it cannot import torch and numpy (${r.stderr.trim().split("\n").at(-1) ?? `exit ${r.status}`})`;
    throw new RnncError("RNN0611", `--engine torch runs python with torch, and '${python}' will not do: ${why}`, ["the torch engine runs rnnc's trainer (a Python file in the package) with PyTorch; nothing else is needed"],
      "install them (python3 -m venv .venv && .venv/bin/pip install torch numpy), then give --python .venv/bin/python or set RNNC_PYTHON");
  }
  const [torch = "?", cuda] = r.stdout.trim().split(/\s+/);
  return { python, torch, cuda: cuda === "True" };
}

function positive(v: number | undefined, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`${flag} must be a whole number ≥ 1, not ${v}`);
  return v;
}

/** Starts the trainer processes on the splits and weights given; the runner drives them. */
export async function startTorchEngine(s: TorchSetup): Promise<EpochRunner> {
  const l = await launch(s);
  try {
    const ready = await l.link.ready();
    s.explain?.(`engine: torch ${l.torch} (${l.python}): ${l.processes} process${l.processes > 1 ? "es" : ""}${l.nnodes > 1 ? ` on ${l.nnodes} machines` : ""}, ${l.threads} thread${l.threads > 1 ? "s" : ""} each, on ${String(ready["device"])}${l.cuda ? " (CUDA seen)" : ""}${l.processes > 1 ? `, DistributedDataParallel over ${String(ready["backend"])}` : ""}\n`);
    return new TorchEpochs(l.link, l.dir, l.server, l.child);
  } catch (e) {
    await l.link.close();
    l.server.close();
    rmSync(l.dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * On a machine of --node-rank 1 or more: its processes join rank 0's (on the --master machine), which drives the
 * training and writes the checkpoints; this waits until they end. Every machine runs the same command and data.
 */
export async function serveTorchEngine(s: TorchSetup, signal?: AbortSignal): Promise<void> {
  const l = await launch(s);
  // Ctrl-C here stops this machine's processes (their own process group); rank 0's run then reports them gone.
  const stop = () => l.link.kill();
  signal?.addEventListener("abort", stop);
  try {
    const code = await new Promise<number | null>((done) => { if (l.child.exitCode !== null) done(l.child.exitCode); else l.child.once("exit", (c) => done(c)); });
    if (signal?.aborted) return;
    if (code !== 0) throw l.link.failedWith(`this machine's trainer processes stopped (exit code ${code})`);
  } finally {
    signal?.removeEventListener("abort", stop);
    l.server.close();
    rmSync(l.dir, { recursive: true, force: true });
  }
}

interface Launched { dir: string; server: Server; child: ChildProcess; link: TrainerLink; python: string; torch: string; cuda: boolean; threads: number; processes: number; nnodes: number }

async function launch(s: TorchSetup): Promise<Launched> {
  const o = s.options;
  const nproc = positive(o.nproc, "--nproc", 1), nnodes = positive(o.nnodes, "--nnodes", 1);
  const nodeRank = o.nodeRank ?? 0;
  if (!Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= nnodes) throw new UsageError(`--node-rank must be a whole number from 0 to ${nnodes - 1}, not ${nodeRank}`);
  if (nnodes > 1 && !o.master) throw new UsageError("--nnodes N needs --master HOST:PORT: where rank 0's machine listens for the others (the same on every machine)");
  if (o.master && !/^[^\s:]+:\d{1,5}$/.test(o.master)) throw new UsageError(`--master must be HOST:PORT, not ${o.master}`);
  const threads = positive(o.threads, "--threads", Math.max(1, Math.floor(availableParallelism() / nproc)));
  const { python, torch, cuda } = torchPythonOf(o.python);
  const out = s.ir.outputs.find((x) => x.name === s.settings.output)!;
  const node = s.ir.nodes[out.node]!;
  const shape = concreteShape(node.shape, s.env, `output ${out.name}`);
  const dir = mkdtempSync(join(tmpdir(), "rnnc-torch-"));
  let server: Server | undefined;
  try {
    writeFileSync(join(dir, "model.py"), emitPytorch(s.ir, s.env, s.weights, "rnnc train --engine torch", "train", [out.name]).source);
    writeFileSync(join(dir, "data.bin"), encodeData(s.ir.inputs.filter((i) => !s.masks.some((m) => m.input === i.name)), s.env, targetLayoutOf(s.settings.loss, shape, node.seq !== undefined), { train: s.train, held: s.held }));
    // Layers the trained output does not reach get no gradients: DDP must be told to expect that.
    const usedLayers = new Set(reachable(s.ir.nodes, [out.node]).flatMap((n) => (n.attrs.layer ? [n.attrs.layer] : [])));
    const token = randomBytes(16).toString("hex");
    const listening = createServer();
    server = listening;
    await new Promise<void>((ok, fail) => { listening.once("error", fail); listening.listen(0, "127.0.0.1", ok); });
    const port = (listening.address() as { port: number }).port;
    const device = o.device ?? "auto";
    writeFileSync(join(dir, "config.json"), JSON.stringify({
      module: join(dir, "model.py"), data: join(dir, "data.bin"), port, token, output: out.name, loss: s.settings.loss, blank: s.settings.blank ?? 0,
      probabilities: s.probabilities, optimizer: s.settings.optimizer, lr: s.settings.learningRate, clip: s.settings.clipNorm ?? null, weightDecay: s.settings.weightDecay ?? 0,
      masks: s.masks.map((m, k) => ({ input: m.input, rate: m.rate, shape: concreteShape(m.shape, s.env, `dropout mask ${k}`), stepsOf: m.stepsOf ?? null, perStep: m.perStep })),
      seed: s.seed, threads, device, findUnused: s.ir.layers.some((l) => !usedLayers.has(l.name)),
    }));
    const trainer = join(here, "trainer.py");
    const distributed = nproc > 1 || nnodes > 1;
    const args = distributed
      ? ["-m", "torch.distributed.run", "--nproc_per_node", String(nproc), ...(nnodes > 1 ? ["--nnodes", String(nnodes), "--node_rank", String(nodeRank), "--master_addr", o.master!.split(":")[0]!, "--master_port", o.master!.split(":")[1]!] : ["--standalone"]), trainer, join(dir, "config.json")]
      : [trainer, join(dir, "config.json")];
    // Its own process group: Ctrl-C reaches rnnc, which stops the trainers between batches (a checkpoint is never half-written).
    const child = spawn(python, args, { detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, OMP_NUM_THREADS: String(threads), PYTHONUNBUFFERED: "1" } });
    return { dir, server: listening, child, link: new TrainerLink(listening, child, token), python, torch, cuda, threads, processes: nproc * nnodes, nnodes };
  } catch (e) {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

class TorchEpochs implements EpochRunner {
  private snapshot: { params: Map<string, Tensor>; optimizer: OptimizerState } | undefined;

  constructor(private readonly link: TrainerLink, private readonly dir: string, private readonly server: Server, private readonly child: ChildProcess) {}

  async trainEpoch(plan: EpochPlan, onBatch: (k: number, loss: number, size: number) => Promise<void>, aborted: () => boolean): Promise<void> {
    this.snapshot = undefined;
    await this.link.request({ cmd: "train", batches: plan.batches, lrs: plan.lrs, accumulate: plan.accumulate }, async (m) => {
      if (aborted()) { this.link.kill(); return; }
      await onBatch(m["batch"] as number, m["loss"] as number, m["size"] as number);
    }, aborted);
  }

  async evaluate(size: number): Promise<{ loss: number; metric: number }> {
    const r = await this.link.request({ cmd: "evaluate", size });
    return { loss: r["loss"] as number, metric: r["metric"] as number };
  }

  private async read(): Promise<{ params: Map<string, Tensor>; optimizer: OptimizerState }> {
    if (this.snapshot) return this.snapshot;
    const path = join(this.dir, "params.bin");
    await this.link.request({ cmd: "params", path });
    this.snapshot = readParams(readFileSync(path));
    return this.snapshot;
  }

  async params(): Promise<Map<string, Tensor>> {
    return new Map((await this.read()).params);
  }

  async optimizerState(): Promise<OptimizerState> {
    return (await this.read()).optimizer;
  }

  async restoreOptimizer(state: OptimizerState): Promise<boolean> {
    this.snapshot = undefined;
    return (await this.link.request({ cmd: "restore", state }))["restored"] === true;
  }

  async dispose(): Promise<void> {
    await this.link.close();
    this.server.close();
    if (this.child.exitCode === null) this.link.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** trainer.py's params file: a u32 header length, the header (params and optimizer slots named, scalars inline), float32 arrays in its order. */
function readParams(bytes: Buffer): { params: Map<string, Tensor>; optimizer: OptimizerState } {
  const size = bytes.readUInt32LE(0);
  const header = JSON.parse(bytes.subarray(4, 4 + size).toString("utf8")) as { params: { name: string; shape: number[] }[]; optimizer: { name: string; weights: { name: string; shape: number[]; data?: number[] }[] } };
  let at = 4 + size;
  const next = (shape: readonly number[]): Float32Array => {
    const n = shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = bytes.readFloatLE(at + 4 * i);
    at += 4 * n;
    return out;
  };
  const params = new Map(header.params.map((p) => [p.name, { shape: p.shape, data: next(p.shape) }] as const));
  const weights = header.optimizer.weights.map((w) => ({ name: w.name, shape: w.shape, data: w.data ?? Array.from(next(w.shape)) }));
  return { params, optimizer: { name: header.optimizer.name, weights } };
}
