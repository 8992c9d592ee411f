// Adam's update in WebAssembly SIMD, four weights an instruction; the moments live in a memory of their own between steps.
import { ADAM } from "../runtime/training.js";
import { block, br, br_if, end, I32, i32add, i32c, i32ge_u, lget, loop, lset, oneFunctionModule, simd, V128, v128load, v128load32splat, v128store } from "../runtime/wasm-encoding.js";
import { KernelMemory } from "./kernel-memory.js";

const f32x4 = { sqrt: simd(0xe3), add: simd(0xe4), sub: simd(0xe5), mul: simd(0xe6), div: simd(0xe7) };

// adam(end, w, g, m, v, c): byte offsets; c holds the constants below as floats; w, g, m, v run from 0 to `end` bytes.
const [END, W, G, M, V, C, P] = [0, 1, 2, 3, 4, 5, 6];
const CONSTANTS = ["scale", "b1", "k1", "b2", "k2", "step", "r2", "eps"] as const;
const K = Object.fromEntries(CONSTANTS.map((name, k) => [name, 7 + k])) as Record<(typeof CONSTANTS)[number], number>;
const [GI, MI, VI] = [15, 16, 17];
const at = (base: number) => [...lget(base), ...lget(P), i32add];

/** The same arithmetic as optimizers.ts' adam, in float32: m, v ← β·m + (1−β)·g…, w ← w − step·m / (√(v·r2) + ε). */
const ADAM_BODY = [
  ...CONSTANTS.flatMap((name, k) => [...lget(C), ...v128load32splat(4 * k), ...lset(K[name])]),
  ...i32c(0), ...lset(P),
  block, 0x40, loop, 0x40,
  ...lget(P), ...lget(END), i32ge_u, br_if, 1,
  ...at(G), ...v128load(0), ...lget(K.scale), ...f32x4.mul, ...lset(GI),
  ...at(M), ...v128load(0), ...lget(K.b1), ...f32x4.mul, ...lget(K.k1), ...lget(GI), ...f32x4.mul, ...f32x4.add, ...lset(MI),
  ...at(M), ...lget(MI), ...v128store(0),
  ...at(V), ...v128load(0), ...lget(K.b2), ...f32x4.mul, ...lget(K.k2), ...lget(GI), ...f32x4.mul, ...lget(GI), ...f32x4.mul, ...f32x4.add, ...lset(VI),
  ...at(V), ...lget(VI), ...v128store(0),
  ...at(W),
  ...at(W), ...v128load(0),
  ...lget(K.step), ...lget(MI), ...f32x4.mul,
  ...lget(VI), ...lget(K.r2), ...f32x4.mul, ...f32x4.sqrt, ...lget(K.eps), ...f32x4.add,
  ...f32x4.div, ...f32x4.sub, ...v128store(0),
  ...lget(P), ...i32c(16), i32add, ...lset(P),
  br, 0,
  end, end,
  end, // the function's
];

/**
 * Adam over a fixed set of params: each param's moments (`m`, `v`, views that stay valid: the memory never grows after
 * it is laid out) and a place for its weights and gradient, padded to whole groups of four.
 */
export class AdamKernel {
  private readonly fn: (end: number, w: number, g: number, m: number, v: number, c: number) => void;
  private readonly heap: Float32Array;
  private readonly at: readonly { w: number; g: number; m: number; v: number; n: number }[];
  private readonly c: number;

  private constructor(sizes: readonly number[]) {
    const mem = new KernelMemory();
    this.fn = mem.instantiate(oneFunctionModule("adam", 6, [[1, I32], [11, V128]], ADAM_BODY), "adam");
    this.c = mem.alloc(CONSTANTS.length);
    this.at = sizes.map((n) => {
      const padded = Math.ceil(n / 4) * 4;
      return { w: mem.alloc(padded), g: mem.alloc(padded), m: mem.alloc(padded), v: mem.alloc(padded), n };
    });
    this.heap = mem.heap; // taken after the last allocation: it stays valid
    this.heap.fill(0);
  }

  /** The kernel, or why this engine cannot run it. */
  static create(sizes: readonly number[]): AdamKernel | { readonly why: string } {
    try {
      return new AdamKernel(sizes);
    } catch (e) {
      return { why: (e as Error).message };
    }
  }

  /** Param k's first and second moments, as views the kernel updates. */
  moments(k: number): [Float32Array, Float32Array] {
    const { m, v, n } = this.at[k]!;
    return [this.heap.subarray(m, m + n), this.heap.subarray(v, v + n)];
  }

  /** One update of param k's weights `w` (in place) by gradient `g` times `scale`; `c1`, `c2`: 1 − β^t, as adam's. */
  update(k: number, w: Float32Array, g: Float32Array, scale: number, lr: number, c1: number, c2: number): void {
    const p = this.at[k]!;
    const h = this.heap;
    h.set(w, p.w);
    h.set(g, p.g);
    const values = { scale, b1: ADAM.beta1, k1: 1 - ADAM.beta1, b2: ADAM.beta2, k2: 1 - ADAM.beta2, step: lr / c1, r2: 1 / c2, eps: ADAM.epsilon };
    CONSTANTS.forEach((name, j) => (h[this.c + j] = values[name]));
    this.fn(4 * (p.n + ((4 - (p.n % 4)) % 4)), 4 * p.w, 4 * p.g, 4 * p.m, 4 * p.v, 4 * this.c);
    w.set(h.subarray(p.w, p.w + p.n));
  }
}
