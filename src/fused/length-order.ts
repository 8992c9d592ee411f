// Examples longest first: a scan then computes, at each step, only the rows still running (PyTorch's packed sequences).
import { copyFloats, type SpareArrays } from "./scan-buffers.js";
import type { ScanGradients, ScanOutput, ScanRun, Tape } from "./types.js";

/** The order of the rows by length, longest first (stable), or undefined when they are in that order already (or have no lengths). */
export function longestFirst(lengths: readonly number[] | undefined): Int32Array | undefined {
  if (!lengths || nonIncreasing(lengths)) return undefined;
  return Int32Array.from(lengths.map((_, b) => b).sort((a, b) => lengths[b]! - lengths[a]! || a - b));
}

export function nonIncreasing(lengths: readonly number[]): boolean {
  for (let b = 1; b < lengths.length; b++) if (lengths[b]! > lengths[b - 1]!) return false;
  return true;
}

/** How many rows run at step t: with lengths longest first, the first ones, those of length > t (all B without lengths). */
export function runningRows(lengths: readonly number[] | undefined, B: number, t: number): number {
  if (!lengths) return B;
  let n = 0;
  while (n < B && lengths[n]! > t) n++;
  return n;
}

/** Each step's rows of a time-major [T·B·size] array in `order`: row i of a step is row order[i] of that step in `a`. */
export const permuteRows = (a: Float32Array, order: Int32Array, T: number, out?: Float32Array): Float32Array => moveRows(a, order, T, true, out);

/** The inverse of permuteRows: row order[i] of each step is row i of that step in `a`. */
export const unpermuteRows = (a: Float32Array, order: Int32Array, T: number): Float32Array => moveRows(a, order, T, false);

function moveRows(a: Float32Array, order: Int32Array, T: number, gather: boolean, out: Float32Array = new Float32Array(a.length)): Float32Array {
  const B = order.length, size = a.length / (T * B || 1);
  for (let t = 0; t < T; t++)
    for (let i = 0; i < B; i++) {
      const from = (t * B + (gather ? order[i]! : i)) * size, to = (t * B + (gather ? i : order[i]!)) * size;
      copyFloats(a, from, out, to, size);
    }
  return out;
}

/** A run with its rows in `order` (inputs, initial states, lengths). */
export function sortedRun(run: ScanRun, order: Int32Array): ScanRun {
  const { T } = run;
  return { ...run, xs: run.xs.map((x, k) => permuteRows(x, order, run.wholes?.[k]?.S ?? T)), lengths: Array.from(order, (b) => run.lengths![b]!),
    ...(run.wholes ? { wholes: run.wholes.map((w) => w && { S: w.S, lengths: Array.from(order, (b) => w.lengths[b]!) }) } : {}),
    ...(run.init ? { init: new Map([...run.init].map(([k, x]) => [k, permuteRows(x, order, 1)])) } : {}) };
}

/** The output of a sorted run in the caller's order; its tape remembers the order for the backward pass. */
export function unsortedOutput(run: ScanRun, order: Int32Array, inner: ScanOutput): ScanOutput {
  return {
    ys: inner.ys.map((y) => unpermuteRows(y, order, run.T)),
    finals: new Map([...inner.finals].map(([k, x]) => [k, unpermuteRows(x, order, 1)])),
    tape: { ...inner.tape, run, sorted: { order, tape: inner.tape } },
  };
}

/** A forward pass over the rows longest first, put back in the caller's order (the sorted outputs, dead, go to `spare`). */
export function sortedForward(run: ScanRun, order: Int32Array, forward: (run: ScanRun) => ScanOutput, spare?: SpareArrays): ScanOutput {
  const inner = forward(sortedRun(run, order));
  const out = unsortedOutput(run, order, inner);
  if (spare) for (const y of inner.ys) spare.give(y); // no tape reads a scan's outputs
  return out;
}

type Backward = (tape: Tape, dys: readonly (Float32Array | undefined)[], dFinals: ReadonlyMap<string, Float32Array>) => ScanGradients;

/** The backward pass of a sorted run's tape: the upstream gradients put in its order, the gradients back in the caller's. */
export function sortedGradients(tape: Tape, dys: readonly (Float32Array | undefined)[], dFinals: ReadonlyMap<string, Float32Array>, backward: Backward, spare?: SpareArrays): ScanGradients {
  const { order, tape: inner } = tape.sorted!;
  const T = tape.run.T;
  // The gradients in sorted order are dead once put back in the caller's: their arrays go back to `spare`.
  const sortedDys = dys.map((d) => d && permuteRows(d, order, T, spare?.take(d.length)));
  const g = backward(inner, sortedDys, new Map([...dFinals].map(([k, d]) => [k, permuteRows(d, order, 1)])));
  const out = { dxs: g.dxs.map((d, k) => d && unpermuteRows(d, order, tape.run.wholes?.[k]?.S ?? T)), dInit: new Map([...g.dInit].map(([k, d]) => [k, unpermuteRows(d, order, 1)])), dParams: g.dParams };
  if (spare) for (const d of [...sortedDys, ...g.dxs]) if (d) spare.give(d);
  return out;
}

const NONE: readonly (readonly [number, number, number, number])[] = [];

/**
 * The backward pass at step s (processing order) of a run longest first: the rows whose padding ends there, as
 * [from, to, b0, b1]: their state's gradient at step `from` goes to step `to` (−1: the initial state). A padded step
 * keeps a row's state, so nothing changes the gradient on the way: a row that ended early takes the final states'
 * gradient to its last step; a reverse scan's row (padded first) takes its first step's to the initial state.
 */
export function paddingCarries(run: ScanRun, s: number, ran: readonly number[]): readonly (readonly [number, number, number, number])[] {
  const { T, B, lengths } = run;
  if (!lengths) return NONE;
  if (!run.reverse) {
    const upTo = s > 0 ? ran[s - 1]! : B; // rows [ran[s], upTo) end at step s − 1
    return ran[s]! < upTo ? [[T - 1, s - 1, ran[s]!, upTo]] : NONE;
  }
  if (s > 0) return NONE;
  const out: [number, number, number, number][] = [];
  for (let b1 = B; b1 > 0 && lengths[b1 - 1]! < T;) {
    const L = lengths[b1 - 1]!;
    let b0 = b1;
    while (b0 > 0 && lengths[b0 - 1] === L) b0--;
    out.push([T - 1 - L, -1, b0, b1]);
    b1 = b0;
  }
  return out;
}

/** Rows b0 … b1−1 of each [size, from, to]: `to` += `from`. */
export function carryRows(states: readonly [number, Float32Array, Float32Array][], b0: number, b1: number): void {
  for (const [size, from, to] of states) for (let i = b0 * size; i < b1 * size; i++) to[i] += from[i]!;
}
