// The interpreter's kernels: one small, obvious loop per op of the IR, on unbatched tensors.
import { maxOf } from "../diagnostics/extremes.js";
import { RnncError } from "../diagnostics/errors.js";
import { Op, type OpsIn } from "../ir/ops.js";
import { alloc, sizeOf, type Precision, type Tensor } from "../runtime/tensor.js";

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Scalar functions of the elementwise unary ops (matching tfjs' definitions). */
export const unaryFns: Record<OpsIn<"unary">, (x: number) => number> = {
  [Op.Neg]: (x) => -x,
  [Op.Sigmoid]: sigmoid,
  [Op.HardSigmoid]: (x) => Math.min(1, Math.max(0, 0.2 * x + 0.5)),
  [Op.Tanh]: Math.tanh,
  [Op.HardTanh]: (x) => Math.min(1, Math.max(-1, x)),
  [Op.Relu]: (x) => (x > 0 ? x : 0),
  [Op.Elu]: (x) => (x > 0 ? x : Math.exp(x) - 1),
  [Op.Selu]: (x) => (x > 0 ? SELU_SCALE * x : SELU_SCALE * SELU_ALPHA * (Math.exp(x) - 1)),
  [Op.Softplus]: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  [Op.Softsign]: (x) => x / (1 + Math.abs(x)),
  [Op.Swish]: (x) => x * sigmoid(x),
  [Op.Gelu]: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
  [Op.Exp]: Math.exp,
  [Op.Log]: Math.log,
  [Op.Abs]: Math.abs,
  [Op.Sqrt]: Math.sqrt,
  [Op.Square]: (x) => x * x,
  [Op.Sin]: Math.sin,
  [Op.Cos]: Math.cos,
  [Op.Identity]: (x) => x,
  [Op.Dropout]: (x) => x, // its meaning; training makes it a product with a mask first (src/runtime/dropout.ts)
  [Op.Step]: (x) => (x > 0 ? 1 : 0),
};

export const binaryFns: Record<OpsIn<"binary">, (a: number, b: number) => number> = {
  [Op.Add]: (a, b) => a + b,
  [Op.Sub]: (a, b) => a - b,
  [Op.Mul]: (a, b) => a * b,
  [Op.Div]: (a, b) => a / b,
  [Op.Maximum]: Math.max,
  [Op.Minimum]: Math.min,
  [Op.Pow]: Math.pow,
};

export function unary(op: OpsIn<"unary">, x: Tensor, p: Precision): Tensor {
  const f = unaryFns[op];
  const out = alloc(x.shape, p);
  for (let i = 0; i < x.data.length; i++) out.data[i] = f(x.data[i]!);
  return out;
}

/** Elementwise with numpy broadcasting. */
export function binary(op: OpsIn<"binary">, a: Tensor, b: Tensor, p: Precision): Tensor {
  const f = binaryFns[op];
  const rank = Math.max(a.shape.length, b.shape.length);
  const pad = (s: readonly number[]) => [...Array(rank - s.length).fill(1), ...s] as number[];
  const as = pad(a.shape);
  const bs = pad(b.shape);
  const shape = as.map((d, i) => Math.max(d, bs[i]!));
  const out = alloc(shape, p);
  const strides = (s: number[]) => s.map((d, i) => (d === 1 ? 0 : sizeOf(s.slice(i + 1))));
  const sa = strides(as);
  const sb = strides(bs);
  const idx = new Array<number>(rank).fill(0);
  for (let k = 0; k < out.data.length; k++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < rank; d++) {
      ia += idx[d]! * sa[d]!;
      ib += idx[d]! * sb[d]!;
    }
    out.data[k] = f(a.data[ia]!, b.data[ib]!);
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** [m,k]@[k] → [m], [k]@[k,n] → [n], [m,k]@[k,n] → [m,n], [k]@[k] → []; sums in float64. */
export function matmul(a: Tensor, b: Tensor, p: Precision): Tensor {
  const m = a.shape.length === 2 ? a.shape[0]! : 1;
  const k = a.shape[a.shape.length - 1]!;
  const n = b.shape.length === 2 ? b.shape[1]! : 1;
  const out = alloc([...a.shape.slice(0, -1), ...b.shape.slice(1)], p);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += a.data[i * k + q]! * b.data[q * n + j]!;
      out.data[i * n + j] = s;
    }
  return out;
}

export function concat0(parts: readonly Tensor[], p: Precision): Tensor {
  const rows = parts.reduce((acc, t) => acc + t.shape[0]!, 0);
  const out = alloc([rows, ...parts[0]!.shape.slice(1)], p);
  let offset = 0;
  for (const t of parts) {
    out.data.set(t.data, offset);
    offset += t.data.length;
  }
  return out;
}

export function slice0(x: Tensor, start: number, end: number, p: Precision): Tensor {
  const inner = sizeOf(x.shape.slice(1));
  const out = alloc([end - start, ...x.shape.slice(1)], p);
  out.data.set(x.data.subarray(start * inner, end * inner));
  return out;
}

/** Softmax, log-softmax, sum and mean over the last axis. */
export function lastAxis(op: OpsIn<"lastAxis" | "reduce">, x: Tensor, p: Precision): Tensor {
  const n = x.shape[x.shape.length - 1]!;
  const rows = x.data.length / n;
  const reduces = op === Op.Sum || op === Op.Mean;
  const out = alloc(reduces ? x.shape.slice(0, -1) : x.shape, p);
  for (let r = 0; r < rows; r++) {
    const row = x.data.subarray(r * n, (r + 1) * n);
    if (reduces) {
      let s = 0;
      for (const v of row) s += v;
      out.data[r] = op === Op.Mean ? s / n : s;
      continue;
    }
    const max = maxOf(row);
    let z = 0;
    for (const v of row) z += Math.exp(v - max);
    for (let j = 0; j < n; j++) out.data[r * n + j] = op === Op.Softmax ? Math.exp(row[j]! - max) / z : row[j]! - max - Math.log(z);
  }
  return out;
}

/** Sums `x` back to `shape`, which broadcasts to x's shape (the adjoint of broadcasting). */
export function reduceTo(x: Tensor, shape: readonly number[], p: Precision): Tensor {
  const out = alloc(shape, p);
  const rank = x.shape.length;
  const pad = [...Array(rank - shape.length).fill(1), ...shape] as number[];
  const strides = pad.map((d, i) => (d === 1 ? 0 : sizeOf(pad.slice(i + 1))));
  const idx = new Array<number>(rank).fill(0);
  for (let k = 0; k < x.data.length; k++) {
    let o = 0;
    for (let d = 0; d < rank; d++) o += idx[d]! * strides[d]!;
    out.data[o] += x.data[k]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < x.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** A token id as a vector of `depth` with a 1 at the id. */
export function oneHot(index: Tensor, depth: number, p: Precision): Tensor {
  const out = alloc([depth], p);
  out.data[checkedId(index.data[0]!, depth)] = 1;
  return out;
}

function checkedId(i: number, rows: number): number {
  if (!Number.isInteger(i) || i < 0 || i >= rows) {
    throw new RnncError("RNN0605", `token id ${i} is out of range: the table has ${rows} rows (ids 0 to ${rows - 1})`,
      ["token ids are whole numbers counted from 0"]);
  }
  return i;
}

/** Row `index` of `table`; an id that is not a whole number in range is an input error. */
export function gather(table: Tensor, index: Tensor, p: Precision): Tensor {
  const i = checkedId(index.data[0]!, table.shape[0]!);
  const row = slice0(table, i, i + 1, p);
  return { shape: table.shape.slice(1), data: row.data };
}

export function transpose2d(x: Tensor, p: Precision): Tensor {
  const [m, n] = [x.shape[0]!, x.shape[1]!];
  const out = alloc([n, m], p);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out.data[j * m + i] = x.data[i * n + j]!;
  return out;
}
