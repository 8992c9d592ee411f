// Every computing op as a PyTorch expression, one row each (a total table: a new op is a type error here until it has its row).
import { evalDim } from "../../ir/dims.js";
import type { Node } from "../../ir/ir.js";
import { Op, type ComputeOp } from "../../ir/ops.js";
import type { DimEnv } from "../../runtime/dims.js";
import { pyFloat, pyInt, shapeList } from "./python.js";

/**
 * An argument: its Python expression, how many leading axes it has before its own (0 for params and constants, 1 for
 * a batch, 2 for a batch and time), its own rank, and its value when it is a constant.
 */
export interface Operand { readonly name: string; readonly lead: number; readonly rank: number; readonly constant?: number }

/** What a row lowers with. */
export interface LowerContext {
  readonly n: Node;
  readonly args: readonly Operand[];
  readonly env: DimEnv;
  /** The result's leading axes: the most any argument has. */
  readonly lead: number;
  /** An expression for the batch size (to repeat a shared value for every example). */
  batch(): string;
  /** Says why this op cannot be compiled in this place. */
  cannot(why: string): Error;
}

type Lowering = (c: LowerContext) => string;

const dims = (c: LowerContext): number[] => c.n.shape.map((d) => evalDim(d, c.env)!);
const x0 = (c: LowerContext): string => c.args[0]!.name;
const list = (xs: readonly number[]): string => shapeList([], xs);

/** An argument with axes added so it lines up with the result: time after a batch it lacks, then per-example axes up to rank `rank`. */
function aligned(c: LowerContext, a: Operand, rank: number): string {
  if (a.lead === 0) return a.name; // numpy's trailing alignment covers a shared value
  const from = a.lead, to = c.lead + rank - a.rank;
  let x = a.name;
  for (let k = from; k < to; k++) x = `${x}.unsqueeze(${k})`;
  return x;
}

/** A value repeated for every example: [batch, …] (shared values only, where the result has one leading axis). */
function batched(c: LowerContext, a: Operand): string {
  if (a.lead === c.lead) return a.name;
  if (a.lead !== 0 || c.lead !== 1) throw c.cannot("values with different leading axes joined");
  return `${a.name}.unsqueeze(0).expand([${c.batch()}] + list(${a.name}.shape))`;
}

const fn = (f: string, extra = ""): Lowering => (c) => `${f}(${x0(c)}${extra})`;

/** a ∘ b with numpy broadcasting; a constant operand is a Python float (no tensor made for it). */
const operator = (sym: string): Lowering => (c) => {
  const [a, b] = c.args as [Operand, Operand];
  const side = (o: Operand) => (o.constant !== undefined ? pyFloat(o.constant) : aligned(c, o, c.n.shape.length));
  if (a.constant !== undefined && b.constant !== undefined) return `torch.tensor(${pyFloat(a.constant)} ${sym} ${pyFloat(b.constant)})`;
  return `(${side(a)} ${sym} ${side(b)})`;
};

/** max or min: a clamp against a constant, else torch's elementwise form. */
const extreme = (which: "max" | "min"): Lowering => (c) => {
  const [a, b] = c.args as [Operand, Operand];
  const tensor = (o: Operand) => (o.constant !== undefined ? `torch.tensor(${pyFloat(o.constant)})` : aligned(c, o, c.n.shape.length));
  if (b.constant !== undefined && a.constant === undefined) return `torch.clamp(${aligned(c, a, c.n.shape.length)}, ${which}=${pyFloat(b.constant)})`;
  if (a.constant !== undefined && b.constant === undefined) return `torch.clamp(${aligned(c, b, c.n.shape.length)}, ${which}=${pyFloat(a.constant)})`;
  return `torch.${which === "max" ? "maximum" : "minimum"}(${tensor(a)}, ${tensor(b)})`;
};

/** The rows: every compute op (the tfjs and interpreter definitions; torch's own function where it is the same). */
const rows: Record<ComputeOp, Lowering> = {
  [Op.Neg]: (c) => `(-${x0(c)})`,
  [Op.Sigmoid]: fn("torch.sigmoid"),
  [Op.HardSigmoid]: (c) => `torch.clamp(${x0(c)} * 0.2 + 0.5, 0.0, 1.0)`, // Keras' (torch's hardsigmoid is x/6 + 1/2)
  [Op.Tanh]: fn("torch.tanh"),
  [Op.HardTanh]: (c) => `torch.clamp(${x0(c)}, -1.0, 1.0)`,
  [Op.Relu]: fn("torch.relu"),
  [Op.Elu]: fn("F.elu"),
  [Op.Selu]: fn("F.selu"),
  [Op.Softplus]: fn("F.softplus"),
  [Op.Softsign]: fn("F.softsign"),
  [Op.Swish]: fn("F.silu"),
  [Op.Gelu]: fn("F.gelu", `, approximate="tanh"`),
  [Op.Exp]: fn("torch.exp"),
  [Op.Log]: fn("torch.log"),
  [Op.Abs]: fn("torch.abs"),
  [Op.Sqrt]: fn("torch.sqrt"),
  [Op.Square]: (c) => `(${x0(c)} * ${x0(c)})`,
  [Op.Sin]: fn("torch.sin"),
  [Op.Cos]: fn("torch.cos"),
  [Op.Identity]: (c) => x0(c),
  // A new mask at every use while training (rnnc's masks are per sequence inside a cell: see the emitter's note), x when running.
  [Op.Dropout]: (c) => ((c.n.attrs.rate ?? 0) > 0 ? `F.dropout(${x0(c)}, ${pyFloat(c.n.attrs.rate!)}, self.training)` : x0(c)),
  [Op.Step]: (c) => `(${x0(c)} > 0).to(torch.float32)`,
  [Op.Add]: operator("+"), [Op.Sub]: operator("-"), [Op.Mul]: operator("*"), [Op.Div]: operator("/"),
  [Op.Maximum]: extreme("max"), [Op.Minimum]: extreme("min"),
  [Op.Pow]: (c) => {
    const [a, b] = c.args as [Operand, Operand];
    if (b.constant !== undefined) return `torch.pow(${aligned(c, a, c.n.shape.length)}, ${pyFloat(b.constant)})`;
    if (a.constant !== undefined) return `torch.pow(${pyFloat(a.constant)}, ${aligned(c, b, c.n.shape.length)})`;
    return `torch.pow(${aligned(c, a, c.n.shape.length)}, ${aligned(c, b, c.n.shape.length)})`;
  },
  [Op.Softmax]: fn("torch.softmax", ", -1"),
  [Op.LogSoftmax]: fn("torch.log_softmax", ", -1"),
  [Op.Sum]: (c) => `${x0(c)}.sum(-1)`,
  [Op.Mean]: (c) => `${x0(c)}.mean(-1)`,
  [Op.MatMul]: matmul,
  [Op.Concat]: (c) => `torch.cat([${c.args.map((a) => batched(c, a)).join(", ")}], ${c.lead})`,
  [Op.Gather]: (c) => {
    if (c.args[0]!.lead) throw c.cannot("a table that differs by example");
    return `F.embedding(${c.args[1]!.name}.long(), ${x0(c)})`;
  },
  [Op.Transpose]: (c) => `${x0(c)}.transpose(-1, -2)`,
  [Op.Slice]: (c) => {
    const start = evalDim(c.n.attrs.start!, c.env)!, end = evalDim(c.n.attrs.end!, c.env)!;
    return `${x0(c)}.narrow(${c.args[0]!.lead}, ${pyInt(start)}, ${pyInt(end - start)})`;
  },
  [Op.Reshape]: (c) => `${x0(c)}.reshape(list(${x0(c)}.shape[:${c.args[0]!.lead}]) + ${list(dims(c))})`,
  [Op.BroadcastTo]: (c) => `${aligned(c, c.args[0]!, c.n.shape.length)}.expand(${list(Array(c.lead).fill(-1))} + ${list(dims(c))})`,
  [Op.ReduceTo]: (c) => {
    // Sum the axes broadcasting added (the leading ones past the target's rank, and those the target has as 1).
    const a = c.args[0]!;
    const target = dims(c);
    const extra = a.rank - target.length;
    let x = extra > 0 ? `${a.name}.sum(${list(Array.from({ length: extra }, (_, k) => a.lead + k))})` : a.name;
    const ones = target.flatMap((d, k) => (d === 1 ? [a.lead + k] : []));
    if (ones.length) x = `${x}.sum(${list(ones)}, keepdim=True)`;
    return `${x}.reshape(list(${a.name}.shape[:${a.lead}]) + ${list(target)})`;
  },
  [Op.OneHot]: (c) => `F.one_hot(${x0(c)}.long(), ${pyInt(evalDim(c.n.attrs.depth!, c.env)!)}).to(torch.float32)`,
};

function matmul(c: LowerContext): string {
  const [a, b] = c.args as [Operand, Operand];
  // A shared matrix times a vector per example: x @ Wᵀ over the leading axes.
  if (a.rank === 2 && b.rank === 1 && a.lead === 0 && b.lead > 0) return `F.linear(${b.name}, ${a.name})`;
  if (a.rank === 1 && b.rank === 2 && a.lead > 0 && b.lead === 0) return `torch.matmul(${a.name}, ${b.name})`;
  // Otherwise numpy's matmul over the leading axes, vectors made matrices and the added axis taken out again.
  const lined = (o: Operand) => {
    let x = o.name;
    if (o.lead && o.lead < c.lead) for (let k = o.lead; k < c.lead; k++) x = `${x}.unsqueeze(${k})`;
    return x;
  };
  const ua = a.rank === 1 ? `${lined(a)}.unsqueeze(-2)` : lined(a);
  const ub = b.rank === 1 ? `${lined(b)}.unsqueeze(-1)` : lined(b);
  let p = `torch.matmul(${ua}, ${ub})`;
  if (b.rank === 1) p = `${p}.squeeze(-1)`;
  if (a.rank === 1) p = `${p}.squeeze(${b.rank === 1 ? -1 : -2})`; // the axis added to a is last once b's is gone
  return p;
}

/** One op as a Python expression over its operands. */
export const lowerOp = (c: LowerContext): string => rows[c.n.op as ComputeOp](c);
