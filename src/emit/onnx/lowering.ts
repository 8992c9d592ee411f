// Every computing op as ONNX nodes, one row each (a total table: a new op is a type error here until it has its row or an
// expansion into primitives in the op table), for cell steps and model-level ops alike.
import { RnncError } from "../../diagnostics/errors.js";
import { evalDim } from "../../ir/dims.js";
import type { Node } from "../../ir/ir.js";
import { computeInfo, Op, type CompositeOp, type ComputeOp, type Differ, type ShapeAttrs } from "../../ir/ops.js";
import type { DimEnv } from "../../runtime/dims.js";
import type { OnnxGraph } from "./graph.js";
import { attr, DType } from "./proto.js";

/**
 * An argument: its value's name, how many leading axes it has before its own (0 for params and constants, 1 for a
 * batch, 2 for a batch and time), and its own rank.
 */
export interface Operand { readonly name: string; readonly lead: number; readonly rank: number }

/** What a row lowers with. */
export interface LowerContext {
  readonly g: OnnxGraph;
  readonly n: Node;
  readonly args: readonly Operand[];
  readonly env: DimEnv;
  /** The result's leading axes: the most any argument has. */
  readonly lead: number;
  /** An int64 [1] tensor holding the batch size (to repeat a shared value for every example). */
  batch(): string;
  /** A param's transpose as an initializer of its own (a step's `W @ x` as one product against Wᵀ), when `id` is a param. */
  transposedParam?(k: number): string | undefined;
  /** Says why this op cannot be exported in this place. */
  cannot(why: string): RnncError;
}

type Lowering = (c: LowerContext) => string;

const one = (c: LowerContext, op: string, inputs: readonly string[], attributes: object[] = []): string => c.g.node(op, [...inputs], 1, attributes)[0]!;
const scalar = (c: LowerContext, x: number): string => c.g.init("c", [], [x]);
const dims = (c: LowerContext): number[] => c.n.shape.map((d) => evalDim(d, c.env)!);
const x0 = (c: LowerContext): string => c.args[0]!.name;

/** An argument with axes added so it lines up with the result: time after a batch it lacks, then per-example axes up to rank `rank`. */
function aligned(c: LowerContext, a: Operand, rank: number): string {
  if (a.lead === 0) return a.name; // numpy's trailing alignment covers a shared value
  const from = a.lead, to = c.lead + rank - a.rank;
  return to > from ? one(c, "Unsqueeze", [a.name, c.g.ints(Array.from({ length: to - from }, (_, k) => from + k))]) : a.name;
}

/** A value repeated for every example: [batch, …] (shared values only, where the result has one leading axis). */
function batched(c: LowerContext, a: Operand): string {
  if (a.lead === c.lead) return a.name;
  if (a.lead !== 0 || c.lead !== 1) throw c.cannot("values with different leading axes joined");
  return one(c, "Expand", [one(c, "Unsqueeze", [a.name, c.g.ints([0])]), one(c, "Concat", [c.batch(), one(c, "Shape", [a.name])], [attr("axis", 0)])]);
}

const simple = (op: string): Lowering => (c) => one(c, op, [x0(c)]);
const elementwise = (op: string): Lowering => (c) => one(c, op, [aligned(c, c.args[0]!, c.n.shape.length), aligned(c, c.args[1]!, c.n.shape.length)]);

/** The rows: every compute op that has no expansion into primitives. */
const rows: Record<Exclude<ComputeOp, CompositeOp>, Lowering> = {
  [Op.Neg]: simple("Neg"), [Op.Sigmoid]: simple("Sigmoid"), [Op.Tanh]: simple("Tanh"), [Op.Relu]: simple("Relu"), [Op.Elu]: simple("Elu"),
  [Op.Selu]: simple("Selu"), [Op.Softplus]: simple("Softplus"), [Op.Exp]: simple("Exp"), [Op.Log]: simple("Log"), [Op.Abs]: simple("Abs"),
  [Op.Sqrt]: simple("Sqrt"), [Op.Sin]: simple("Sin"), [Op.Cos]: simple("Cos"), [Op.Identity]: simple("Identity"), [Op.Dropout]: simple("Identity"), [Op.HardSigmoid]: simple("HardSigmoid"),
  [Op.Step]: (c) => one(c, "Cast", [one(c, "Greater", [x0(c), scalar(c, 0)])], [attr("to", DType.FLOAT)]),
  [Op.Add]: elementwise("Add"), [Op.Sub]: elementwise("Sub"), [Op.Mul]: elementwise("Mul"), [Op.Div]: elementwise("Div"),
  [Op.Maximum]: elementwise("Max"), [Op.Minimum]: elementwise("Min"), [Op.Pow]: elementwise("Pow"),
  [Op.Softmax]: (c) => one(c, "Softmax", [x0(c)], [attr("axis", -1)]),
  [Op.LogSoftmax]: (c) => one(c, "LogSoftmax", [x0(c)], [attr("axis", -1)]),
  [Op.Sum]: (c) => one(c, "ReduceSum", [x0(c), c.g.ints([-1])], [attr("keepdims", 0)]),
  [Op.Mean]: (c) => one(c, "ReduceMean", [x0(c)], [attr("axes", [-1]), attr("keepdims", 0)]), // axes an attribute until opset 18
  [Op.MatMul]: matmul,
  [Op.Concat]: (c) => one(c, "Concat", c.args.map((a) => batched(c, a)), [attr("axis", c.lead)]),
  [Op.Gather]: (c) => {
    if (c.args[0]!.lead) throw c.cannot("a table that differs by example");
    return one(c, "Gather", [x0(c), c.args[1]!.name], [attr("axis", 0)]);
  },
  [Op.Transpose]: (c) => one(c, "Transpose", [x0(c)], [attr("perm", [...Array.from({ length: c.args[0]!.lead }, (_, k) => k), c.args[0]!.lead + 1, c.args[0]!.lead])]),
  [Op.Slice]: (c) => one(c, "Slice", [x0(c), c.g.ints([evalDim(c.n.attrs.start!, c.env)!]), c.g.ints([evalDim(c.n.attrs.end!, c.env)!]), c.g.ints([c.args[0]!.lead])]),
  [Op.Reshape]: (c) => one(c, "Reshape", [x0(c), c.g.ints([...Array(c.args[0]!.lead).fill(0), ...dims(c)])]),
  [Op.BroadcastTo]: (c) => one(c, "Expand", [aligned(c, c.args[0]!, c.n.shape.length), c.g.ints([...Array(c.lead).fill(1), ...dims(c)])]),
  [Op.ReduceTo]: (c) => {
    // Sum the axes broadcasting added (the leading ones past the target's rank, and those the target has as 1).
    const a = c.args[0]!;
    const target = dims(c);
    const extra = a.rank - target.length;
    let x = extra > 0 ? one(c, "ReduceSum", [a.name, c.g.ints(Array.from({ length: extra }, (_, k) => a.lead + k))], [attr("keepdims", 0)]) : a.name;
    x = one(c, "ReduceSum", [x, c.g.ints(target.flatMap((d, k) => (d === 1 ? [a.lead + k] : [])))], [attr("keepdims", 1), attr("noop_with_empty_axes", 1)]);
    return one(c, "Reshape", [x, c.g.ints([...Array(a.lead).fill(0), ...target])]);
  },
  [Op.OneHot]: (c) => one(c, "OneHot", [x0(c), c.g.ints([evalDim(c.n.attrs.depth!, c.env)!], true), c.g.init("onoff", [2], [0, 1])], [attr("axis", -1)]),
};

function matmul(c: LowerContext): string {
  const [a, b] = c.args as [Operand, Operand];
  // A shared matrix times a vector per example: one product over the leading axes against the matrix's transpose.
  if (a.rank === 2 && b.rank === 1 && a.lead === 0 && b.lead > 0) {
    const t = c.transposedParam?.(0) ?? one(c, "Transpose", [a.name], [attr("perm", [1, 0])]);
    return one(c, "MatMul", [b.name, t]);
  }
  if (a.rank === 1 && b.rank === 2 && a.lead > 0 && b.lead === 0) return one(c, "MatMul", [a.name, b.name]);
  // Otherwise numpy's matmul over the leading axes, vectors made matrices and the added axis taken out again.
  const lined = (o: Operand) => (o.lead && o.lead < c.lead ? one(c, "Unsqueeze", [o.name, c.g.ints(Array.from({ length: c.lead - o.lead }, (_, k) => o.lead + k))]) : o.name);
  const ua = a.rank === 1 ? one(c, "Unsqueeze", [lined(a), c.g.ints([-2])]) : lined(a);
  const ub = b.rank === 1 ? one(c, "Unsqueeze", [lined(b), c.g.ints([-1])]) : lined(b);
  const squeeze = [...(a.rank === 1 ? [-2] : []), ...(b.rank === 1 ? [-1] : [])];
  const p = one(c, "MatMul", [ua, ub]);
  return squeeze.length ? one(c, "Squeeze", [p, c.g.ints(squeeze)]) : p;
}

/** A composite op through its expansion: each primitive lowered by its own row, on the composite's operands. */
function expanded(c: LowerContext, op: CompositeOp): string {
  const values: Operand[] = [...c.args];
  const builder: Differ = {
    shape: () => { throw new Error("internal: an expansion asked for a shape"); },
    c: (value) => {
      values.push({ name: scalar(c, value), lead: 0, rank: 0 });
      return values.length - 1;
    },
    op: (inner: Op, args: readonly number[], attrs?: ShapeAttrs) => {
      const operands = args.map((k) => values[k]!);
      const lead = Math.max(0, ...operands.map((o) => o.lead));
      const node: Node = { ...c.n, op: inner, args: [], attrs: { ...(attrs ?? {}) } };
      values.push({ name: lowerOp({ ...c, n: node, args: operands, lead }), lead, rank: Math.max(0, ...operands.map((o) => o.rank)) });
      return values.length - 1;
    },
  };
  return values[computeInfo(op).expand!(builder, c.args.map((_, k) => k))]!.name;
}

const composite = (op: ComputeOp): op is CompositeOp => computeInfo(op).expand !== undefined;

/** One op as ONNX nodes: its row, or its expansion into primitives. */
export function lowerOp(c: LowerContext): string {
  const op = c.n.op as ComputeOp;
  return composite(op) ? expanded(c, op) : rows[op](c);
}
