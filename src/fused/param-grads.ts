// Parameter gradients summed over all rows (steps × batch) at once: an outer product's sum as one product, linear ops after the sum.
import { evalDim, shapeEquals } from "../ir/dims.js";
import type { Node, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import type { DimEnv } from "../runtime/dims.js";
import { evalRows, sharedRows, type Rows } from "./batched.js";
import { gemm, mat } from "./gemm.js";
import type { OwnArrays } from "./slots.js";

/** Ops f with f(Σ x_r) = Σ f(x_r) on their per-example arguments. */
const linear = new Set<Op>([Op.Neg, Op.Reshape, Op.Slice, Op.Transpose, Op.ReduceTo, Op.BroadcastTo, Op.Identity, Op.Dropout, Op.Sum, Op.Mean, Op.Concat]);

/**
 * Σ over `R` rows of each node's per-example value. `known` gives the values the backward pass kept (all R rows) and
 * the shared ones; the rest is computed from them. Σ_r a_r ⊗ b_r (the gradient of a weight in a product) is one
 * product Aᵀ·B, never R outer products.
 */
export function sumOverRows(nodes: readonly Node[], ids: readonly NodeId[], known: (id: NodeId) => Rows | undefined, env: DimEnv, R: number, arrays?: OwnArrays, borrow = false): Float32Array[] {
  const memo = new Map<NodeId, Rows>();
  // Work arrays (each node's value over the rows by its id, each sum by ~id) from `arrays`, reused from call to call:
  // no new memory for every product's result at each backward pass.
  const sumPlace = (i: NodeId, length: number): Float32Array => (arrays ? arrays.place(~i, length) : new Float32Array(length));
  // Shared by every param: stacked weights' gradients are slices of one sum.
  const sums = new Map<NodeId, Float32Array>();
  const full = (i: NodeId): Rows => {
    const k = known(i) ?? memo.get(i);
    if (k) return k;
    const n = nodes[i]!;
    const v = evalRows(n, n.args.map(full), env, R, arrays);
    memo.set(i, v);
    return v;
  };
  const shapeOf = (i: NodeId) => nodes[i]!.shape.map((d) => evalDim(d, env)!);
  const sum = (i: NodeId): Float32Array => {
    let s = sums.get(i);
    if (!s) sums.set(i, (s = sumOf(i)));
    return s;
  };
  const sumOf = (i: NodeId): Float32Array => {
    const n = nodes[i]!;
    const k = known(i);
    if (k) return k.shared ? scaled(k.data, R) : columnSums(k, R);
    if (!n.batched) return scaled(full(i).data, R);
    const [a, b] = n.args;
    if ((n.op === Op.Add || n.op === Op.Sub) && shapeEquals(nodes[a!]!.shape, nodes[b!]!.shape) && shapeEquals(nodes[a!]!.shape, n.shape)) {
      const x = sum(a!), y = sum(b!);
      return x.map((v, j) => (n.op === Op.Add ? v + y[j]! : v - y[j]!));
    }
    const outerSum = (mul: Node, transposed: boolean): Float32Array | undefined => {
      const [x, y] = mul.args;
      if (mul.op !== Op.Mul || !nodes[x!]!.batched || !nodes[y!]!.batched) return undefined;
      const outer = outerOf(nodes, x!, y!) ?? outerOf(nodes, y!, x!);
      if (!outer) return undefined;
      const [col, row] = transposed ? [outer[1], outer[0]] : outer;
      const [m, kk] = [shapeOf(col)[0]!, shapeOf(row)[0]!];
      const out = sumPlace(i, m * kk);
      const [cols, rows] = [full(col), full(row)]; // both computed before either's view is taken (a view of the kernel memory lasts until it grows)
      gemm(m, kk, R, mat(cols.data, 0, true), mat(rows.data), out); // Σ_r col_r ⊗ row_r = Colᵀ · Row
      return out;
    };
    /**
     * Σ_r X_rᵀ·Y_r and Σ_r x_r·Y_r over per-example matrices (a weight applied to every position of a sequence read
     * whole): the rows of every example stacked, one product of [R·k] rows.
     */
    const stackedProduct = (mul: Node): Float32Array | undefined => {
      const [x, y] = mul.args.map((id) => nodes[id]!) as [Node, Node];
      if (!x.batched || !y.batched || y.shape.length !== 2) return undefined;
      const [k, cols] = shapeOf(y.id) as [number, number];
      const transposed = x.op === Op.Transpose && x.shape.length === 2 && nodes[x.args[0]!]!.batched;
      if (!transposed && x.shape.length !== 1) return undefined;
      const m = transposed ? shapeOf(x.id)[0]! : 1;
      const out = sumPlace(i, m * cols);
      const [xs, ys] = [full(transposed ? x.args[0]! : x.id), full(y.id)]; // both before either's view is taken
      gemm(m, cols, R * k, mat(xs.data, 0, transposed), mat(ys.data), out);
      return out;
    };
    // Σ col ⊗ row as one product; its transpose (the gradient of a weight the step reads transposed) as the swapped product.
    const product = outerSum(n, false) ?? (n.op === Op.Transpose ? outerSum(nodes[a!]!, true) : undefined);
    if (product) return product;
    const stacked = n.op === Op.MatMul ? stackedProduct(n) : undefined;
    if (stacked) return stacked;
    const args = n.args.map((x) => nodes[x]!);
    const oneShared = (n.op === Op.Mul || (n.op === Op.Div && !args[1]!.batched)) && args.filter((x) => x.batched).length === 1;
    if (oneShared || (linear.has(n.op) && args.every((x) => x.batched))) {
      const parts = n.args.map((x) => (nodes[x]!.batched ? sharedRows(sum(x), shapeOf(x)) : full(x)));
      return evalRows(n, parts, env, 1, arrays && { place: (id, length) => sumPlace(id, length) }).data;
    }
    const f = full(i);
    return columnSums(f, R, sumPlace(i, f.data.length / R));
  };
  // Copies, unless the caller borrows them: then the sums as they are (work arrays, or values they are views of),
  // read at once and never written (Float32Array.from would walk an iterator: 2.5× slower than this copy).
  return ids.map((id) => (borrow ? sum(id) : new Float32Array(sum(id))));
}

/** When `a` is a per-example column vector reshaped from [m] to [m, 1] and `b` a vector [k]: the two vectors. */
function outerOf(nodes: readonly Node[], a: NodeId, b: NodeId): [NodeId, NodeId] | undefined {
  const r = nodes[a]!;
  if (r.op !== Op.Reshape || r.shape.length !== 2 || nodes[b]!.shape.length !== 1) return undefined;
  const inner = nodes[r.args[0]!]!;
  return inner.shape.length === 1 ? [inner.id, b] : undefined;
}

function scaled(x: Float32Array, k: number): Float32Array {
  return x.map((v) => v * k);
}

/** Σ over the R rows: one product 1ᵀ·V in the SIMD kernel (a JS loop over T·B·4H elements was 4% of a training step). */
function columnSums(v: Rows, R: number, out: Float32Array = new Float32Array(v.data.length / R)): Float32Array {
  const size = v.data.length / R;
  if (ones.length < R) ones = new Float32Array(R).fill(1);
  gemm(1, size, R, mat(ones), mat(v.data), out);
  return out;
}
let ones = new Float32Array(0);
