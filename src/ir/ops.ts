// The closed set of IR operations and one table of facts per op: arity, category, result shape, range, doc, names.
import { dimAdd, dimConst, dimValue, type Dim, type Shape } from "./dims.js";
import {
  broadcastShape, broadcastToShape, concatShape, gatherShape, lastAxisShape, matmulShape, oneHotShape, reduceToShape, reshapeShape, sameShape,
  sliceShape, transposeShape, type ShapeResult,
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
  Dropout = "dropout",   // x when running; in training, x times a random mask (attrs.rate of it zero, the rest 1/(1-rate))
  Step = "step",         // 1 where x > 0, else 0: the derivative of the piecewise ops (not callable)
  // along the last axis
  Softmax = "softmax", LogSoftmax = "log_softmax", Sum = "sum", Mean = "mean",
  // the adjoints the derivative rules need (not callable): attrs.shape or attrs.depth give the result
  Reshape = "reshape",   // the same elements in another shape
  BroadcastTo = "broadcast_to", // numpy broadcasting to attrs.shape
  ReduceTo = "reduce_to", // sums the axes broadcasting added, back to attrs.shape (the adjoint of broadcast_to)
  OneHot = "one_hot",    // an int scalar i as a vector of attrs.depth with 1 at i
  // sequence constructs, in models only (attrs.layer names the layer)
  Apply = "apply",       // a stateless layer on single values
  Map = "map",           // a stateless layer at every step of sequences
  Scan = "scan",         // a layer over sequences carrying its states (attrs.reverse); last arg may be the initial states
  Final = "final",       // the final states of a scan or generate (a record)
  States = "states",     // initial states given as values, one per state of the layer, in its order (attrs.names)
  Field = "field",       // one state of a record (attrs.name)
  Last = "last",         // each sequence's element at its own last step
  Generate = "generate", // feeds a layer's output back as its next input (attrs.start, steps, until, temperature)
}

/**
 * What a backend must provide for an op: leaves and sequence constructs are handled by each backend's own driver;
 * every other category is one row of a backend's total table.
 */
export type OpCategory = "leaf" | "unary" | "binary" | "matmul" | "concat" | "gather" | "transpose" | "slice" | "lastAxis" | "reduce" | "adjoint" | "sequence";

/** What a shape rule sees of a node: its arguments' shapes and element types, and its own attributes. */
export interface ShapeContext { readonly dtypes: readonly ("float" | "int")[]; readonly attrs: ShapeAttrs }

/** The attributes that decide a result shape: slice bounds, and the target of the adjoint ops. */
export interface ShapeAttrs { readonly start?: Dim; readonly end?: Dim; readonly shape?: Shape; readonly depth?: Dim }

/**
 * What a derivative rule builds with: nodes of the same op set (shapes from the table's rules). Rules see the node's
 * arguments `x`, its value `y` and the gradient `dy` flowing into it, all as ids in the graph being built.
 */
export interface Differ {
  shape(id: number): Shape;
  op(op: Op, args: readonly number[], attrs?: ShapeAttrs): number;
  c(value: number): number;
}
/** The gradient for each argument (undefined: none, as for an integer index), each in the shape the op broadcast it to. */
export type Vjp = (g: Differ, x: readonly number[], y: number, dy: number, attrs: ShapeAttrs) => readonly (number | undefined)[];

interface OpFacts {
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
}

/** Leaves and sequence constructs: each backend's driver (src/ir/model-driver.ts for models) does them. */
export interface StructureInfo extends OpFacts { readonly category: "leaf" | "sequence" }

/** An op that computes: its derivative rule is required (a row without one is a type error at `opInfo`). */
export interface ComputeInfo extends OpFacts {
  readonly category: Exclude<OpCategory, "leaf" | "sequence">;
  readonly shape: (args: readonly Shape[], ctx: ShapeContext) => ShapeResult;
  /** The reverse-mode derivative rule (vector-Jacobian product). */
  readonly vjp: Vjp;
  /**
   * A composite op written as primitives (gelu as tanh, products and sums): a backend without its own form of the op
   * lowers this instead (ONNX does), so a new composite needs no line there.
   */
  readonly expand?: (g: Differ, x: readonly number[]) => number;
}

export type OpInfo = StructureInfo | ComputeInfo;

/** Whether an op's facts are those of a computing op (with a derivative rule). */
export const computes = (i: OpInfo): i is ComputeInfo => i.category !== "leaf" && i.category !== "sequence";

/** An elementwise function with its derivative f'(x) written with `y` = f(x) at hand. */
type Derivative = (g: Differ, x: number, y: number) => number;
const unary = <const N extends readonly string[]>(names: N, doc: string, d: Derivative, range?: readonly [number, number]) =>
  ({
    category: "unary", arity: 1, names, doc, shape: (s: readonly Shape[]) => sameShape(s[0]!), ...(range ? { range } : {}),
    vjp: ((g, x, y, dy) => [g.op(Op.Mul, [dy, d(g, x[0]!, y)])]) as Vjp,
  }) as const;
const binary = <const N extends readonly string[]>(names: N, doc: string, vjp: Vjp) =>
  ({ category: "binary", arity: 2, names, doc, shape: (s: readonly Shape[]) => broadcastShape(s[0]!, s[1]!), vjp }) as const;
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;
const mul = (g: Differ, a: number, b: number): number => g.op(Op.Mul, [a, b]);
const oneMinus = (g: Differ, a: number): number => g.op(Op.Sub, [g.c(1), a]);
/** `whenOne` where `mask` is 1, `whenZero` where it is 0. */
const either = (g: Differ, mask: number, whenOne: number, whenZero: number): number =>
  g.op(Op.Add, [mul(g, mask, whenOne), mul(g, oneMinus(g, mask), whenZero)]);
/** 1 where lo < u < hi, else 0: the slope of a clip. */
const inside = (g: Differ, u: number, lo: number, hi: number): number =>
  mul(g, g.op(Op.Step, [g.op(Op.Sub, [u, g.c(lo)])]), g.op(Op.Step, [g.op(Op.Sub, [g.c(hi), u])]));
/** a ⊗ b for vectors: [m] and [n] give [m, n]. */
const outer = (g: Differ, a: number, b: number): number => mul(g, g.op(Op.Reshape, [a], { shape: [...g.shape(a), dimConst(1)] }), b);
/** A reduced value with its last axis back as 1, to broadcast against the unreduced one. */
const keepAxis = (g: Differ, r: number): number => g.op(Op.Reshape, [r], { shape: [...g.shape(r), dimConst(1)] });

const leaf = (doc: string) => ({ category: "leaf", arity: 0, names: [], doc }) as const;
const sequence = (arity: OpInfo["arity"], doc: string) => ({ category: "sequence", arity, names: [], doc }) as const;

/**
 * The facts of every op. Row order is the order builtins are listed in (help texts, completion, the table in grammar/README.md).
 * `satisfies` makes a missing op a type error; backends derive their total tables from the categories below.
 */
export const opInfo = {
  [Op.Sigmoid]: unary(["sigmoid", "σ"], "logistic sigmoid 1/(1+e^-x), range (0, 1)", (g, _x, y) => mul(g, y, oneMinus(g, y)), [0, 1]),
  [Op.HardSigmoid]: unary(["hard_sigmoid"], "piecewise-linear sigmoid clip(0.2x + 0.5, 0, 1), as in Keras", (g, x) => {
    const u = g.op(Op.Add, [g.op(Op.Mul, [x, g.c(0.2)]), g.c(0.5)]);
    return mul(g, g.c(0.2), inside(g, u, 0, 1));
  }, [0, 1]),
  [Op.Tanh]: unary(["tanh"], "hyperbolic tangent, range (-1, 1)", (g, _x, y) => g.op(Op.Sub, [g.c(1), g.op(Op.Square, [y])]), [-1, 1]),
  [Op.HardTanh]: {
    ...unary(["hard_tanh"], "piecewise-linear tanh clip(x, -1, 1), as PyTorch's Hardtanh", (g, x) => inside(g, x, -1, 1), [-1, 1]),
    expand: (g, [x]) => g.op(Op.Minimum, [g.op(Op.Maximum, [x!, g.c(-1)]), g.c(1)]),
  },
  [Op.Relu]: unary(["relu"], "max(x, 0)", (g, x) => g.op(Op.Step, [x])),
  [Op.Elu]: unary(["elu"], "x if x > 0 else e^x - 1", (g, x, y) => either(g, g.op(Op.Step, [x]), g.c(1), g.op(Op.Add, [y, g.c(1)]))),
  [Op.Selu]: unary(["selu"], "scaled exponential linear unit", (g, x, y) => either(g, g.op(Op.Step, [x]), g.c(SELU_SCALE), g.op(Op.Add, [y, g.c(SELU_SCALE * SELU_ALPHA)]))),
  [Op.Softplus]: unary(["softplus"], "log(1 + e^x)", (g, x) => g.op(Op.Sigmoid, [x])),
  [Op.Softsign]: {
    ...unary(["softsign"], "x / (1 + |x|)", (g, x) => g.op(Op.Div, [g.c(1), g.op(Op.Square, [g.op(Op.Add, [g.c(1), g.op(Op.Abs, [x])])])]), [-1, 1]),
    expand: (g, [x]) => g.op(Op.Div, [x!, g.op(Op.Add, [g.c(1), g.op(Op.Abs, [x!])])]),
  },
  [Op.Swish]: {
    ...unary(["swish", "silu"], "x · sigmoid(x)", (g, x) => {
      const s = g.op(Op.Sigmoid, [x]);
      return mul(g, s, g.op(Op.Add, [g.c(1), mul(g, x, oneMinus(g, s))]));
    }),
    expand: (g, [x]) => mul(g, x!, g.op(Op.Sigmoid, [x!])),
  },
  [Op.Gelu]: {
    ...unary(["gelu"], "Gaussian error linear unit (tanh approximation)", (g, x) => {
      // y = x/2 (1 + tanh u), u = c (x + 0.044715 x³): y' = (1 + tanh u)/2 + x/2 (1 - tanh² u) c (1 + 3·0.044715 x²)
      const c = Math.sqrt(2 / Math.PI);
      const x2 = g.op(Op.Square, [x]);
      const th = g.op(Op.Tanh, [mul(g, g.c(c), g.op(Op.Add, [x, mul(g, g.c(0.044715), mul(g, x2, x))]))]);
      const du = mul(g, g.c(c), g.op(Op.Add, [g.c(1), mul(g, g.c(3 * 0.044715), x2)]));
      const half = g.op(Op.Mul, [g.c(0.5), g.op(Op.Add, [g.c(1), th])]);
      return g.op(Op.Add, [half, mul(g, g.c(0.5), mul(g, x, mul(g, oneMinus(g, g.op(Op.Square, [th])), du)))]);
    }),
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    expand: (g, [x]) => {
      const cube = mul(g, x!, mul(g, x!, x!));
      const inner = mul(g, g.c(Math.sqrt(2 / Math.PI)), g.op(Op.Add, [x!, mul(g, g.c(0.044715), cube)]));
      return mul(g, mul(g, g.c(0.5), x!), g.op(Op.Add, [g.c(1), g.op(Op.Tanh, [inner])]));
    },
  },
  [Op.Exp]: unary(["exp"], "e^x", (_g, _x, y) => y),
  [Op.Log]: unary(["log"], "natural logarithm", (g, x) => g.op(Op.Div, [g.c(1), x])),
  [Op.Abs]: unary(["abs"], "|x|", (g, x) => g.op(Op.Sub, [g.op(Op.Step, [x]), g.op(Op.Step, [g.op(Op.Neg, [x])])])),
  [Op.Sqrt]: unary(["sqrt"], "square root", (g, _x, y) => g.op(Op.Div, [g.c(0.5), y])),
  [Op.Square]: { ...unary(["square"], "x²", (g, x) => mul(g, g.c(2), x)), expand: (g, [x]) => mul(g, x!, x!) },
  [Op.Sin]: unary(["sin"], "sine", (g, x) => g.op(Op.Cos, [x]), [-1, 1]),
  [Op.Cos]: unary(["cos"], "cosine", (g, x) => g.op(Op.Neg, [g.op(Op.Sin, [x])]), [-1, 1]),
  [Op.Identity]: { ...unary(["linear", "identity"], "the identity, x", (g) => g.c(1)), vjp: (_g, _x, _y, dy) => [dy] },
  // Written `dropout(x, p)` (the elaborator reads p into attrs.rate), so it has no name of its own here. Its meaning is the
  // identity; training replaces it with a product with a random mask before anything runs (src/runtime/dropout.ts).
  [Op.Dropout]: { ...unary([], "x when running; in training, each element zeroed with probability p and the rest scaled by 1/(1-p)", (g) => g.c(1)), vjp: (_g, _x, _y, dy) => [dy] },
  [Op.Step]: { ...unary([], "1 where x > 0, else 0 (the derivative of relu; not callable)", (g) => g.c(0), [0, 1]), vjp: () => [undefined] },
  [Op.Softmax]: {
    category: "lastAxis", arity: 1, names: ["softmax"], doc: "softmax over the last axis", range: [0, 1], shape: (s) => lastAxisShape(s[0]!, false),
    vjp: (g, _x, y, dy) => [mul(g, y, g.op(Op.Sub, [dy, keepAxis(g, g.op(Op.Sum, [mul(g, dy, y)]))]))],
  },
  [Op.LogSoftmax]: {
    category: "lastAxis", arity: 1, names: ["log_softmax"], doc: "log of the softmax over the last axis", shape: (s) => lastAxisShape(s[0]!, false),
    vjp: (g, _x, y, dy) => [g.op(Op.Sub, [dy, mul(g, g.op(Op.Exp, [y]), keepAxis(g, g.op(Op.Sum, [dy])))])],
  },
  [Op.Sum]: {
    category: "reduce", arity: 1, names: ["sum"], doc: "sum over the last axis", shape: (s) => lastAxisShape(s[0]!, true),
    vjp: (g, x, _y, dy) => [g.op(Op.BroadcastTo, [keepAxis(g, dy)], { shape: g.shape(x[0]!) })],
  },
  [Op.Mean]: {
    category: "reduce", arity: 1, names: ["mean"], doc: "mean over the last axis", shape: (s) => lastAxisShape(s[0]!, true),
    vjp: (g, x, _y, dy) => {
      const shape = g.shape(x[0]!);
      const n = g.op(Op.Sum, [g.op(Op.BroadcastTo, [g.c(1)], { shape: shape.slice(-1) })]); // the axis length, even when symbolic
      return [g.op(Op.Div, [g.op(Op.BroadcastTo, [keepAxis(g, dy)], { shape }), n])];
    },
  },
  [Op.Maximum]: binary(["max"], "elementwise maximum of two values", (g, [a, b], _y, dy) => {
    const bWins = g.op(Op.Step, [g.op(Op.Sub, [b!, a!])]); // ties go to a, as in tfjs
    return [mul(g, dy, oneMinus(g, bWins)), mul(g, dy, bWins)];
  }),
  [Op.Minimum]: binary(["min"], "elementwise minimum of two values", (g, [a, b], _y, dy) => {
    const bWins = g.op(Op.Step, [g.op(Op.Sub, [a!, b!])]); // ties go to a, as in tfjs
    return [mul(g, dy, oneMinus(g, bWins)), mul(g, dy, bWins)];
  }),
  [Op.Pow]: binary(["pow"], "elementwise power a^b", (g, [a, b], y, dy) => {
    const da = mul(g, dy, mul(g, b!, g.op(Op.Pow, [a!, g.op(Op.Sub, [b!, g.c(1)])])));
    // d/db a^b = a^b log a, taken as 0 where a ≤ 0 (as tfjs does) rather than NaN
    const logA = mul(g, g.op(Op.Log, [g.op(Op.Maximum, [a!, g.c(Number.MIN_VALUE)])]), g.op(Op.Step, [a!]));
    return [da, mul(g, dy, mul(g, y, logA))];
  }),
  [Op.Concat]: {
    category: "concat", arity: [2, 64], names: ["concat"], doc: "joins values along their first axis", shape: (s) => concatShape(s),
    vjp: (g, x, _y, dy) => {
      let start: Dim = dimConst(0);
      return x.map((part) => {
        const end = dimAdd(start, g.shape(part)[0]!);
        const d = g.op(Op.Slice, [dy], { start, end });
        start = end;
        return d;
      });
    },
  },
  [Op.MatMul]: {
    category: "matmul", arity: 2, names: ["matmul"], doc: "matrix product, the same as `@`", shape: (s) => matmulShape(s[0]!, s[1]!),
    vjp: (g, [a, b], _y, dy) => {
      const ra = g.shape(a!).length;
      const rb = g.shape(b!).length;
      if (ra === 1 && rb === 1) return [mul(g, dy, b!), mul(g, dy, a!)];                                    // a·b
      if (ra === 2 && rb === 1) return [outer(g, dy, b!), g.op(Op.MatMul, [dy, a!])];                        // A b
      if (ra === 1) return [g.op(Op.MatMul, [b!, dy]), outer(g, a!, dy)];                                    // a B
      return [g.op(Op.MatMul, [dy, g.op(Op.Transpose, [b!])]), g.op(Op.MatMul, [g.op(Op.Transpose, [a!]), dy])]; // A B
    },
  },
  [Op.Gather]: {
    category: "gather", arity: 2, names: ["gather"], doc: "gather(table, i): row i of a table, for an integer i (token ids)",
    shape: (s, c) => gatherShape(s[0]!, s[1]!, c.dtypes[1]!),
    vjp: (g, [table, i], _y, dy) => {
      // Row i of the table's gradient is dy, every other row 0: one_hot(i) ⊗ dy.
      const [rows, ...rest] = g.shape(table!);
      const hot = g.op(Op.Reshape, [g.op(Op.OneHot, [i!], { depth: rows! })], { shape: [rows!, ...rest.map(() => dimConst(1))] });
      return [g.op(Op.Mul, [hot, dy]), undefined];
    },
  },
  [Op.Transpose]: {
    category: "transpose", arity: 1, names: ["transpose"], doc: "transpose(W): the matrix with its two axes swapped", shape: (s) => transposeShape(s[0]!),
    vjp: (g, _x, _y, dy) => [g.op(Op.Transpose, [dy])],
  },
  [Op.Neg]: unary([], "-x, written as a minus sign", (g) => g.c(-1)),
  [Op.Add]: binary([], "a + b", (_g, _x, _y, dy) => [dy, dy]),
  [Op.Sub]: binary([], "a - b", (g, _x, _y, dy) => [dy, g.op(Op.Neg, [dy])]),
  [Op.Mul]: binary([], "a * b (also written ⊙)", (g, [a, b], _y, dy) => [mul(g, dy, b!), mul(g, dy, a!)]),
  [Op.Div]: binary([], "a / b", (g, [_a, b], y, dy) => [g.op(Op.Div, [dy, b!]), g.op(Op.Neg, [g.op(Op.Div, [mul(g, dy, y), b!])])]),
  [Op.Slice]: {
    category: "slice", arity: 1, names: [], doc: "v[a:b]: elements a to b-1 of the first axis", shape: (s, c) => sliceShape(s[0]!, c.attrs.start!, c.attrs.end!),
    vjp: (g, [x], _y, dy, attrs) => {
      // dy in place, zeros before and after
      const [n, ...rest] = g.shape(x!);
      const zeros = (len: Dim) => g.op(Op.BroadcastTo, [g.c(0)], { shape: [len, ...rest] });
      const before = attrs.start!;
      const after = dimAdd(n!, attrs.end!, -1);
      const parts = [...(dimValue(before) === 0 ? [] : [zeros(before)]), dy, ...(dimValue(after) === 0 ? [] : [zeros(after)])];
      return [parts.length === 1 ? dy : g.op(Op.Concat, parts)];
    },
  },
  [Op.Reshape]: {
    category: "adjoint", arity: 1, names: [], doc: "the same elements in the shape attrs.shape", shape: (s, c) => reshapeShape(s[0]!, c.attrs.shape!),
    vjp: (g, [x], _y, dy) => [g.op(Op.Reshape, [dy], { shape: g.shape(x!) })],
  },
  [Op.BroadcastTo]: {
    category: "adjoint", arity: 1, names: [], doc: "broadcast (numpy's rules) to attrs.shape", shape: (s, c) => broadcastToShape(s[0]!, c.attrs.shape!),
    vjp: (g, [x], _y, dy) => [g.op(Op.ReduceTo, [dy], { shape: g.shape(x!) })],
  },
  [Op.ReduceTo]: {
    category: "adjoint", arity: 1, names: [], doc: "sums the axes broadcasting to its argument's shape added, back to attrs.shape", shape: (s, c) => reduceToShape(s[0]!, c.attrs.shape!),
    vjp: (g, [x], _y, dy) => [g.op(Op.BroadcastTo, [dy], { shape: g.shape(x!) })],
  },
  [Op.OneHot]: {
    category: "adjoint", arity: 1, names: [], doc: "an integer i as a vector of attrs.depth zeros with a 1 at i", range: [0, 1], shape: (s, c) => oneHotShape(s[0]!, c.dtypes[0]!, c.attrs.depth!),
    vjp: () => [undefined],
  },
  [Op.Input]: leaf("a cell input at step t"),
  [Op.StateRead]: leaf("a state k ≥ 1 steps back"),
  [Op.Param]: leaf("a trainable parameter"),
  [Op.Const]: leaf("a scalar constant"),
  [Op.Apply]: sequence([1, 64], "a stateless layer on single values"),
  [Op.Map]: sequence([1, 64], "a stateless layer at every step of sequences"),
  [Op.Scan]: sequence([1, 65], "a layer over sequences carrying its states"),
  [Op.Final]: sequence(1, "the final states of a scan or generate"),
  [Op.States]: sequence([1, 64], "initial states given as values, one per state"),
  [Op.Field]: sequence(1, "one state of final states"),
  [Op.Last]: sequence(1, "each sequence's element at its own last step"),
  [Op.Generate]: sequence([0, 2], "feeds a layer's output back as its next input"),
} satisfies Record<Op, OpInfo>;

type Table = typeof opInfo;
/** The ops of some categories, as a type: backends write `Record<OpsIn<"unary">, …>` so a missing row is a compile error. */
export type OpsIn<C extends OpCategory> = { [K in Op]: Table[K]["category"] extends C ? K : never }[Op];

export const info = (op: Op): OpInfo => opInfo[op];

/** Every op that computes (neither a leaf nor a sequence construct): the ops a backend's total table must name. */
export type ComputeOp = Exclude<Op, OpsIn<"leaf" | "sequence">>;
/** Compute ops written as primitives in their row (`expand`): a backend may lower the expansion instead. */
export type CompositeOp = { [K in ComputeOp]: Table[K] extends { readonly expand: unknown } ? K : never }[ComputeOp];
/** A compute op's facts, with its derivative rule. */
export const computeInfo = (op: ComputeOp): ComputeInfo => opInfo[op];

/** Ops that are neither leaves, elementwise nor sequence constructs: each backend has a row for every one. */
export type StructuralOp = OpsIn<Exclude<OpCategory, "leaf" | "unary" | "binary" | "sequence">>;

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
