// tfjs kernels for the IR's op set on batched values: a value either has a leading batch axis or is shared by all examples.
import * as tf from "@tensorflow/tfjs";
import { evalDim } from "../ir/dims.js";
import type { Node } from "../ir/ir.js";
import { Op, opInfo, type OpsIn, type StructuralOp } from "../ir/ops.js";
import type { DimEnv } from "../runtime/dims.js";

/** A tensor and whether its first axis is the batch (params and constants are not). */
export interface TfValue {
  readonly t: tf.Tensor;
  readonly batched: boolean;
}

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

export const unaryTf: Record<OpsIn<"unary">, (x: tf.Tensor) => tf.Tensor> = {
  [Op.Neg]: tf.neg,
  [Op.Sigmoid]: tf.sigmoid,
  [Op.HardSigmoid]: (x) => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1),
  [Op.Tanh]: tf.tanh,
  [Op.HardTanh]: (x) => tf.clipByValue(x, -1, 1),
  [Op.Relu]: tf.relu,
  [Op.Elu]: tf.elu,
  [Op.Selu]: (x) => tf.where(tf.greater(x, 0), tf.mul(x, SELU_SCALE), tf.mul(tf.sub(tf.exp(x), 1), SELU_SCALE * SELU_ALPHA)),
  [Op.Softplus]: tf.softplus,
  [Op.Softsign]: (x) => tf.div(x, tf.add(tf.abs(x), 1)),
  [Op.Swish]: (x) => tf.mul(x, tf.sigmoid(x)),
  [Op.Gelu]: (x) => tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))), 1)),
  [Op.Exp]: tf.exp,
  [Op.Log]: tf.log,
  [Op.Abs]: tf.abs,
  [Op.Sqrt]: tf.sqrt,
  [Op.Square]: tf.square,
  [Op.Sin]: tf.sin,
  [Op.Cos]: tf.cos,
  [Op.Identity]: (x) => x,
  [Op.Dropout]: (x) => x, // its meaning; training makes it a product with a mask first (src/runtime/dropout.ts)
  [Op.Step]: (x) => tf.step(x),
};

const binaryTf: Record<OpsIn<"binary">, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
  [Op.Add]: tf.add, [Op.Sub]: tf.sub, [Op.Mul]: tf.mul, [Op.Div]: tf.div,
  [Op.Maximum]: tf.maximum, [Op.Minimum]: tf.minimum, [Op.Pow]: tf.pow,
};

/** Inserts size-1 axes after the batch axis so a batched value of rank r broadcasts against rank R. */
function lift(v: TfValue, rank: number): tf.Tensor {
  const r = v.t.rank - (v.batched ? 1 : 0);
  if (!v.batched || r >= rank) return v.t;
  return tf.reshape(v.t, [v.t.shape[0]!, ...Array(rank - r).fill(1), ...v.t.shape.slice(1)]);
}

export function binaryOp(op: OpsIn<"binary">, a: TfValue, b: TfValue): TfValue {
  const rank = Math.max(a.t.rank - Number(a.batched), b.t.rank - Number(b.batched));
  return { t: binaryTf[op](lift(a, rank), lift(b, rank)), batched: a.batched || b.batched };
}

export function batchedOf(v: TfValue, batch: number): tf.Tensor {
  return v.batched ? v.t : tf.broadcastTo(v.t, [batch, ...v.t.shape]);
}

/** Per-example matrix products with the batch axis handled: the common cases map to one matMul with no transposes materialized. */
export function matmulOp(a: TfValue, b: TfValue, batch: number): TfValue {
  const ra = a.t.rank - Number(a.batched);
  const rb = b.t.rank - Number(b.batched);
  if (!a.batched && !b.batched) {
    const a2 = ra === 1 ? tf.reshape(a.t, [1, -1]) : a.t;
    const b2 = rb === 1 ? tf.reshape(b.t, [-1, 1]) : b.t;
    const out = tf.matMul(a2, b2);
    const shape = [...(ra === 2 ? [a.t.shape[0]!] : []), ...(rb === 2 ? [b.t.shape[1]!] : [])];
    return { t: tf.reshape(out, shape), batched: false };
  }
  if (!a.batched && ra === 2 && rb === 1) return { t: tf.matMul(b.t, a.t, false, true), batched: true };       // W[m,k] @ x[B,k]
  if (!b.batched && ra === 1 && rb === 2) return { t: tf.matMul(a.t, b.t), batched: true };                    // x[B,k] @ W[k,n]
  if (!b.batched && ra === 2 && rb === 2) {                                                                    // X[B,m,k] @ W[k,n]
    const [B, m, k] = a.t.shape as number[];
    return { t: tf.reshape(tf.matMul(tf.reshape(a.t, [B! * m!, k!]), b.t), [B!, m!, b.t.shape[1]!]), batched: true };
  }
  const A = batchedOf(a, batch);
  const Bt = batchedOf(b, batch);
  if (ra === 1 && rb === 1) return { t: tf.sum(tf.mul(A, Bt), -1), batched: true };
  if (ra === 2 && rb === 1) return { t: tf.squeeze(tf.matMul(A, tf.expandDims(Bt, 2)), [2]), batched: true };
  if (ra === 1 && rb === 2) return { t: tf.squeeze(tf.matMul(tf.expandDims(A, 1), Bt), [1]), batched: true };
  return { t: tf.matMul(A, Bt), batched: true };
}

export function concatOp(parts: readonly TfValue[], batch: number): TfValue {
  if (parts.every((p) => !p.batched)) return { t: tf.concat(parts.map((p) => p.t), 0), batched: false };
  return { t: tf.concat(parts.map((p) => batchedOf(p, batch)), 1), batched: true };
}

export function sliceOp(x: TfValue, start: number, end: number): TfValue {
  const axis = x.batched ? 1 : 0;
  const begin = x.t.shape.map((_, i) => (i === axis ? start : 0));
  const size = x.t.shape.map((d, i) => (i === axis ? end - start : d!));
  return { t: tf.slice(x.t, begin, size), batched: x.batched };
}

export function gatherOp(table: TfValue, index: TfValue): TfValue {
  if (table.batched) throw new Error("internal: gather from a batched table");
  const t = tf.getBackend() === "wasm" ? gatherWithProductGradient(table.t, index.t) : tf.gather(table.t, tf.cast(index.t, "int32"), 0);
  return { t, batched: index.batched };
}

/**
 * Rows of a table, with the table's gradient as one product one_hot(ids)ᵀ · dy. tfjs' own gradient of gather is
 * UnsortedSegmentSum, which the wasm backend lacks; the product costs rows × ids × row size, small for vocabularies.
 * The ids are an input of the op (not captured), so the tape keeps them alive until the backward pass.
 */
function gatherWithProductGradient(table: tf.Tensor, index: tf.Tensor): tf.Tensor {
  const rows = table.shape[0]!;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [t, ids, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([ids]);
    return {
      value: tf.gather(t, tf.cast(ids, "int32"), 0),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const hot = tf.cast(tf.oneHot(tf.reshape(tf.cast(saved[0]!, "int32"), [-1]), rows), "float32"); // wasm ignores oneHot's dtype
        return [tf.reshape(tf.matMul(hot, tf.reshape(dy, [hot.shape[0]!, -1]), true, false), table.shape), tf.zerosLike(saved[0]!)];
      },
    };
  });
  return f(table, tf.cast(index, "float32"));
}

const lastAxisTf: Record<OpsIn<"lastAxis" | "reduce">, (x: tf.Tensor) => tf.Tensor> = {
  [Op.Softmax]: (x) => tf.softmax(x),
  [Op.LogSoftmax]: (x) => tf.logSoftmax(x),
  [Op.Sum]: (x) => tf.sum(x, -1),
  [Op.Mean]: (x) => tf.mean(x, -1),
};

export function lastAxisOp(op: OpsIn<"lastAxis" | "reduce">, x: TfValue): TfValue {
  return { t: lastAxisTf[op](x.t), batched: x.batched };
}

/** Sums a value back to `to` (per example), which broadcasts to its shape: the adjoint of broadcasting. */
function reduceToOp(x: TfValue, to: readonly number[]): TfValue {
  const lead = Number(x.batched);
  const shape = x.t.shape.slice(lead);
  const extra = shape.length - to.length;
  const axes = shape.flatMap((d, i) => (i < extra || (to[i - extra] === 1 && d !== 1) ? [i + lead] : []));
  const summed = axes.length ? tf.sum(x.t, axes) : x.t;
  return { t: tf.reshape(summed, x.batched ? [x.t.shape[0]!, ...to] : [...to]), batched: x.batched };
}

const dimsOf = (n: Node, env: DimEnv): number[] => n.attrs.shape!.map((d) => evalDim(d, env)!);
/** The lowering of each op that is neither elementwise, a leaf nor a sequence construct. */
const structuralTf: Record<StructuralOp, (n: Node, a: readonly TfValue[], env: DimEnv, batch: number) => TfValue> = {
  [Op.MatMul]: (_, a, __, batch) => matmulOp(a[0]!, a[1]!, batch),
  [Op.Concat]: (_, a, __, batch) => concatOp(a, batch),
  [Op.Transpose]: (_, a) => ({ t: tf.transpose(a[0]!.t, a[0]!.batched ? [0, 2, 1] : [1, 0]), batched: a[0]!.batched }),
  [Op.Slice]: (n, a, env) => sliceOp(a[0]!, evalDim(n.attrs.start!, env)!, evalDim(n.attrs.end!, env)!),
  [Op.Gather]: (_, a) => gatherOp(a[0]!, a[1]!),
  [Op.Softmax]: (_, a) => lastAxisOp(Op.Softmax, a[0]!),
  [Op.LogSoftmax]: (_, a) => lastAxisOp(Op.LogSoftmax, a[0]!),
  [Op.Sum]: (_, a) => lastAxisOp(Op.Sum, a[0]!),
  [Op.Mean]: (_, a) => lastAxisOp(Op.Mean, a[0]!),
  [Op.Reshape]: (n, [x], env) => ({ t: tf.reshape(x!.t, x!.batched ? [x!.t.shape[0]!, ...dimsOf(n, env)] : dimsOf(n, env)), batched: x!.batched }),
  [Op.BroadcastTo]: (n, [x], env, batch) => {
    const to = dimsOf(n, env);
    return x!.batched ? { t: tf.broadcastTo(lift(x!, to.length), [batch, ...to]), batched: true } : { t: tf.broadcastTo(x!.t, to), batched: false };
  },
  [Op.ReduceTo]: (n, [x], env) => reduceToOp(x!, dimsOf(n, env)),
  [Op.OneHot]: (n, [i], env) => ({ t: tf.cast(tf.oneHot(tf.cast(i!.t, "int32"), evalDim(n.attrs.depth!, env)!), "float32"), batched: i!.batched }),
};

/** A non-leaf op of the cell op set on batched values: the one lowering shared by cells and models. */
export function tfKernel(n: Node, a: readonly TfValue[], env: DimEnv, batch: number): TfValue {
  if (n.op === Op.Const) return { t: tf.scalar(n.attrs.value!), batched: false };
  const category = opInfo[n.op].category;
  if (category === "unary") return { t: unaryTf[n.op as OpsIn<"unary">](a[0]!.t), batched: a[0]!.batched };
  if (category === "binary") return binaryOp(n.op as OpsIn<"binary">, a[0]!, a[1]!);
  const lower = structuralTf[n.op as StructuralOp];
  if (!lower) throw new Error(`internal: op ${n.op} has no tfjs lowering`);
  return lower(n, a, env, batch);
}
