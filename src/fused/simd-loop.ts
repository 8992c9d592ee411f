// A fused elementwise loop compiled to WebAssembly SIMD: four elements per instruction, exp/σ/tanh by polynomials in f32x4.
import type { Node, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import {
  block, br, br_if, end, f32load, I32, i32add, i32c, i32ge_u, i32mul, lget, loop, lset, oneFunctionModule, simd, V128, v128load, v128store,
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

/** Why a loop cannot be compiled (an op without an f32x4 form here, or rows not whole groups of four), or undefined. */
export function simdLoopUnsupported(l: LoopShape): string | undefined {
  if (l.S % 4 !== 0) return `rows of ${l.S} elements, not a multiple of four`;
  const missing = [...new Set(l.members.map((m) => m.node.op).filter((o) => !(o in simdForms)))];
  return missing.length ? `no f32x4 form for ${missing.join(", ")}` : undefined;
}

/** Whether an op has an f32x4 form (its row in the table below). */
export const hasSimdForm = (o: Op): boolean => o in simdForms;

/**
 * e^x of the value in local `x` onto the stack (n, r: scratch locals): Cephes' expf. n = x·log2 e rounded, of x
 * clamped to [−87, 88.72], r = x − n·ln 2 in two parts, e^r by a degree-7 polynomial, times 2·2^(n−1) (2^n itself would not fit
 * the exponent bits at n = 128); relative error ~1e-7. Below −87 it stays at e^−87 (~1e-38) where f32 would go
 * subnormal. Past 88.72 the result is ∞ when `overflow` (exp itself); without it, e^88.72 (~3.4e38), which σ and tanh
 * turn into the same 0, 1 or −1 for eight instructions less (`x` is then clamped in place).
 */
function expOf(x: number, n: number, r: number, k: Consts, overflow: boolean): number[] {
  const c = (v: number) => k.get(v);
  const poly = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
  const MAGIC = 12582912; // 1.5·2^23: adding it rounds to an integer, which then sits in the low bits
  // pmin/pmax (one instruction each) with x first keep a NaN x as it is
  const clamped = [...lget(x), ...c(88.72), ...op(V.pmin), ...c(-87), ...op(V.pmax)];
  const xc = overflow ? r : x; // where the clamped x is kept
  return [
    ...clamped, ...lset(xc),
    ...lget(xc), ...c(1.44269504088896341), ...op(V.mul), ...c(MAGIC), ...op(V.add), ...lset(n), // bits: 0x4B400000 + round(x·log2 e)
    ...lget(n), ...c(MAGIC), ...op(V.sub), ...lset(r), // r = round(x·log2 e), for now (the clamped x read before it is written over)
    ...(overflow ? clamped : lget(x)), ...lget(r), ...c(0.693359375), ...op(V.mul), ...op(V.sub),
    ...lget(r), ...c(-2.12194440e-4), ...op(V.mul), ...op(V.sub), ...lset(r),
    ...c(poly[0]!),
    ...poly.slice(1).flatMap((p) => [...lget(r), ...op(V.mul), ...c(p), ...op(V.add)]),
    ...lget(r), ...op(V.mul), ...lget(r), ...op(V.mul), ...lget(r), ...op(V.add), ...c(1), ...op(V.add), ...c(2), ...op(V.mul),
    // 2^(n−1): (bits + 126) << 23, the magic's own bits shifted out
    ...lget(n), ...k.get(126, true), ...op(V.iadd), ...i32c(23), ...op(V.shl),
    ...op(V.mul),
    ...(overflow ? [...lset(n), ...c(Infinity), ...lget(n), ...lget(x), ...c(88.72284), ...op(V.gt), ...op(V.bitselect)] : []),
  ];
}

/**
 * tanh of the value on the stack (x, x2: scratch locals): Eigen's 13/6-degree rational interpolant, x·p(x²)/q(x²) of
 * x clamped to [−9, 9] (past which tanh is ±1 in f32), within a few ulp; odd, so −0 stays −0, and a NaN stays NaN.
 */
function tanhOf(x: number, x2: number, k: Consts): number[] {
  const c = (v: number) => k.get(v);
  const alpha = [-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03];
  const beta = [1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03];
  const horner = (cs: number[]) => [...c(cs[0]!), ...cs.slice(1).flatMap((p) => [...lget(x2), ...op(V.mul), ...c(p), ...op(V.add)])];
  return [
    ...c(9), ...op(V.pmin), ...c(-9), ...op(V.pmax), ...lset(x),
    ...lget(x), ...lget(x), ...op(V.mul), ...lset(x2),
    ...horner(alpha), ...lget(x), ...op(V.mul),
    ...horner(beta), ...op(V.div),
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
    return lget(e.local);
  }
  get count(): number {
    return this.known.size;
  }
  /** Sets every constant's local. */
  prologue(): number[] {
    return [...this.known.values()].flatMap((e) => [...e.bytes, ...lset(e.local)]);
  }
}

/** An f32x4 form: the code leaving a member's value on the stack, given its arguments' code, scratch v128 locals t0 … t3 and the loop's constants. */
type SimdForm = (args: readonly number[][], t: readonly [number, number, number, number], k: Consts) => number[];

/** The ops a fused loop runs in WebAssembly SIMD, one row each: the rest run in the loop's generated JS. */
const simdForms: Partial<Record<Op, SimdForm>> = {
  [Op.Add]: ([a, b], _t, _k) => [...a!, ...b!, ...op(V.add)],
  [Op.Sub]: ([a, b], _t, _k) => [...a!, ...b!, ...op(V.sub)],
  [Op.Mul]: ([a, b], _t, _k) => [...a!, ...b!, ...op(V.mul)],
  [Op.Div]: ([a, b], _t, _k) => [...a!, ...b!, ...op(V.div)],
  [Op.Maximum]: ([a, b], _t, _k) => [...a!, ...b!, ...op(V.max)],
  [Op.Minimum]: ([a, b], _t, _k) => [...a!, ...b!, ...op(V.min)],
  [Op.Neg]: ([a], _t, _k) => [...a!, ...op(V.neg)],
  [Op.Abs]: ([a], _t, _k) => [...a!, ...op(V.abs)],
  [Op.Sqrt]: ([a], _t, _k) => [...a!, ...op(V.sqrt)],
  [Op.Square]: ([a], [t0], _k) => [...a!, ...lset(t0), ...lget(t0), ...lget(t0), ...op(V.mul)],
  [Op.Identity]: ([a], _t, _k) => a!,
  [Op.Dropout]: ([a], _t, _k) => a!,
  [Op.Reshape]: ([a], _t, _k) => a!,
  [Op.Slice]: ([a], _t, _k) => a!,
  [Op.Exp]: ([a], [t0, t1, t2], k) => [...a!, ...lset(t0), ...expOf(t0, t1, t2, k, true)],
  [Op.Sigmoid]: ([a], [t0, t1, t2], k) => [...k.get(1), ...k.get(1), ...a!, ...op(V.neg), ...lset(t0), ...expOf(t0, t1, t2, k, false), ...op(V.add), ...op(V.div)],
  [Op.Tanh]: ([a], [t0, t1], k) => [...a!, ...tanhOf(t0, t1, k)],
  [Op.Relu]: ([a], [t0], k) => [...a!, ...lset(t0), ...lget(t0), ...lget(t0), ...k.get(0), ...op(V.gt), ...op(V.and)],
  [Op.HardSigmoid]: ([a], _t, k) => [...k.get(1), ...k.get(0), ...a!, ...k.get(0.2), ...op(V.mul), ...k.get(0.5), ...op(V.add), ...op(V.max), ...op(V.min)],
  [Op.HardTanh]: ([a], _t, k) => [...k.get(1), ...k.get(-1), ...a!, ...op(V.max), ...op(V.min)],
  [Op.Step]: ([a], _t, k) => [...k.get(1), ...a!, ...k.get(0), ...op(V.gt), ...op(V.and)],
  [Op.Softsign]: ([a], [t0], k) => [...a!, ...lset(t0), ...lget(t0), ...k.get(1), ...lget(t0), ...op(V.abs), ...op(V.add), ...op(V.div)],
};

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
  const scratch = (u: number) => { const s0 = firstV + unroll * l.members.length + 4 * u; return [s0, s0 + 1, s0 + 2, s0 + 3] as const; };
  const consts = new Consts(firstV + unroll * (l.members.length + 4));
  const read = (rd: Read, u: number): number[] => {
    if ("local" in rd) return lget(local(rd.local, u));
    if (rd.scalar) return [...lget(base(rd.outside)), ...f32load(4 * rd.off), ...simd(V.splat)];
    return [...lget(base(rd.outside)), ...lget(j), i32add, ...v128load(4 * rd.off + 16 * u)];
  };
  const rowBytes = 4 * l.S;
  const loops = [
    ...i32c(0), ...lset(r),
    block, 0x40, loop, 0x40,
    ...lget(r), ...lget(R), i32ge_u, br_if, 1,
    ...lget(r), ...i32c(rowBytes), i32mul, ...lset(o),
    ...l.outside.flatMap((_, k) => [...lget(ptr(k)), ...lget(r), ...lget(stride(k)), i32mul, i32add, ...lset(base(k))]),
    ...i32c(0), ...lset(j),
    block, 0x40, loop, 0x40,
    ...lget(j), ...i32c(rowBytes), i32ge_u, br_if, 1,
    ...l.members.flatMap((m) => groups.flatMap((u) => [...simdForms[m.node.op]!(m.reads.map((rd) => read(rd, u)), scratch(u), consts), ...lset(local(m.node.id, u))])),
    ...l.writes.flatMap((id, k) => groups.flatMap((u) => [...lget(wptr(k)), ...lget(o), i32add, ...lget(j), i32add, ...lget(local(id, u)), ...v128store(16 * u)])),
    ...lget(j), ...i32c(16 * unroll), i32add, ...lset(j),
    br, 0,
    end, end,
    ...lget(r), ...i32c(1), i32add, ...lset(r),
    br, 0,
    end, end,
    end,
  ];
  return { body: [...consts.prologue(), ...loops], i32s, v128s: unroll * (l.members.length + 4) + consts.count };
}

/** Compiles a loop (into the kernel memory the products use too), or says why it runs in JS instead. */
export function compileSimdLoop(l: LoopShape): LoopFn | string {
  const why = simdLoopUnsupported(l);
  if (why) return why;
  const memory = kernelMemory();
  if (!memory) return "this engine has no WebAssembly SIMD";
  try {
    // Eight elements at a time where rows allow it, else four.
    const { body, i32s, v128s } = loopBody(l, l.S % 8 === 0 ? 2 : 1);
    return memory.instantiate<LoopFn>(oneFunctionModule("loop", 1 + 2 * l.outside.length + l.writes.length, [[i32s, I32], [v128s, V128]], body), "loop");
  } catch (e) {
    return `its WebAssembly did not compile (${(e as Error).message})`;
  }
}
