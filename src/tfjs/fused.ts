// A scan as one tfjs op with its own gradient: the fused kernel forward, backpropagation through time as the gradient.
import * as tf from "@tensorflow/tfjs";
import { FusedScan } from "../fused/scan.js";
import type { CellIR } from "../ir/ir.js";
import type { DimEnv } from "../runtime/dims.js";
import { concreteShape } from "../runtime/dims.js";

export interface FusedCall {
  /** Per cell input: the sequence time-major, [T·B, …]. */
  readonly xs: readonly tf.Tensor[];
  readonly T: number;
  /** Given initial states by name ([B, …]); the others start from their declared constants. */
  readonly init: ReadonlyMap<string, tf.Tensor>;
  /** The cell's params by IR name (tf.Variables when training). */
  readonly params: ReadonlyMap<string, tf.Tensor>;
  readonly lengths: readonly number[] | undefined;
  readonly reverse: boolean;
  readonly batch: number;
  /** A gradient may be taken: the op records what the backward pass needs (else a plain forward, no tape). */
  readonly training: boolean;
}

/** Tensors' data as the kernel reads it, by their data (weights are read once, not at every call). */
const readData = new WeakMap<object, Float32Array>();

/** The first output, time-major [T·B, …], and every final state, computed by the fused kernel as one differentiable op. */
export function fusedScanOp(kernel: FusedScan, call: FusedCall): { ys: tf.Tensor; finals: Map<string, tf.Tensor> } {
  const cell: CellIR = kernel.cell;
  const env: DimEnv = kernel.env;
  const B = call.batch;
  const T = call.T;
  const shapeOf = (s: CellIR["states"][number]["shape"], what: string) => concreteShape(s, env, what);
  const yShape = shapeOf(cell.nodes[cell.outputs[0]!.node]!.shape, "the output");
  const stateShapes = cell.states.map((s) => shapeOf(s.shape, `state ${s.name}`));
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  const initNames = cell.states.map((s) => s.name).filter((n) => call.init.has(n));
  const paramNames = cell.params.map((p) => p.name);
  // Every input of the op: time-major sequences [T*B, …] as they come, given initial states, params.
  const seqs = call.xs;
  const inputs = [...seqs, ...initNames.map((n) => call.init.get(n)!), ...paramNames.map((n) => call.params.get(n)!)];
  // The kernel only reads its inputs, so float data is used as tfjs gives it; token ids become floats.
  const data = (t: tf.Tensor): Float32Array => {
    // A tensor's data never changes (a variable's assign gives it new data): read once, then from the cache.
    const known = readData.get(t.dataId);
    if (known) return known;
    const d = t.dataSync();
    const f = d instanceof Float32Array ? d : Float32Array.from(d);
    readData.set(t.dataId, f);
    return f;
  };
  /** The kernel's forward pass on the op's inputs (its outputs, final states and tape), and the params it read. */
  const forward = (ts: readonly tf.Tensor[], training: boolean) => {
    const params = new Map(paramNames.map((n, k) => [n, data(ts[seqs.length + initNames.length + k]!)]));
    const init = new Map(initNames.map((n, k) => [n, data(ts[seqs.length + k]!)]));
    const run = { T, B, xs: seqs.map((_, k) => data(ts[k]!)), init, reverse: call.reverse, ...(call.lengths ? { lengths: call.lengths } : {}) };
    return { out: kernel.forward(params, run, training), params };
  };
  /** The output's steps, then each final state, in one array: the one tensor a gradient function returns. */
  const joined = (out: ReturnType<FusedScan["forward"]>): Float32Array => {
    const packed = new Float32Array(out.ys[0]!.length + stateShapes.reduce((a, s) => a + B * size(s), 0));
    packed.set(out.ys[0]!, 0);
    let at = out.ys[0]!.length;
    for (const s of cell.states) {
      packed.set(out.finals.get(s.name)!, at);
      at += out.finals.get(s.name)!.length;
    }
    return packed;
  };
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const ts = args.slice(0, inputs.length) as tf.Tensor[];
    const { out, params } = forward(ts, true);
    return {
      value: tf.tensor1d(joined(out)),
      gradFunc: (dy: tf.Tensor) => {
        const d = dy.dataSync() as Float32Array; // only read: its parts are views
        const dys = [d.subarray(0, out.ys[0]!.length), ...out.ys.slice(1).map(() => undefined)];
        let from = out.ys[0]!.length;
        const dFinals = new Map(cell.states.map((s, k) => {
          const n = B * size(stateShapes[k]!);
          const part = d.subarray(from, from + n);
          from += n;
          return [s.name, part] as const;
        }));
        const g = kernel.backward(params, out.tape, dys, dFinals);
        return [
          ...seqs.map((x, k) => (g.dxs[k] ? tf.tensor(g.dxs[k]!, x.shape) : tf.zerosLike(x))),
          ...initNames.map((n, k) => tf.tensor(g.dInit.get(n)!, ts[seqs.length + k]!.shape)),
          ...paramNames.map((n, k) => tf.tensor(g.dParams.get(n)!, ts[seqs.length + initNames.length + k]!.shape)),
        ];
      },
    };
  });
  if (!call.training) {
    // A forward pass alone: the output and each final state as tensors of their own (no joined copy to cut apart).
    const { out } = forward(inputs, false);
    return {
      ys: tf.tensor(out.ys[0]!, [T * B, ...yShape]),
      finals: new Map(cell.states.map((s, k) => [s.name, tf.tensor(out.finals.get(s.name)!, [B, ...stateShapes[k]!])])),
    };
  }
  const packed = f(...inputs);
  const yLen = T * B * size(yShape);
  const ys = tf.reshape(tf.slice(packed, [0], [yLen]), [T * B, ...yShape]);
  const finals = new Map<string, tf.Tensor>();
  let at = yLen;
  cell.states.forEach((s, k) => {
    const n = B * size(stateShapes[k]!);
    finals.set(s.name, tf.reshape(tf.slice(packed, [at], [n]), [B, ...stateShapes[k]!]));
    at += n;
  });
  return { ys, finals };
}
