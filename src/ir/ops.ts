// The closed set of IR operations and one table of facts per op: arity, category, result shape, range, doc, names.
import type { Dim, Shape } from "./dims.js";
import {
  broadcastShape, concatShape, gatherShape, lastAxisShape, matmulShape, sameShape, sliceShape, transposeShape, type ShapeResult,
} from "./shapes.js";

export enum Op {
  // leaves
  Input = "input",       // a cell input at step t
  StateRead = "state",   // a state k ≥ 1 steps back (attrs.lag)
  Param = "param",       // a trainable parameter
  Const = "const",       // a scalar constant (attrs.value)
  // structure
  MatMul = "matmul",
  Concat = "concat",     // along the first per-example axis
  Gather = "gather",     // row args[1] (an int scalar) of table args[0]
  Transpose = "transpose", // swaps the two axes of a matrix
  Slice = "slice",       // first axis, [attrs.start, attrs.end)
  // elementwise binary (numpy broadcasting)
  Add = "add", Sub = "sub", Mul = "mul", Div = "div", Maximum = "maximum", Minimum = "minimum", Pow = "pow",
  // elementwise unary
  Neg = "neg", Sigmoid = "sigmoid", HardSigmoid = "hard_sigmoid", Tanh = "tanh", HardTanh = "hard_tanh", Relu = "relu", Elu = "elu",
  Selu = "selu", Softplus = "softplus", Softsign = "softsign", Swish = "swish", Gelu = "gelu", Exp = "exp", Log = "log", Abs = "abs",
  Sqrt = "sqrt", Square = "square", Sin = "sin", Cos = "cos", Identity = "identity",
  // along the last axis
  Softmax = "softmax", LogSoftmax = "log_softmax", Sum = "sum", Mean = "mean",
  // sequence constructs, in models only (attrs.layer names the layer)
  Apply = "apply",       // a stateless layer on single values
  Map = "map",           // a stateless layer at every step of sequences
  Scan = "scan",         // a layer over sequences carrying its states (attrs.reverse); last arg may be the initial states
  Final = "final",       // the final states of a scan or generate (a record)
  Field = "field",       // one state of a record (attrs.name)
  Last = "last",         // each sequence's element at its own last step
  Generate = "generate", // feeds a layer's output back as its next input (attrs.start, steps, until, temperature)
}

/**
 * What a backend must provide for an op: leaves and sequence constructs are handled by each backend's own driver;
 * every other category is one row of a backend's total table.
 */
export type OpCategory = "leaf" | "unary" | "binary" | "matmul" | "concat" | "gather" | "transpose" | "slice" | "lastAxis" | "reduce" | "sequence";

/** What a shape rule sees of a node: its arguments' shapes and element types, and its own attributes. */
export interface ShapeContext { readonly dtypes: readonly ("float" | "int")[]; readonly attrs: { readonly start?: Dim; readonly end?: Dim } }

export interface OpInfo {
  readonly category: OpCategory;
  /** Number of arguments, or [min, max] for variadic ops. */
  readonly arity: number | readonly [number, number];
  /** Names it is called by in expressions (the first is its own); none for ops written another way or not at all. */
  readonly names: readonly string[];
  readonly doc: string;
  /** The result shape from the arguments', or why there is none (with the diagnostic code of that mistake). */
  readonly shape?: (args: readonly Shape[], ctx: ShapeContext) => ShapeResult;
  /** The interval its output lies in, when bounded whatever its input. */
  readonly range?: readonly [number, number];
  /** Slot for the reverse-mode derivative rule (issue #11); absent until then. */
  readonly vjp?: undefined;
  /** Slot for the ONNX operator this op maps to (issue #13); absent until then. */
  readonly onnx?: string;
}

const unary = <const N extends readonly string[]>(names: N, doc: string, range?: readonly [number, number]) =>
  ({ category: "unary", arity: 1, names, doc, shape: (s: readonly Shape[]) => sameShape(s[0]!), ...(range ? { range } : {}) }) as const;
const binary = <const N extends readonly string[]>(names: N, doc: string) =>
  ({ category: "binary", arity: 2, names, doc, shape: (s: readonly Shape[]) => broadcastShape(s[0]!, s[1]!) }) as const;
const leaf = (doc: string) => ({ category: "leaf", arity: 0, names: [], doc }) as const;
const sequence = (arity: OpInfo["arity"], doc: string) => ({ category: "sequence", arity, names: [], doc }) as const;

/**
 * The facts of every op. Row order is the order builtins are listed in (help texts, completion, the README table).
 * `satisfies` makes a missing op a type error; backends derive their total tables from the categories below.
 */
export const opInfo = {
  [Op.Sigmoid]: unary(["sigmoid", "σ"], "logistic sigmoid 1/(1+e^-x), range (0, 1)", [0, 1]),
  [Op.HardSigmoid]: unary(["hard_sigmoid"], "piecewise-linear sigmoid clip(0.2x + 0.5, 0, 1), as in Keras", [0, 1]),
  [Op.Tanh]: unary(["tanh"], "hyperbolic tangent, range (-1, 1)", [-1, 1]),
  [Op.HardTanh]: unary(["hard_tanh"], "piecewise-linear tanh clip(x, -1, 1), as PyTorch's Hardtanh", [-1, 1]),
  [Op.Relu]: unary(["relu"], "max(x, 0)"),
  [Op.Elu]: unary(["elu"], "x if x > 0 else e^x - 1"),
  [Op.Selu]: unary(["selu"], "scaled exponential linear unit"),
  [Op.Softplus]: unary(["softplus"], "log(1 + e^x)"),
  [Op.Softsign]: unary(["softsign"], "x / (1 + |x|)", [-1, 1]),
  [Op.Swish]: unary(["swish", "silu"], "x · sigmoid(x)"),
  [Op.Gelu]: unary(["gelu"], "Gaussian error linear unit (tanh approximation)"),
  [Op.Exp]: unary(["exp"], "e^x"),
  [Op.Log]: unary(["log"], "natural logarithm"),
  [Op.Abs]: unary(["abs"], "|x|"),
  [Op.Sqrt]: unary(["sqrt"], "square root"),
  [Op.Square]: unary(["square"], "x²"),
  [Op.Sin]: unary(["sin"], "sine", [-1, 1]),
  [Op.Cos]: unary(["cos"], "cosine", [-1, 1]),
  [Op.Identity]: unary(["linear", "identity"], "the identity, x"),
  [Op.Softmax]: { category: "lastAxis", arity: 1, names: ["softmax"], doc: "softmax over the last axis", range: [0, 1], shape: (s) => lastAxisShape(s[0]!, false) },
  [Op.LogSoftmax]: { category: "lastAxis", arity: 1, names: ["log_softmax"], doc: "log of the softmax over the last axis", shape: (s) => lastAxisShape(s[0]!, false) },
  [Op.Sum]: { category: "reduce", arity: 1, names: ["sum"], doc: "sum over the last axis", shape: (s) => lastAxisShape(s[0]!, true) },
  [Op.Mean]: { category: "reduce", arity: 1, names: ["mean"], doc: "mean over the last axis", shape: (s) => lastAxisShape(s[0]!, true) },
  [Op.Maximum]: binary(["max"], "elementwise maximum of two values"),
  [Op.Minimum]: binary(["min"], "elementwise minimum of two values"),
  [Op.Pow]: binary(["pow"], "elementwise power a^b"),
  [Op.Concat]: { category: "concat", arity: [2, 64], names: ["concat"], doc: "joins values along their first axis", shape: (s) => concatShape(s) },
  [Op.MatMul]: { category: "matmul", arity: 2, names: ["matmul"], doc: "matrix product, the same as `@`", shape: (s) => matmulShape(s[0]!, s[1]!) },
  [Op.Gather]: {
    category: "gather", arity: 2, names: ["gather"], doc: "gather(table, i): row i of a table, for an integer i (token ids)",
    shape: (s, c) => gatherShape(s[0]!, s[1]!, c.dtypes[1]!),
  },
  [Op.Transpose]: { category: "transpose", arity: 1, names: ["transpose"], doc: "transpose(W): the matrix with its two axes swapped", shape: (s) => transposeShape(s[0]!) },
  [Op.Neg]: unary([], "-x, written as a minus sign"),
  [Op.Add]: binary([], "a + b"),
  [Op.Sub]: binary([], "a - b"),
  [Op.Mul]: binary([], "a * b (also written ⊙)"),
  [Op.Div]: binary([], "a / b"),
  [Op.Slice]: { category: "slice", arity: 1, names: [], doc: "v[a:b]: elements a to b-1 of the first axis", shape: (s, c) => sliceShape(s[0]!, c.attrs.start!, c.attrs.end!) },
  [Op.Input]: leaf("a cell input at step t"),
  [Op.StateRead]: leaf("a state k ≥ 1 steps back"),
  [Op.Param]: leaf("a trainable parameter"),
  [Op.Const]: leaf("a scalar constant"),
  [Op.Apply]: sequence([1, 64], "a stateless layer on single values"),
  [Op.Map]: sequence([1, 64], "a stateless layer at every step of sequences"),
  [Op.Scan]: sequence([1, 65], "a layer over sequences carrying its states"),
  [Op.Final]: sequence(1, "the final states of a scan or generate"),
  [Op.Field]: sequence(1, "one state of final states"),
  [Op.Last]: sequence(1, "each sequence's element at its own last step"),
  [Op.Generate]: sequence([0, 2], "feeds a layer's output back as its next input"),
} satisfies Record<Op, OpInfo>;

type Table = typeof opInfo;
/** The ops of some categories, as a type: backends write `Record<OpsIn<"unary">, …>` so a missing row is a compile error. */
export type OpsIn<C extends OpCategory> = { [K in Op]: Table[K]["category"] extends C ? K : never }[Op];

export const info = (op: Op): OpInfo => opInfo[op];

const opsWhere = (p: (i: OpInfo) => boolean): ReadonlySet<Op> => new Set((Object.keys(opInfo) as Op[]).filter((op) => p(opInfo[op])));
/** Ops that only appear in models. */
export const sequenceOps = opsWhere((i) => i.category === "sequence") as ReadonlySet<Op>;
export const unaryOps = opsWhere((i) => i.category === "unary");
export const binaryOps = opsWhere((i) => i.category === "binary");

/** The interval an op's output lies in, when it is bounded regardless of its input. */
export const outputRange: Partial<Record<Op, readonly [number, number]>> = Object.fromEntries(
  (Object.keys(opInfo) as Op[]).flatMap((op) => (opInfo[op] as OpInfo).range ? [[op, (opInfo[op] as OpInfo).range!]] : []),
);

export interface Builtin {
  readonly name: string;
  readonly op: Op;
  /** Number of arguments, or [min, max] for variadic functions. */
  readonly arity: number | readonly [number, number];
  readonly doc: string;
}

/** Each callable op's names, its own first, in the table's order. */
export function builtinsByOp(): string[][] {
  return (Object.keys(opInfo) as Op[]).map((op) => [...(opInfo[op] as OpInfo).names]).filter((n) => n.length > 0);
}

/** Functions callable in expressions, by every name they answer to, in the table's order. */
export const builtins: ReadonlyMap<string, Builtin> = new Map(
  (Object.keys(opInfo) as Op[]).flatMap((op) => {
    const i: OpInfo = opInfo[op];
    return i.names.map((name) => [name, { name, op, arity: i.arity, doc: i.doc }] as const);
  }),
);
