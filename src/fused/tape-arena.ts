// A training forward pass's tape pinned in the kernel memory: written there step by step, read there by the backward pass.
import type { NodeId } from "../ir/ir.js";
import { kernelMemory } from "./kernel-memory.js";

/** Floats of kernel memory tapes may hold at most (past it a tape's values go to ordinary arrays). */
const TAPE_LIMIT = 1 << 25;

/** Where a tape's values live: each state's T blocks and each per-step saved value's, in one pinned region. */
export interface TapePlaces {
  readonly at: number;
  readonly history: ReadonlyMap<string, number>;
  readonly saved: ReadonlyMap<NodeId, number>;
}

/** A tape that is dropped without its backward pass still gives its region back, when it is collected. */
const unpinOnCollect = new FinalizationRegistry<number>((at) => kernelMemory()?.unpin(at));

/**
 * A pinned region for a tape of `states` and per-step `saved` values (floats per row each) over T steps of B rows, or
 * undefined (no WebAssembly, or no room): call right after the call's kernel memory starts over.
 */
export function pinTape(owner: object, states: readonly { readonly name: string; readonly size: number }[], saved: readonly { readonly id: NodeId; readonly size: number }[], T: number, B: number): TapePlaces | undefined {
  const mem = kernelMemory();
  const blocks = [...states.map((s) => s.size), ...saved.map((s) => s.size)].map((size) => Math.ceil((T * B * size) / 4) * 4);
  const total = blocks.reduce((a, b) => a + b, 0);
  if (!mem || total === 0) return undefined;
  const at = mem.pin(total, TAPE_LIMIT);
  if (at === undefined) return undefined;
  unpinOnCollect.register(owner, at, owner);
  let next = at;
  const take = (k: number) => { const p = next; next += blocks[k]!; return p; };
  const history = new Map(states.map((s, k) => [s.name, take(k)]));
  const savedAt = new Map(saved.map((s, k) => [s.id, take(states.length + k)]));
  return { at, history, saved: savedAt };
}

/** Gives a tape's region back (its backward pass has read it). */
export function unpinTape(owner: object, at: number): void {
  unpinOnCollect.unregister(owner);
  kernelMemory()?.unpin(at);
}
