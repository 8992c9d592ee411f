// One example's run of a cell, a step at a time: the building block of the interpreter's cells, scans and generators.
import type { CellIR, Node, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { evalDim } from "../ir/dims.js";
import { reachable } from "../ir/graph.js";
import { opInfo, type OpsIn, type StructuralOp } from "../ir/ops.js";
import { concreteShape, type DimEnv } from "../runtime/dims.js";
import { binary, concat0, gather, lastAxis, matmul, oneHot, reduceTo, slice0, transpose2d, unary } from "./kernels.js";
import { alloc, type Precision, type Tensor } from "../runtime/tensor.js";

export function evalNode(n: Node, v: readonly (Tensor | undefined)[], env: DimEnv, p: Precision, leaf: (n: Node) => Tensor): Tensor {
  if (n.op === Op.Input || n.op === Op.Param || n.op === Op.StateRead) return leaf(n);
  return kernel(n, n.args.map((i) => v[i]!), env, p);
}

/** Computes a non-leaf op of the cell op set from its argument values. */
export function kernel(n: Node, a: readonly Tensor[], env: DimEnv, p: Precision): Tensor {
  if (n.op === Op.Const) {
    const t = alloc([], p);
    t.data[0] = n.attrs.value!;
    return t;
  }
  const category = opInfo[n.op].category;
  if (category === "unary") return unary(n.op as OpsIn<"unary">, a[0]!, p);
  if (category === "binary") return binary(n.op as OpsIn<"binary">, a[0]!, a[1]!, p);
  const k = structural[n.op as StructuralOp];
  if (!k) throw new Error(`internal: no kernel for ${n.op}`);
  return k(n, a, env, p);
}

const shapeOf = (n: Node, env: DimEnv): number[] => concreteShape(n.attrs.shape!, env, `the result of ${n.op}`);
/** The interpreter's kernel for each op that is neither elementwise, a leaf nor a sequence construct. */
const structural: Record<StructuralOp, (n: Node, a: readonly Tensor[], env: DimEnv, p: Precision) => Tensor> = {
  [Op.MatMul]: (_, a, __, p) => matmul(a[0]!, a[1]!, p),
  [Op.Concat]: (_, a, __, p) => concat0(a, p),
  [Op.Gather]: (_, a, __, p) => gather(a[0]!, a[1]!, p),
  [Op.Transpose]: (_, a, __, p) => transpose2d(a[0]!, p),
  [Op.Slice]: (n, a, env, p) => slice0(a[0]!, evalDim(n.attrs.start!, env)!, evalDim(n.attrs.end!, env)!, p),
  [Op.Softmax]: (_, a, __, p) => lastAxis(Op.Softmax, a[0]!, p),
  [Op.LogSoftmax]: (_, a, __, p) => lastAxis(Op.LogSoftmax, a[0]!, p),
  [Op.Sum]: (_, a, __, p) => lastAxis(Op.Sum, a[0]!, p),
  [Op.Mean]: (_, a, __, p) => lastAxis(Op.Mean, a[0]!, p),
  [Op.Reshape]: (n, a, env, p) => withPrecision({ shape: shapeOf(n, env), data: a[0]!.data }, p),
  [Op.BroadcastTo]: (n, a, env, p) => fillTo(a[0]!, shapeOf(n, env), p),
  [Op.ReduceTo]: (n, a, env, p) => reduceTo(a[0]!, shapeOf(n, env), p),
  [Op.OneHot]: (n, a, env, p) => oneHot(a[0]!, evalDim(n.attrs.depth!, env)!, p),
};

/** Broadcasts a tensor to `shape` (an initial value given as a scalar fills the state). */
export function fillTo(t: Tensor, shape: readonly number[], p: Precision): Tensor {
  return binary(Op.Add, alloc(shape, p), t, p);
}

export function withPrecision(t: Tensor, p: Precision): Tensor {
  const want = p === "f64" ? Float64Array : Float32Array;
  return t.data instanceof want ? t : { shape: t.shape, data: want.from(t.data) };
}

/** A cell compiled for one example: call `step` with the inputs of each step in turn. */
export class CellStepper {
  private readonly stepNodes: Node[];
  /** history[name][k-1] is the state k steps back. */
  private readonly history = new Map<string, Tensor[]>();

  /** `params` must hold the cell's params under their names in the IR; `initial` overrides states' declared initial values. */
  constructor(
    readonly ir: CellIR,
    private readonly env: DimEnv,
    private readonly params: ReadonlyMap<string, Tensor>,
    private readonly p: Precision,
    initial: ReadonlyMap<string, Tensor> = new Map(),
    /** Called after every step with the value of each node in `watch.nodes` (computed even where nothing else reads it). */
    private readonly watch?: { readonly nodes: readonly NodeId[]; onStep(values: readonly (Tensor | undefined)[]): void },
  ) {
    this.stepNodes = reachable(ir.nodes, [...ir.outputs.map((o) => o.node), ...ir.states.map((s) => s.update), ...(watch?.nodes ?? [])]);
    const initVals: (Tensor | undefined)[] = [];
    for (const n of reachable(ir.nodes, ir.states.map((s) => s.init))) initVals[n.id] = evalNode(n, initVals, env, p, (leaf) => this.param(leaf));
    for (const s of ir.states) {
      const shape = concreteShape(s.shape, env, `state ${s.name}`);
      const start = initial.get(s.name) ?? fillTo(initVals[s.init]!, shape, p);
      this.history.set(s.name, Array.from({ length: Math.max(1, s.maxLag) }, () => start));
    }
  }

  private param(n: Node): Tensor {
    const t = this.params.get(n.attrs.name!);
    if (!t) throw new Error(`internal: no value for param ${n.attrs.name}`);
    return t;
  }

  /** Runs one step; returns every output by name. States advance. */
  step(inputs: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
    const v: (Tensor | undefined)[] = [];
    const leaf = (n: Node): Tensor => {
      if (n.op === Op.Param) return this.param(n);
      if (n.op === Op.Input) return inputs.get(n.attrs.name!)!;
      return this.history.get(n.attrs.name!)![n.attrs.lag! - 1]!;
    };
    for (const n of this.stepNodes) v[n.id] = evalNode(n, v, this.env, this.p, leaf);
    this.watch?.onStep(v);
    for (const s of this.ir.states) {
      const h = this.history.get(s.name)!;
      h.unshift(v[s.update]!);
      h.length = Math.max(1, s.maxLag);
    }
    return new Map(this.ir.outputs.map((o) => [o.name, v[o.node]!]));
  }

  /** The current value of every state (after the last step). */
  states(): Map<string, Tensor> {
    return new Map([...this.history].map(([k, h]) => [k, h[0]!]));
  }
}
