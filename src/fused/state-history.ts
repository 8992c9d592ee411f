// Each state's value at every step of one forward call, in the kernel memory: the next step's product and loops read it in place.
import { kernelMemory } from "./kernel-memory.js";
import { inPlace, spread, type SpareArrays } from "./scan-buffers.js";
import { HEAP_VALUES_LIMIT, rowsAt, viewOf, type Place, type Rows } from "./slots.js";

export class StateHistory {
  /** Per state: where its T blocks of B rows start, and where its initial state is (offsets, or arrays where there is no room). */
  private readonly at = new Map<string, { readonly steps: Place; readonly init: Place; readonly size: number }>();

  /** `pinned`: each state's T blocks where a tape keeps them (tape-arena.ts); otherwise taken for the call. */
  constructor(states: readonly { readonly name: string; readonly size: number }[], private readonly T: number, private readonly B: number, init: ReadonlyMap<string, Float32Array>, pinned?: ReadonlyMap<string, number>) {
    const mem = kernelMemory();
    const total = states.reduce((n, s) => n + (T + 1) * B * s.size, 0);
    const room = mem !== undefined && mem.top + total <= HEAP_VALUES_LIMIT;
    for (const s of states) {
      const steps = pinned?.get(s.name) ?? (room ? mem!.alloc(T * B * s.size) : new Float32Array(T * B * s.size));
      const start = room ? mem!.alloc(B * s.size) : new Float32Array(B * s.size);
      viewOf(start, B * s.size).set(init.get(s.name)!);
      this.at.set(s.name, { steps, init: start, size: s.size });
    }
  }

  /** Where step s's block of B rows is (s < 0: the initial state). */
  place(name: string, s: number): Place {
    const a = this.at.get(name)!;
    if (s < 0) return a.init;
    const off = s * this.B * a.size;
    return typeof a.steps === "number" ? a.steps + off : a.steps.subarray(off, off + this.B * a.size);
  }

  /** Step s's first R rows as a value, read where it is. */
  read(name: string, s: number, R: number, shape: readonly number[]): Rows {
    return rowsAt(this.place(name, s), R * this.at.get(name)!.size, shape, false, R);
  }

  /** Step s's new state: rows that ran from `u` (unless the loop wrote it in place), the others as they were at step s − 1. */
  write(name: string, s: number, R: number, u: Rows | undefined): void {
    const size = this.at.get(name)!.size, B = this.B;
    const here = this.place(name, s);
    const view = viewOf(here, B * size), prev = viewOf(this.place(name, s - 1), B * size);
    if (u && R > 0 && !inPlace(u, here)) view.set(spread(u, R).subarray(0, R * size));
    if (R < B) view.set(prev.subarray(R * size, B * size), R * size);
  }

  /** Step s's block as an array of its own. */
  copyOf(name: string, s: number): Float32Array {
    return new Float32Array(viewOf(this.place(name, s), this.B * this.at.get(name)!.size));
  }

  /** Where each state's T blocks are. */
  places(): Map<string, Place> {
    return new Map([...this.at].map(([name, a]) => [name, a.steps]));
  }

  /** Every state's T blocks copied out of the kernel memory (a tape outlives the call), into spare arrays. */
  arrays(spare: SpareArrays): Map<string, Float32Array> {
    return new Map([...this.at].map(([name, a]) => {
      const out = spare.take(this.T * this.B * a.size);
      out.set(viewOf(a.steps, out.length));
      return [name, out] as const;
    }));
  }
}
