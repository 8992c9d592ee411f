// WebAssembly for the fused kernels: the part of its API they use, and the one kernel memory of a thread, handed out as a stack.

/** The part of the WebAssembly API used here (the compiler's libraries do not declare it). */
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
const WA = (globalThis as unknown as {
  WebAssembly?: {
    Memory: new (d: { initial: number }) => WasmMemory;
    Module: new (bytes: Uint8Array) => object;
    Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
    validate(bytes: Uint8Array): boolean;
  };
}).WebAssembly;

/**
 * A memory kernels import as `m.mem`, grown as they need; one Float32Array over it, made again only when it grows.
 * Its floats are handed out from the bottom up (`alloc`), given back to a mark (`release`), all at once by `reset`.
 * Growing detaches every view made before: keep offsets (`at`), and take views after the last allocation.
 */
export class KernelMemory {
  private readonly memory: WasmMemory;
  private view = new Float32Array(0);
  /** Floats in use, from 0. */
  top = 0;
  /** Floats below the stack held by regions that outlive a call (pin): `release` never goes below it. */
  private base = 0;
  private readonly pinned: { readonly at: number; readonly end: number; free: boolean }[] = [];

  /** Throws where there is no WebAssembly. */
  constructor() {
    if (!WA) throw new Error("no WebAssembly");
    this.memory = new WA.Memory({ initial: 16 });
  }

  /** The memory as floats, with room for at least `floats` of them. */
  floats(floats: number): Float32Array {
    const have = this.memory.buffer.byteLength;
    if (have < 4 * floats) this.memory.grow(Math.ceil((4 * floats - have) / 65536));
    if (this.view.buffer !== this.memory.buffer) this.view = new Float32Array(this.memory.buffer);
    return this.view;
  }

  /** `floats` floats from the top (16-byte aligned): their offset, in floats. */
  alloc(floats: number): number {
    const at = Math.ceil(this.top / 4) * 4;
    this.top = at + floats;
    this.floats(this.top);
    return at;
  }

  /** Gives back everything allocated since `mark` (a value of `top`), down to the pinned regions at most. */
  release(mark: number): void {
    this.top = Math.max(mark, this.base);
  }

  /**
   * `floats` floats kept past the calls that follow, until `unpin` (a tape read by a later backward pass); undefined
   * when the stack holds anything (pin before the call allocates) or the region would end past `limit`.
   */
  pin(floats: number, limit: number): number | undefined {
    if (this.top !== this.base) return undefined;
    const at = Math.ceil(this.base / 4) * 4;
    if (at + floats > limit) return undefined;
    this.base = this.top = at + floats;
    this.floats(this.top);
    this.pinned.push({ at, end: this.base, free: false });
    return at;
  }

  /** Gives a pinned region back; the stack's floor comes down past every free region at the top. */
  unpin(at: number): void {
    const p = this.pinned.find((x) => x.at === at && !x.free);
    if (!p) return;
    p.free = true;
    while (this.pinned.length && this.pinned[this.pinned.length - 1]!.free) this.pinned.pop();
    this.base = this.pinned.length ? this.pinned[this.pinned.length - 1]!.end : 0;
  }

  /** The memory as floats (valid until the next allocation that grows it). */
  get heap(): Float32Array {
    return this.floats(0);
  }

  /** Where `a` starts in this memory (in floats) when it is a view of it (its current buffer), else undefined. */
  offsetOf(a: Float32Array): number | undefined {
    return a.buffer === this.memory.buffer ? a.byteOffset / 4 : undefined;
  }

  /** Instantiates a module (built by oneFunctionModule) over this memory and returns its function `name`. */
  instantiate<F>(bytes: Uint8Array, name: string): F {
    return new WA!.Instance(new WA!.Module(bytes), { m: { mem: this.memory } }).exports[name] as F;
  }
}

/** A module using f32x4.relaxed_madd: (func (param v128 v128 v128) (result v128) (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))). */
const RELAXED_MADD_MODULE = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b, 3, 2, 1, 0, 10, 13, 1, 11, 0, 0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x85, 0x02, 0x0b]);

/** Whether this engine runs relaxed SIMD (browsers and Node 22 ship it; Node 20 behind a flag, which `rnnc` sets). */
export const relaxedSimdAvailable = (): boolean => WA?.validate(RELAXED_MADD_MODULE) === true;

let shared: KernelMemory | null | undefined;
/** The memory every kernel of this thread works in (products and fused loops alike), or undefined without WebAssembly. */
export function kernelMemory(): KernelMemory | undefined {
  if (shared === undefined) {
    try {
      shared = new KernelMemory();
    } catch {
      shared = null;
    }
  }
  return shared ?? undefined;
}
