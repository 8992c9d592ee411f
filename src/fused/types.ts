// The fused scan's values as they pass between the kernel, the tfjs op and the helper thread.
import type { CellIR, NodeId } from "../ir/ir.js";
import type { DimEnv } from "../runtime/dims.js";
import type { Place, Rows } from "./slots.js";
import type { SpareArrays } from "./scan-buffers.js";

/** One run of a scan: inputs time-major ([T*B*size] each, token ids as floats), optional initial states ([B*size] each). */
export interface ScanRun {
  readonly T: number;
  readonly B: number;
  readonly xs: readonly Float32Array[];
  readonly init?: ReadonlyMap<string, Float32Array>;
  /** Each example's length (steps at or after it leave the states as they are and output 0). */
  readonly lengths?: readonly number[];
  readonly reverse?: boolean;
  /**
   * By input: for one read whole (attention over a sequence), given time-major [S·B·size] like the stepped ones, its
   * steps S (a dim of the kernel) and each example's length (positions past it are padding, left out); else undefined.
   */
  readonly wholes?: readonly (WholeSpan | undefined)[];
  /** Arrays the outputs may be written into (the caller gives them back when they are dead). */
  readonly buffers?: SpareArrays;
}

/** A sequence a cell reads whole: its padded length and each example's own. */
export interface WholeSpan { readonly S: number; readonly lengths: readonly number[] }

/** What the forward pass keeps for the backward pass. */
export interface Tape {
  readonly run: ScanRun;
  /** Per state: its value after each processed step s (processing order), [T*B*size]: in `pinned` (an offset) or an array. */
  readonly history: ReadonlyMap<string, Place>;
  readonly init: ReadonlyMap<string, Float32Array>;
  /** Hoisted values (all steps, absolute time) and per-step values (processing order) the VJP reads, by step node. */
  readonly saved: ReadonlyMap<NodeId, { readonly data: Place; readonly hoisted: boolean; readonly perSequence?: boolean }>;
  /** The inputs read whole, batch first [B·size] (the forward pass's copies), by input index. */
  readonly wholeXs?: ReadonlyMap<number, Float32Array>;
  /** The kernel memory region the values above are pinned in (tape-arena.ts), given back by the backward pass. */
  readonly pinned?: number;
  /**
   * The forward pass's values computed from params alone (stacked and transposed weights), by what they compute:
   * the backward pass's own such values that compute the same are taken from here instead of computed again.
   */
  readonly statics?: Map<string, Rows>;
  /** Set when the batch was split between two threads (parallel.ts): this tape's values are those of the first rows. */
  readonly split?: SplitTape;
  /** Set when the rows were put longest first for the run (length-order.ts): the tape of that run, and the order. */
  readonly sorted?: { readonly order: Int32Array; readonly tape: Tape };
}

export interface ScanOutput {
  /** Every cell output, [T*B*size] in time order (0 on steps past an example's length). */
  readonly ys: readonly Float32Array[];
  /** Every state after the last step, [B*size]. */
  readonly finals: ReadonlyMap<string, Float32Array>;
  readonly tape: Tape;
}

export interface ScanGradients {
  readonly dxs: readonly (Float32Array | undefined)[];
  readonly dInit: ReadonlyMap<string, Float32Array>;
  readonly dParams: ReadonlyMap<string, Float32Array>;
}

/** The part of a tape that says the batch was split: rows from `at` on ran on the helper, which keeps their tape. */
export interface SplitTape { readonly at: number; readonly helperTape: number; readonly local: Tape }

/** What the helper thread's job server needs of a kernel. */
export interface ScanKernel {
  readonly cell: CellIR;
  readonly env: DimEnv;
  /** Which inputs' gradients the backward pass computes (undefined: every float input's). */
  readonly inputGradients?: readonly boolean[] | undefined;
  forward(params: ReadonlyMap<string, Float32Array>, run: ScanRun, training?: boolean): ScanOutput;
  backward(params: ReadonlyMap<string, Float32Array>, tape: Tape, dys: readonly (Float32Array | undefined)[], dFinals: ReadonlyMap<string, Float32Array>, borrow?: boolean): ScanGradients;
  /** Gives back a tape no backward pass will read. */
  discard(tape: Tape): void;
}
