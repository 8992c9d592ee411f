// WebAssembly for the fused kernels: the part of its API they use, and a kernel memory whose float view is kept.

/** The part of the WebAssembly API used here (the compiler's libraries do not declare it). */
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
const WA = (globalThis as unknown as {
  WebAssembly?: {
    Memory: new (d: { initial: number }) => WasmMemory;
    Module: new (bytes: Uint8Array) => object;
    Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
  };
}).WebAssembly;

/** A memory kernels import as `m.mem`, grown as they need; one Float32Array over it, made again only when it grows. */
export class KernelMemory {
  private readonly memory: WasmMemory;
  private view = new Float32Array(0);

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

  /** Instantiates a module (built by oneFunctionModule) over this memory and returns its function `name`. */
  instantiate<F>(bytes: Uint8Array, name: string): F {
    return new WA!.Instance(new WA!.Module(bytes), { m: { mem: this.memory } }).exports[name] as F;
  }
}
