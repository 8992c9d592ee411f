// Shape rules of the op set on symbolic shapes: the result shape, or why there is none and which mistake that is.
import { dimAdd, dimConst, dimEquals, dimMul, dimToString, dimValue, shapeEquals, shapeToString, type Dim, type Shape } from "./dims.js";

/**
 * A result shape, or the reason there is none with the diagnostic code of that mistake, the same wherever it is made:
 * RNN0301 mismatched inner dimensions of a product, RNN0302 shapes that do not broadcast or join, RNN0304 an operand of the wrong kind.
 */
export type ShapeResult = { ok: true; shape: Shape } | { ok: false; reason: string; code: ShapeErrorCode };
export type ShapeErrorCode = "RNN0301" | "RNN0302" | "RNN0304";

const ok = (shape: Shape): ShapeResult => ({ ok: true, shape });
const fail = (reason: string, code: ShapeErrorCode = "RNN0304"): ShapeResult => ({ ok: false, reason, code });

/** Elementwise ops keep their operand's shape. */
export const sameShape = (s: Shape): ShapeResult => ok(s);

/** Matrix product per example: [m,k]@[k] → [m], [k]@[k,n] → [n], [m,k]@[k,n] → [m,n], [k]@[k] → []. */
export function matmulShape(a: Shape, b: Shape): ShapeResult {
  if (a.length === 0 || b.length === 0) return fail("a matrix product needs vectors or matrices on both sides; use `*` to scale by a scalar");
  if (a.length > 2 || b.length > 2) return fail("a matrix product takes values of rank 1 or 2");
  const inner = a[a.length - 1]!;
  const innerB = b[0]!;
  if (!dimEquals(inner, innerB)) return fail(`inner dimensions ${dimToString(inner)} and ${dimToString(innerB)} differ`, "RNN0301");
  return ok([...a.slice(0, -1), ...b.slice(1)]);
}

/** Numpy broadcasting: trailing dims must be equal or 1. */
export function broadcastShape(a: Shape, b: Shape): ShapeResult {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i];
    const db = b[b.length - n + i];
    if (da === undefined) out.push(db!);
    else if (db === undefined) out.push(da);
    else if (dimEquals(da, db)) out.push(da);
    else if (dimValue(da) === 1) out.push(db);
    else if (dimValue(db) === 1) out.push(da);
    else return fail(`dimension ${dimToString(da)} does not match ${dimToString(db)}`, "RNN0302");
  }
  return ok(out);
}

/** Joins along the first axis: all ranks ≥ 1 and equal, trailing dims equal. */
export function concatShape(parts: readonly Shape[]): ShapeResult {
  const first = parts[0]!;
  if (parts.some((p) => p.length === 0)) return fail("cannot concatenate scalars; every part needs at least one axis", "RNN0302");
  let total: Dim = dimConst(0);
  for (const p of parts) {
    if (p.length !== first.length || !p.slice(1).every((d, i) => dimEquals(d, first[i + 1]!)))
      return fail("every part must have the same rank and the same dimensions after the first", "RNN0302");
    total = dimAdd(total, p[0]!);
  }
  return ok([total, ...first.slice(1)]);
}

/** `v[start:end]` on the first axis; bounds checked when their difference is a known number. */
export function sliceShape(s: Shape, start: Dim, end: Dim): ShapeResult {
  if (s.length === 0) return fail("a scalar has no axis to slice");
  const size = s[0]!;
  const len = dimAdd(end, start, -1);
  const lenV = dimValue(len);
  if (lenV !== undefined && lenV <= 0) return fail(`the slice ${dimToString(start)}:${dimToString(end)} is empty`);
  const sv = dimValue(start);
  if (sv !== undefined && sv < 0) return fail("a slice cannot start before 0");
  const over = dimValue(dimAdd(end, size, -1));
  if (over !== undefined && over > 0) return fail(`the slice ends at ${dimToString(end)}, past the axis length ${dimToString(size)}`);
  return ok([len, ...s.slice(1)]);
}

/** Reductions and softmax work on the last axis; a reduction drops it. */
export function lastAxisShape(s: Shape, reduces: boolean): ShapeResult {
  if (s.length === 0) return fail("a scalar has no axis to reduce");
  return ok(reduces ? s.slice(0, -1) : s);
}

/** `gather(table, i)`: row i of the table; i is an integer scalar. */
export function gatherShape(table: Shape, index: Shape, indexType: "float" | "int"): ShapeResult {
  if (table.length === 0) return fail("the table must have at least one axis");
  if (index.length !== 0) return fail("the index must be a single token id (shape [])");
  if (indexType !== "int") return fail("the index must be an `int` input (declare it `input token: [] int`)");
  return ok(table.slice(1));
}

/** `transpose(W)`: [m, n] → [n, m]. */
export function transposeShape(s: Shape): ShapeResult {
  return s.length === 2 ? ok([s[1]!, s[0]!]) : fail("only a matrix (rank 2) can be transposed");
}

const elements = (s: Shape): Dim => s.reduce((n, d) => dimMul(n, d), dimConst(1));

/** The same elements in another shape: the element counts must agree. */
export function reshapeShape(s: Shape, to: Shape): ShapeResult {
  return dimEquals(elements(s), elements(to)) ? ok(to) : fail(`cannot reshape ${shapeToString(s)} to ${shapeToString(to)}`, "RNN0302");
}

/** Broadcasting to a given shape: the argument must broadcast to exactly that shape. */
export function broadcastToShape(s: Shape, to: Shape): ShapeResult {
  const r = broadcastShape(s, to);
  return r.ok && shapeEquals(r.shape, to) ? ok(to) : fail(`${shapeToString(s)} does not broadcast to ${shapeToString(to)}`, "RNN0302");
}

/** The adjoint of broadcasting: `to` must broadcast to the argument's shape. */
export function reduceToShape(s: Shape, to: Shape): ShapeResult {
  const r = broadcastShape(to, s);
  return r.ok && shapeEquals(r.shape, s) ? ok(to) : fail(`${shapeToString(s)} does not reduce to ${shapeToString(to)}`, "RNN0302");
}

/** `one_hot(i)`: an integer scalar as a vector of `depth`. */
export function oneHotShape(index: Shape, indexType: "float" | "int", depth: Dim): ShapeResult {
  if (index.length !== 0 || indexType !== "int") return fail("one_hot takes an integer scalar");
  return ok([depth]);
}
