// IR ops on many examples at once, in Float32Arrays: rows of a batch (or of all steps) side by side, products as one gemm.
import { evalDim } from "../ir/dims.js";
import type { Node } from "../ir/ir.js";
import { Op, opInfo, type OpsIn } from "../ir/ops.js";
import { binaryFns, unaryFns } from "../interp/kernels.js";
import { kernel } from "../interp/stepper.js";
import type { DimEnv } from "../runtime/dims.js";
import { sizeOf, type Tensor } from "../runtime/tensor.js";
import { fastExp, fastSigmoid, fastTanh } from "./fast-math.js";
import { fixedMat, gemm, mat } from "./gemm.js";
import { kernelMemory } from "./kernel-memory.js";
import { copyRowsInKernel } from "./simd-pack.js";
import { rowsLastAxis, rowsMatMul, rowsReduceTo, rowsTranspose } from "./batched-rows.js";
import { placeFor, reshaped, rowsAt, viewOf, type Places, type Rows } from "./slots.js";
import { copyFloats } from "./scan-buffers.js";

export type { Rows } from "./slots.js";

export const sharedRows = (data: Float32Array, shape: readonly number[]): Rows => ({ data, shape, shared: true, rows: 1 });
export const batchRows = (data: Float32Array, shape: readonly number[], rows: number): Rows => ({ data, shape, shared: false, rows });

const sizeOfRows = (v: Rows): number => sizeOf(v.shape);

/** The per-example value of row r (a view). */
export function rowOf(v: Rows, r: number): Tensor {
  const s = sizeOfRows(v);
  const at = v.shared ? 0 : r * s;
  return { shape: v.shape, data: v.data.subarray(at, at + s) };
}

/**
 * A node's value over `rows` examples (rows = 1 and shared when no argument is per example). With `pool`, the node's
 * buffer from an earlier step is written over instead of a new one (every kernel here writes all of its output).
 */
export function evalRows(n: Node, args: readonly Rows[], env: DimEnv, rows: number, pool?: Places): Rows {
  const shared = args.length > 0 && args.every((a) => a.shared);
  const R = shared || n.op === Op.Const ? 1 : rows;
  const shape = n.shape.map((d) => evalDim(d, env)!);
  if (n.op === Op.Const) return sharedRows(Float32Array.of(n.attrs.value!), []);
  if (n.op === Op.Reshape) return reshaped(args[0]!, shape);
  const length = R * sizeOf(shape);
  const place = placeFor(pool, n.id, length);
  const out = viewOf(place, length);
  const cat = opInfo[n.op].category;
  if (cat === "unary") unaryRows(n.op as OpsIn<"unary">, args[0]!, out);
  else if (cat === "binary") binaryRows(n.op as OpsIn<"binary">, args[0]!, args[1]!, shape, R, out);
  else if (n.op === Op.MatMul && matmulRows(args[0]!, args[1]!, R, out)) { /* done */ }
  else if (n.op === Op.Slice) sliceRows(args[0]!, evalDim(n.attrs.start!, env)!, evalDim(n.attrs.end!, env)!, R, out);
  else if (n.op === Op.Concat) concatRows(args, R, out);
  else if ((n.op === Op.Gather && args[0]!.shared) || n.op === Op.OneHot) idRows(n, args, env, R, out);
  else if (n.op === Op.MatMul && rowsMatMul(args[0]!, args[1]!, R, out)) { /* done */ }
  else if (n.op === Op.Transpose && rowsTranspose(args[0]!, R, out)) { /* done */ }
  else if (rowsLastAxis(n.op, args[0]!, R, out)) { /* done */ }
  else if (n.op === Op.ReduceTo && rowsReduceTo(args[0]!, shape, R, out)) { /* done */ }
  else {
    // Everything else, a row at a time with the interpreter's kernel (the same definition).
    const size = sizeOf(shape);
    for (let r = 0; r < R; r++) out.set(kernel(n, args.map((a) => rowOf(a, r)), env, "f32").data, r * size);
  }
  return rowsAt(place, length, shape, R === 1 && shared, R);
}

function unaryRows(op: OpsIn<"unary">, x: Rows, out: Float32Array): void {
  const d = x.data;
  switch (op) {
    case Op.Sigmoid: for (let i = 0; i < out.length; i++) out[i] = fastSigmoid(d[i]!); return;
    case Op.Tanh: for (let i = 0; i < out.length; i++) out[i] = fastTanh(d[i]!); return;
    case Op.Exp: for (let i = 0; i < out.length; i++) out[i] = fastExp(d[i]!); return;
    case Op.Neg: for (let i = 0; i < out.length; i++) out[i] = -d[i]!; return;
    default: {
      const f = unaryFns[op];
      for (let i = 0; i < out.length; i++) out[i] = f(d[i]!);
    }
  }
}

const maps = new Map<string, Int32Array>();
/** Where each element of an output of shape `out` reads an argument of shape `arg` (numpy broadcasting), computed once per pair. */
function broadcastMap(arg: readonly number[], out: readonly number[]): Int32Array {
  const key = `${arg.join(",")}>${out.join(",")}`;
  let m = maps.get(key);
  if (!m) maps.set(key, (m = computeMap(arg, out)));
  return m;
}

function computeMap(arg: readonly number[], out: readonly number[]): Int32Array {
  const pad = [...Array(out.length - arg.length).fill(1), ...arg] as number[];
  const idx = new Int32Array(sizeOf(out));
  const coord = new Array<number>(out.length).fill(0);
  for (let i = 0; i < idx.length; i++) {
    let k = 0;
    for (let d = 0; d < out.length; d++) k = k * pad[d]! + (pad[d] === 1 ? 0 : coord[d]!);
    idx[i] = k;
    for (let d = out.length - 1; d >= 0; d--) {
      if (++coord[d]! < out[d]!) break;
      coord[d] = 0;
    }
  }
  return idx;
}

function binaryRows(op: OpsIn<"binary">, a: Rows, b: Rows, shape: readonly number[], R: number, out: Float32Array): void {
  const S = sizeOf(shape);
  const sa = sizeOfRows(a), sb = sizeOfRows(b);
  const ad = a.data, bd = b.data;
  const sameA = sa === S, sameB = sb === S;
  if (sameA && sameB && !a.shared && !b.shared) {
    // The common case: two per-example values of one shape.
    switch (op) {
      case Op.Add: for (let i = 0; i < out.length; i++) out[i] = ad[i]! + bd[i]!; return;
      case Op.Sub: for (let i = 0; i < out.length; i++) out[i] = ad[i]! - bd[i]!; return;
      case Op.Mul: for (let i = 0; i < out.length; i++) out[i] = ad[i]! * bd[i]!; return;
    }
  }
  if ((sa === 1 || sb === 1) && (op === Op.Add || op === Op.Sub || op === Op.Mul || op === Op.Div)) {
    // A scalar on one side (a constant, a reduced value): one number per row.
    for (let r = 0; r < R; r++) {
      const oa = a.shared ? 0 : r * sa, ob = b.shared ? 0 : r * sb, o = r * S;
      if (sa === 1 && sb === 1) { out[o] = binaryFns[op](ad[oa]!, bd[ob]!); continue; }
      const k = sa === 1 ? ad[oa]! : bd[ob]!;
      const v = sa === 1 ? bd : ad, ov = sa === 1 ? ob : oa;
      if (op === Op.Add) for (let i = 0; i < S; i++) out[o + i] = v[ov + i]! + k;
      else if (op === Op.Mul) for (let i = 0; i < S; i++) out[o + i] = v[ov + i]! * k;
      else if (op === Op.Sub) for (let i = 0; i < S; i++) out[o + i] = sa === 1 ? k - v[ov + i]! : v[ov + i]! - k;
      else for (let i = 0; i < S; i++) out[o + i] = sa === 1 ? k / v[ov + i]! : v[ov + i]! / k;
    }
    return;
  }
  if (shape.length === 2 && a.shape.length <= 2 && b.shape.length <= 2 && (op === Op.Add || op === Op.Sub || op === Op.Mul || op === Op.Div)) {
    broadcast2d(op, a, b, shape as [number, number], R, out);
    return;
  }
  const f = binaryFns[op];
  const ia = sameA ? undefined : broadcastMap(a.shape, shape);
  const ib = sameB ? undefined : broadcastMap(b.shape, shape);
  for (let r = 0; r < R; r++) {
    const oa = a.shared ? 0 : r * sa, ob = b.shared ? 0 : r * sb, o = r * S;
    if (op === Op.Add && !ia && !ib) for (let i = 0; i < S; i++) out[o + i] = ad[oa + i]! + bd[ob + i]!;
    else if (op === Op.Mul && !ia && !ib) for (let i = 0; i < S; i++) out[o + i] = ad[oa + i]! * bd[ob + i]!;
    else for (let i = 0; i < S; i++) out[o + i] = f(ad[oa + (ia ? ia[i]! : i)]!, bd[ob + (ib ? ib[i]! : i)]!);
  }
}

/**
 * a ∘ b into [m, n] per row, each side [m, n], [n], [m, 1] or a scalar (a bias over a sequence's positions, an outer
 * product in a gradient): strided loops, no index map.
 */
function broadcast2d(op: Op.Add | Op.Sub | Op.Mul | Op.Div, a: Rows, b: Rows, [m, n]: [number, number], R: number, out: Float32Array): void {
  const strides = (v: Rows): [number, number] => {
    const [p, q] = v.shape.length === 2 ? v.shape as [number, number] : v.shape.length === 1 ? [1, v.shape[0]!] : [1, 1];
    return [p === 1 ? 0 : q, q === 1 ? 0 : 1];
  };
  const [ai, aj] = strides(a), [bi, bj] = strides(b);
  const sa = sizeOfRows(a), sb = sizeOfRows(b), ad = a.data, bd = b.data;
  for (let r = 0; r < R; r++) {
    const oa = a.shared ? 0 : r * sa, ob = b.shared ? 0 : r * sb, o = r * m * n;
    for (let i = 0; i < m; i++) {
      const pa = oa + i * ai, pb = ob + i * bi, po = o + i * n;
      if (op === Op.Add) for (let j = 0; j < n; j++) out[po + j] = ad[pa + j * aj]! + bd[pb + j * bj]!;
      else if (op === Op.Mul) for (let j = 0; j < n; j++) out[po + j] = ad[pa + j * aj]! * bd[pb + j * bj]!;
      else if (op === Op.Sub) for (let j = 0; j < n; j++) out[po + j] = ad[pa + j * aj]! - bd[pb + j * bj]!;
      else for (let j = 0; j < n; j++) out[po + j] = ad[pa + j * aj]! / bd[pb + j * bj]!;
    }
  }
}

/** Products with one shared operand as one gemm over all rows (`accumulate`: added to `out`); false for the other cases. */
function matmulRows(a: Rows, b: Rows, R: number, out: Float32Array, accumulate = false, rowInit?: Float32Array, initRows = false): boolean {
  const ra = a.shape.length, rb = b.shape.length;
  if (b.shared && !a.shared && ra === 1 && rb === 2) {          // x[k] @ W[k, n]: X[R, k] · W
    // W = Mᵀ (a transposed weight): M read as W stored transposed.
    gemm(R, b.shape[1]!, a.shape[0]!, mat(a.data), b.transposeOf ? fixedMat(b.transposeOf.data, true) : fixedMat(b.data), out, 0, accumulate, rowInit, initRows);
    return true;
  }
  if (a.shared && !b.shared && ra === 2 && rb === 1) {          // W[m, k] @ x[k]: X[R, k] · Wᵀ
    // Shared values do not change; W = Mᵀ: Wᵀ is M itself.
    gemm(R, a.shape[0]!, a.shape[1]!, mat(b.data), a.transposeOf ? fixedMat(a.transposeOf.data) : fixedMat(a.data, true), out, 0, accumulate, rowInit, initRows);
    return true;
  }
  if (rowInit) return false; // the forms below take no row to start from
  if (b.shared && !a.shared && ra === 2 && rb <= 2) {           // A[m, k] @ W: rows of every A stacked
    gemm(R * a.shape[0]!, rb === 2 ? b.shape[1]! : 1, a.shape[1]!, mat(a.data), fixedMat(b.data), out, 0, accumulate);
    return true;
  }
  return false;
}

/**
 * `addend + product` as one gemm that accumulates onto a copy of the addend (a value of the product's shape, per
 * row or shared), written as node `id`'s buffer: the sum of a state's product and its hoisted input projection.
 */
export function evalMatMulAdd(m: Node, args: readonly Rows[], addend: Rows, env: DimEnv, R: number, id: number, pool?: Places): Rows {
  const shape = m.shape.map((d) => evalDim(d, env)!);
  const size = sizeOf(shape);
  const place = placeFor(pool, id, R * size);
  const out = viewOf(place, R * size);
  // The product's tiles start from the addend: a shared one (a bias) is the row every product row starts from, another
  // (the step's block of a hoisted input projection) the rows they start from, read where they are; else it is copied in and added to.
  if (matmulRows(args[0]!, args[1]!, R, out, false, addend.data, !addend.shared)) return rowsAt(place, R * size, shape, false, R);
  if (addend.shared) for (let r = 0; r < R; r++) out.set(addend.data, r * size);
  else out.set(addend.data.subarray(0, R * size));
  if (!matmulRows(args[0]!, args[1]!, R, out, true)) {
    const p = evalRows(m, args, env, R), pd = p.data, sum = viewOf(place, R * size);
    for (let i = 0; i < sum.length; i++) sum[i] += p.shared ? pd[i % size]! : pd[i]!;
  }
  return rowsAt(place, R * size, shape, false, R);
}

function sliceRows(x: Rows, start: number, end: number, R: number, out: Float32Array): void {
  const inner = sizeOf(x.shape.slice(1));
  const S = sizeOfRows(x), len = (end - start) * inner;
  const d = x.data;
  if (!x.shared && copyInKernel(d, start * inner, S, out, 0, len, R, len)) return;
  for (let r = 0; r < R; r++) copyFloats(d, (x.shared ? 0 : r * S) + start * inner, out, r * len, len);
}

function concatRows(parts: readonly Rows[], R: number, out: Float32Array): void {
  const sizes = parts.map(sizeOfRows);
  const S = sizes.reduce((x, y) => x + y, 0);
  const data = parts.map((p) => p.data);
  let at = 0;
  parts.forEach((p, k) => {
    if (p.shared || !copyInKernel(data[k]!, 0, sizes[k]!, out, at, S, R, sizes[k]!))
      for (let r = 0; r < R; r++) copyFloats(data[k]!, p.shared ? 0 : r * sizes[k]!, out, r * S + at, sizes[k]!);
    at += sizes[k]!;
  });
}

/**
 * R rows of n floats from `src` (from `from`, rows `srcStride` apart) to `dst` (from `to`, `dstStride` apart) in the
 * WebAssembly copy when both are in the kernel memory; false when they are not (nothing copied).
 */
function copyInKernel(src: Float32Array, from: number, srcStride: number, dst: Float32Array, to: number, dstStride: number, R: number, n: number): boolean {
  const mem = kernelMemory();
  const s = mem?.offsetOf(src), d = mem?.offsetOf(dst);
  return s !== undefined && d !== undefined && copyRowsInKernel(mem!, s + from, d + to, R, n, srcStride, dstStride);
}

/**
 * Token ids a row at a time without the per-row tensors: gather (a shared table's row per id) and one_hot. An id the
 * interpreter would refuse goes to its kernel, which raises its error.
 */
function idRows(n: Node, args: readonly Rows[], env: DimEnv, R: number, out: Float32Array): void {
  const gather = n.op === Op.Gather;
  const ids = gather ? args[1]! : args[0]!;
  const table = args[0]!.data;
  const size = out.length / R;
  const depth = gather ? args[0]!.shape[0]! : size; // one_hot's row is its depth
  if (!gather) out.fill(0);
  for (let r = 0; r < R; r++) {
    const i = ids.data[ids.shared ? 0 : r]!;
    if (!(Number.isInteger(i) && i >= 0 && i < depth)) kernel(n, args.map((a) => rowOf(a, r)), env, "f32"); // throws
    if (gather) out.set(table.subarray(i * size, (i + 1) * size), r * size);
    else out[r * size + i] = 1;
  }
}
