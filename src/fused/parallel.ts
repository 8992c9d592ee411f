// Two cores for one fused scan: the batch split in two, the second half run by a helper thread with its own kernel.
import type { CellIR } from "../ir/ir.js";
import type { DimEnv } from "../runtime/dims.js";
import type { ScanGradients, ScanKernel, ScanOutput, ScanRun, SplitTape, Tape } from "./types.js";

/**
 * A helper thread as the kernels see it: one job at a time, posted and then waited for (the caller blocks; the
 * platform side, src/node/scan-helper.ts, does so with Atomics.wait). `wait` throws if the helper has stopped.
 */
export interface ScanHelper {
  post(job: Job): void;
  wait(): Reply;
}

export type Job =
  | { readonly kind: "kernel"; readonly id: number; readonly cell: CellIR; readonly env: readonly (readonly [string, number])[]; readonly inputGradients?: readonly boolean[] }
  | { readonly kind: "forward"; readonly id: number; readonly tape: number; readonly params: Params; readonly run: PlainRun; readonly training: boolean }
  | { readonly kind: "backward"; readonly id: number; readonly tape: number; readonly params: Params; readonly dys: readonly (Float32Array | undefined)[]; readonly dFinals: Params };

export type Reply =
  | { readonly error: string }
  | { readonly ready: true }
  | { readonly ys: readonly Float32Array[]; readonly finals: Params }
  | { readonly dxs: readonly (Float32Array | undefined)[]; readonly dInit: Params; readonly dParams: Params };

type Params = readonly (readonly [string, Float32Array])[];
type PlainRun = Omit<ScanRun, "init"> & { readonly init?: Params };

let helper: ScanHelper | undefined;
/** Installs (or, with undefined, removes) the helper thread every fused scan splits its batch with. */
export function setScanHelper(h: ScanHelper | undefined): void {
  helper = h;
}
export const scanHelper = (): ScanHelper | undefined => helper;

/**
 * A scan is split when its batch has at least MIN_SPLIT_ROWS rows and T·B is at least MIN_SPLIT_WORK: each side pays
 * a fixed cost per call (weights laid out, the hand-off), which short scans do not repay. Measured on this 2-core
 * machine (LSTM, I64 H128, B32): T=10 runs 11 ms on one thread and 14 ms split; T=30 about even; T=100 1.6× faster split.
 */
export const MIN_SPLIT_ROWS = 8;
export const MIN_SPLIT_WORK = 2048;
export const splits = (run: { readonly T: number; readonly B: number; readonly wholes?: readonly unknown[] }): boolean => !run.wholes?.some((w) => w) && run.B >= MIN_SPLIT_ROWS && run.T * run.B >= MIN_SPLIT_WORK;

const kernelIds = new WeakMap<ScanKernel, number>();
let nextKernel = 1, nextTape = 1;

/** The helper's reply to the job it was given, or its failure as an internal error. */
function answer(h: ScanHelper): Exclude<Reply, { error: string }> {
  const r = h.wait();
  if ("error" in r) throw new Error(`internal: the kernel helper thread failed: ${r.error}`);
  return r;
}

/** The kernel's id on the helper, sending its cell the first time. */
function kernelOn(h: ScanHelper, k: ScanKernel): number {
  let id = kernelIds.get(k);
  if (id === undefined) {
    kernelIds.set(k, (id = nextKernel++));
    h.post({ kind: "kernel", id, cell: k.cell, env: [...k.env], ...(k.inputGradients ? { inputGradients: k.inputGradients } : {}) });
    answer(h);
  }
  return id;
}

/** Rows [b0, b1) of a time-major [T·B·size] array (or [B·size] with T = 1). */
export function rowsOf(a: Float32Array, T: number, B: number, b0: number, b1: number): Float32Array {
  const size = a.length / (T * B), n = b1 - b0;
  const out = new Float32Array(T * n * size);
  for (let t = 0; t < T; t++) out.set(a.subarray((t * B + b0) * size, (t * B + b1) * size), t * n * size);
  return out;
}

/** The inverse: rows [0, at) from `a`, [at, B) from `b`, step by step. */
export function joinRows(a: Float32Array, b: Float32Array, T: number, at: number, B: number): Float32Array {
  const size = (a.length + b.length) / (T * B);
  const out = new Float32Array(a.length + b.length);
  for (let t = 0; t < T; t++) {
    out.set(a.subarray(t * at * size, (t + 1) * at * size), t * B * size);
    out.set(b.subarray(t * (B - at) * size, (t + 1) * (B - at) * size), (t * B + at) * size);
  }
  return out;
}

/** A run's rows [b0, b1) as a run of its own. */
function subRun(run: ScanRun, b0: number, b1: number): ScanRun {
  return {
    T: run.T, B: b1 - b0, xs: run.xs.map((x) => rowsOf(x, run.T, run.B, b0, b1)), ...(run.reverse ? { reverse: true } : {}),
    ...(run.init ? { init: new Map([...run.init].map(([n, v]) => [n, rowsOf(v, 1, run.B, b0, b1)])) } : {}),
    ...(run.lengths ? { lengths: run.lengths.slice(b0, b1) } : {}),
  };
}

/** The forward pass with the batch split: the first half here, the second on the helper, at the same time. */
export function splitForward(k: ScanKernel, h: ScanHelper, params: ReadonlyMap<string, Float32Array>, run: ScanRun, training: boolean, local: (run: ScanRun) => ScanOutput): ScanOutput {
  const at = Math.ceil(run.B / 2);
  const id = kernelOn(h, k);
  const tape = nextTape++;
  const theirs = subRun(run, at, run.B);
  const { init, ...rest } = theirs;
  h.post({ kind: "forward", id, tape, params: [...params], run: { ...rest, ...(init ? { init: [...init] } : {}) }, training });
  const mine = local(subRun(run, 0, at));
  const r = answer(h);
  if (!("ys" in r)) throw new Error("internal: the kernel helper answered a forward pass with gradients");
  const finals = new Map(r.finals);
  const split: SplitTape = { at, helperTape: tape, local: mine.tape };
  return {
    ys: mine.ys.map((y, i) => joinRows(y, r.ys[i]!, run.T, at, run.B)),
    finals: new Map([...mine.finals].map(([n, v]) => [n, joinRows(v, finals.get(n)!, 1, at, run.B)])),
    tape: { ...mine.tape, run, split },
  };
}

/** The backward pass of a split forward: each side its own rows, the parameter gradients summed. */
export function splitBackward(
  k: ScanKernel, h: ScanHelper, params: ReadonlyMap<string, Float32Array>, split: SplitTape, run: ScanRun, dys: readonly (Float32Array | undefined)[],
  dFinals: ReadonlyMap<string, Float32Array>, local: (tape: Tape, dys: readonly (Float32Array | undefined)[], dFinals: ReadonlyMap<string, Float32Array>) => ScanGradients,
): ScanGradients {
  const { at } = split;
  const part = (b0: number, b1: number) => ({
    dys: dys.map((d) => (d ? rowsOf(d, run.T, run.B, b0, b1) : undefined)),
    dFinals: new Map([...dFinals].map(([n, d]) => [n, rowsOf(d, 1, run.B, b0, b1)])),
  });
  const theirs = part(at, run.B);
  h.post({ kind: "backward", id: kernelOn(h, k), tape: split.helperTape, params: [...params], dys: theirs.dys, dFinals: [...theirs.dFinals] });
  const ours = part(0, at);
  const mine = local(split.local, ours.dys, ours.dFinals);
  const r = answer(h);
  if (!("dParams" in r)) throw new Error("internal: the kernel helper answered a backward pass with outputs");
  const dInit = new Map(r.dInit), dParams = new Map(r.dParams);
  return {
    dxs: mine.dxs.map((d, i) => (d ? joinRows(d, r.dxs[i]!, run.T, at, run.B) : undefined)),
    dInit: new Map([...mine.dInit].map(([n, d]) => [n, joinRows(d, dInit.get(n)!, 1, at, run.B)])),
    dParams: new Map([...mine.dParams].map(([n, d]) => {
      const o = dParams.get(n)!;
      const sum = new Float32Array(d);
      for (let i = 0; i < sum.length; i++) sum[i] += o[i]!;
      return [n, sum];
    })),
  };
}

/** The helper's side: its kernels and the tapes of the forward passes whose backward pass has not come yet. */
export function scanJobServer(make: (cell: CellIR, env: DimEnv, inputGradients?: readonly boolean[]) => ScanKernel): (job: Job) => Reply {
  const kernels = new Map<number, ScanKernel>();
  const tapes = new Map<number, { readonly k: ScanKernel; readonly tape: Tape }>();
  // Tapes kept at most (the oldest go first): a forward pass's backward pass may never come; one that does reads it once.
  const KEEP = 8;
  return (job) => {
    if (job.kind === "kernel") {
      kernels.set(job.id, make(job.cell, new Map(job.env), job.inputGradients));
      return { ready: true };
    }
    const k = kernels.get(job.id);
    if (!k) return { error: `no kernel ${job.id}` };
    const params = new Map(job.params);
    if (job.kind === "forward") {
      const { init, ...rest } = job.run;
      const run: ScanRun = { ...rest, ...(init ? { init: new Map(init) } : {}) };
      const out = k.forward(params, run, job.training);
      if (job.training) {
        tapes.set(job.tape, { k, tape: out.tape });
        for (const [old, t] of tapes) if (tapes.size > KEEP) {
          tapes.delete(old);
          t.k.discard(t.tape); // its buffers and pinned region given back now
        }
      }
      return { ys: out.ys, finals: [...out.finals] };
    }
    const tape = tapes.get(job.tape)?.tape;
    if (!tape) return { error: `no tape ${job.tape} (its forward pass was not for training, or is too old)` };
    const g = k.backward(params, tape, job.dys, new Map(job.dFinals));
    tapes.delete(job.tape); // read once
    return { dxs: g.dxs, dInit: [...g.dInit], dParams: [...g.dParams] };
  };
}
