// A fused elementwise loop compiled to WebAssembly SIMD: four elements per instruction, exp/σ/tanh by polynomials in f32x4.
import type { Node, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import {
  I32, V128, block, br, br_if, end, f32load, get, i32add, i32c, i32ge_u, i32mul, loop, oneFunctionModule, set, simd, v128load, v128store,
} from "../runtime/wasm-encoding.js";
import { kernelMemory } from "./kernel-memory.js";

/** How a member reads an argument (as in loops.ts): a local of the loop, or element `off + j` of an outside row. */
export type Read = { readonly local: NodeId } | { readonly outside: number; readonly off: number; readonly scalar: boolean };
export interface Member { readonly node: Node; readonly reads: readonly Read[] }
export interface LoopShape { readonly S: number; readonly members: readonly Member[]; readonly outside: readonly NodeId[]; readonly writes: readonly NodeId[] }

/** `fn(R, ptr0, stride0, …, out0, …)`: byte addresses into the loop memory; strides are bytes per row (0: shared). */
type LoopFn = (...args: number[]) => void;

// SIMD opcodes (after the 0xfd prefix).
const V = {
  const: 0x0c, splat: 0x13, and: 0x4e, bitselect: 0x52, lt: 0x43, gt: 0x44, shl: 0xab, iadd: 0xae,
  abs: 0xe0, neg: 0xe1, sqrt: 0xe3, add: 0xe4, sub: 0xe5, mul: 0xe6, div: 0xe7, min: 0xe8, max: 0xe9, pmin: 0xea, pmax: 0xeb,
} as const;
const op = (code: number) => simd(code);
/** v128.const of four equal f32 (or i32) lanes. */
function splatConst(x: number, int = false): number[] {
  const b = new DataView(new ArrayBuffer(4));
  if (int) b.setInt32(0, x, true);
  else b.setFloat32(0, x, true);
  const bytes = [b.getUint8(0), b.getUint8(1), b.getUint8(2), b.getUint8(3)];
  return [...simd(V.const), ...bytes, ...bytes, ...bytes, ...bytes];
}

const SUPPORTED = new Set<Op>([
  Op.Add, Op.Sub, Op.Mul, Op.Div, Op.Maximum, Op.Minimum, Op.Neg, Op.Abs, Op.Sqrt, Op.Square, Op.Identity, Op.Reshape, Op.Slice,
  Op.Exp, Op.Sigmoid, Op.Tanh, Op.Relu, Op.HardSigmoid, Op.HardTanh, Op.Step, Op.Softsign,
]);

/** Whether a loop can be compiled: every op has an f32x4 form here and rows are whole groups of four elements. */
export const simdLoopSupported = (l: LoopShape): boolean => l.S % 4 === 0 && l.members.every((m) => SUPPORTED.has(m.node.op));

/**
 * e^x of the value in local `x` onto the stack (n, r: scratch locals): Cephes' expf. n = x·log2 e rounded, of x
 * clamped to [−87, 88.72], r = x − n·ln 2 in two parts, e^r by a degree-7 polynomial, times 2·2^(n−1) (2^n itself would not fit
 * the exponent bits at n = 128); relative error ~1e-7. Past 88.72 the result is ∞; below −87 it stays at e^−87
 * (~1e-38) where f32 would go subnormal.
 */
function expOf(x: number, n: number, r: number, k: Consts): number[] {
  const c = (v: number) => k.get(v);
  const poly = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
  const MAGIC = 12582912; // 1.5·2^23: adding it rounds to an integer, which then sits in the low bits
  return [
    // pmin/pmax (one instruction each) with x first keep a NaN x as it is
    get, x, ...c(88.72), ...op(V.pmin), ...c(-87), ...op(V.pmax), set, r,
    get, r, ...c(1.44269504088896341), ...op(V.mul), ...c(MAGIC), ...op(V.add), set, n, // bits: 0x4B400000 + round(x·log2 e)
    get, n, ...c(MAGIC), ...op(V.sub), set, r, // r = round(x·log2 e), for now
    get, x, ...c(88.72), ...op(V.pmin), ...c(-87), ...op(V.pmax), get, r, ...c(0.693359375), ...op(V.mul), ...op(V.sub),
    get, r, ...c(-2.12194440e-4), ...op(V.mul), ...op(V.sub), set, r,
    ...c(poly[0]!),
    ...poly.slice(1).flatMap((p) => [get, r, ...op(V.mul), ...c(p), ...op(V.add)]),
    get, r, ...op(V.mul), get, r, ...op(V.mul), get, r, ...op(V.add), ...c(1), ...op(V.add), ...c(2), ...op(V.mul),
    // 2^(n−1): (bits + 126) << 23, the magic's own bits shifted out
    get, n, ...k.get(126, true), ...op(V.iadd), ...i32c(23), ...op(V.shl),
    ...op(V.mul), set, n,
    ...c(Infinity), get, n, get, x, ...c(88.72284), ...op(V.gt), ...op(V.bitselect),
  ];
}

/**
 * The loop's constants, each in a v128 local set once before the loops (V8 would build a v128.const again at every
 * use inside them).
 */
class Consts {
  private readonly known = new Map<string, { local: number; bytes: number[] }>();
  constructor(private readonly first: number) {}
  get(x: number, int = false): number[] {
    const key = `${int ? "i" : "f"}${x}`;
    let e = this.known.get(key);
    if (!e) this.known.set(key, (e = { local: this.first + this.known.size, bytes: splatConst(x, int) }));
    return [get, e.local];
  }
  get count(): number {
    return this.known.size;
  }
  /** Sets every constant's local. */
  prologue(): number[] {
    return [...this.known.values()].flatMap((e) => [...e.bytes, set, e.local]);
  }
}

/** The code leaving member m's value on the stack, given its arguments' code; scratch v128 locals t0 … t3. */
function memberCode(node: Node, args: number[][], t: readonly number[], k: Consts): number[] {
  const [a, b] = args;
  const c = (v: number) => k.get(v);
  const [t0, t1, t2, t3] = t as [number, number, number, number];
  switch (node.op) {
    case Op.Add: return [...a!, ...b!, ...op(V.add)];
    case Op.Sub: return [...a!, ...b!, ...op(V.sub)];
    case Op.Mul: return [...a!, ...b!, ...op(V.mul)];
    case Op.Div: return [...a!, ...b!, ...op(V.div)];
    case Op.Maximum: return [...a!, ...b!, ...op(V.max)];
    case Op.Minimum: return [...a!, ...b!, ...op(V.min)];
    case Op.Neg: return [...a!, ...op(V.neg)];
    case Op.Abs: return [...a!, ...op(V.abs)];
    case Op.Sqrt: return [...a!, ...op(V.sqrt)];
    case Op.Square: return [...a!, set, t0, get, t0, get, t0, ...op(V.mul)];
    case Op.Identity: case Op.Reshape: case Op.Slice: return a!;
    case Op.Exp: return [...a!, set, t0, ...expOf(t0, t1, t2, k)];
    case Op.Sigmoid: return [...c(1), ...c(1), ...a!, ...op(V.neg), set, t0, ...expOf(t0, t1, t2, k), ...op(V.add), ...op(V.div)];
    case Op.Tanh: return [
      // |x| < 1/16: x·(1 − x²/3 + 2x⁴/15 − 17x⁶/315); else 1 − 2/(e^2x + 1) (no cancellation left to matter there)
      ...a!, set, t3,
      get, t3, get, t3, ...op(V.mul), set, t0,
      get, t3, ...c(1), get, t0, ...c(-1 / 3), get, t0, ...c(2 / 15), get, t0, ...c(-17 / 315), ...op(V.mul), ...op(V.add),
      ...op(V.mul), ...op(V.add), ...op(V.mul), ...op(V.add), ...op(V.mul),
      ...c(1), ...c(2), get, t3, get, t3, ...op(V.add), set, t0, ...expOf(t0, t1, t2, k), ...c(1), ...op(V.add), ...op(V.div), ...op(V.sub),
      get, t3, ...op(V.abs), ...c(0.0625), ...op(V.lt),
      ...op(V.bitselect),
    ];
    case Op.Relu: return [...a!, set, t0, get, t0, get, t0, ...c(0), ...op(V.gt), ...op(V.and)];
    case Op.HardSigmoid: return [...c(1), ...c(0), ...a!, ...c(0.2), ...op(V.mul), ...c(0.5), ...op(V.add), ...op(V.max), ...op(V.min)];
    case Op.HardTanh: return [...c(1), ...c(-1), ...a!, ...op(V.max), ...op(V.min)];
    case Op.Step: return [...c(1), ...a!, ...c(0), ...op(V.gt), ...op(V.and)];
    case Op.Softsign: return [...a!, set, t0, get, t0, ...c(1), get, t0, ...op(V.abs), ...op(V.add), ...op(V.div)];
    default: throw new Error(`internal: no SIMD form for ${node.op}`);
  }
}

/**
 * The loop's function body: for each row, for each group of `unroll` × four elements, every member in order (each
 * member's code once per group of four, side by side, so the processor overlaps their long chains), then the stores.
 */
function loopBody(l: LoopShape, unroll: number): { body: number[]; i32s: number; v128s: number } {
  const nOut = l.outside.length, nW = l.writes.length;
  const R = 0, ptr = (k: number) => 1 + 2 * k, stride = (k: number) => 2 + 2 * k, wptr = (k: number) => 1 + 2 * nOut + k;
  const params = 1 + 2 * nOut + nW;
  const r = params, j = params + 1, o = params + 2, base = (k: number) => params + 3 + k;
  const i32s = 3 + nOut;
  const firstV = params + i32s;
  const groups = Array.from({ length: unroll }, (_, u) => u);
  const local = (id: NodeId, u: number) => firstV + unroll * l.members.findIndex((m) => m.node.id === id) + u;
  const scratch = (u: number) => [0, 1, 2, 3].map((k) => firstV + unroll * l.members.length + 4 * u + k);
  const consts = new Consts(firstV + unroll * (l.members.length + 4));
  const read = (rd: Read, u: number): number[] => {
    if ("local" in rd) return [get, local(rd.local, u)];
    if (rd.scalar) return [get, base(rd.outside), ...f32load(4 * rd.off), ...simd(V.splat)];
    return [get, base(rd.outside), get, j, i32add, ...v128load(4 * rd.off + 16 * u)];
  };
  const rowBytes = 4 * l.S;
  const loops = [
    ...i32c(0), set, r,
    block, 0x40, loop, 0x40,
    get, r, get, R, i32ge_u, br_if, 1,
    get, r, ...i32c(rowBytes), i32mul, set, o,
    ...l.outside.flatMap((_, k) => [get, ptr(k), get, r, get, stride(k), i32mul, i32add, set, base(k)]),
    ...i32c(0), set, j,
    block, 0x40, loop, 0x40,
    get, j, ...i32c(rowBytes), i32ge_u, br_if, 1,
    ...l.members.flatMap((m) => groups.flatMap((u) => [...memberCode(m.node, m.reads.map((rd) => read(rd, u)), scratch(u), consts), set, local(m.node.id, u)])),
    ...l.writes.flatMap((id, k) => groups.flatMap((u) => [get, wptr(k), get, o, i32add, get, j, i32add, get, local(id, u), ...v128store(16 * u)])),
    get, j, ...i32c(16 * unroll), i32add, set, j,
    br, 0,
    end, end,
    get, r, ...i32c(1), i32add, set, r,
    br, 0,
    end, end,
    end,
  ];
  return { body: [...consts.prologue(), ...loops], i32s, v128s: unroll * (l.members.length + 4) + consts.count };
}

/** Compiles a loop (into the kernel memory the products use too), or undefined where WebAssembly SIMD is missing. */
export function compileSimdLoop(l: LoopShape): LoopFn | undefined {
  const memory = kernelMemory();
  if (!memory) return undefined;
  try {
    // Eight elements at a time where rows allow it and the locals fit (their indices are one byte here), else four.
    const fits = (u: number) => {
      const b = loopBody(l, u);
      return 1 + 2 * l.outside.length + l.writes.length + b.i32s + b.v128s <= 127 ? b : undefined;
    };
    const built = (l.S % 8 === 0 ? fits(2) : undefined) ?? fits(1);
    if (!built) return undefined;
    const { body, i32s, v128s } = built;
    return memory.instantiate<LoopFn>(oneFunctionModule("loop", 1 + 2 * l.outside.length + l.writes.length, [[i32s, I32], [v128s, V128]], body), "loop");
  } catch {
    return undefined;
  }
}
