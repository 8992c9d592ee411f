// The closed set of IR operations, with the facts every stage needs about each.

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
  Neg = "neg", Sigmoid = "sigmoid", HardSigmoid = "hard_sigmoid", Tanh = "tanh", Relu = "relu", Elu = "elu", Selu = "selu",
  Softplus = "softplus", Softsign = "softsign", Swish = "swish", Gelu = "gelu", Exp = "exp", Log = "log", Abs = "abs",
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

/** Ops that only appear in models. */
export const sequenceOps: ReadonlySet<Op> = new Set([Op.Apply, Op.Map, Op.Scan, Op.Final, Op.Field, Op.Last, Op.Generate]);

export const unaryOps: ReadonlySet<Op> = new Set([
  Op.Neg, Op.Sigmoid, Op.HardSigmoid, Op.Tanh, Op.Relu, Op.Elu, Op.Selu, Op.Softplus, Op.Softsign, Op.Swish, Op.Gelu,
  Op.Exp, Op.Log, Op.Abs, Op.Sqrt, Op.Square, Op.Sin, Op.Cos, Op.Identity,
]);
export const binaryOps: ReadonlySet<Op> = new Set([Op.Add, Op.Sub, Op.Mul, Op.Div, Op.Maximum, Op.Minimum, Op.Pow]);

/** The interval an op's output lies in, when it is bounded regardless of its input. */
export const outputRange: Partial<Record<Op, readonly [number, number]>> = {
  [Op.Sigmoid]: [0, 1],
  [Op.HardSigmoid]: [0, 1],
  [Op.Softmax]: [0, 1],
  [Op.Tanh]: [-1, 1],
  [Op.Softsign]: [-1, 1],
  [Op.Sin]: [-1, 1],
  [Op.Cos]: [-1, 1],
};

export interface Builtin {
  readonly name: string;
  readonly op: Op;
  /** Number of arguments, or [min, max] for variadic functions. */
  readonly arity: number | readonly [number, number];
  readonly doc: string;
}

const b = (name: string, op: Op, arity: Builtin["arity"], doc: string): Builtin => ({ name, op, arity, doc });

/** Functions callable in expressions, by every name they answer to. */
export const builtins: ReadonlyMap<string, Builtin> = new Map(
  [
    b("sigmoid", Op.Sigmoid, 1, "logistic sigmoid 1/(1+e^-x), range (0, 1)"),
    b("σ", Op.Sigmoid, 1, "logistic sigmoid 1/(1+e^-x), range (0, 1)"),
    b("hard_sigmoid", Op.HardSigmoid, 1, "piecewise-linear sigmoid clip(0.2x + 0.5, 0, 1), as in Keras"),
    b("tanh", Op.Tanh, 1, "hyperbolic tangent, range (-1, 1)"),
    b("relu", Op.Relu, 1, "max(x, 0)"),
    b("elu", Op.Elu, 1, "x if x > 0 else e^x - 1"),
    b("selu", Op.Selu, 1, "scaled exponential linear unit"),
    b("softplus", Op.Softplus, 1, "log(1 + e^x)"),
    b("softsign", Op.Softsign, 1, "x / (1 + |x|)"),
    b("swish", Op.Swish, 1, "x · sigmoid(x)"),
    b("silu", Op.Swish, 1, "x · sigmoid(x)"),
    b("gelu", Op.Gelu, 1, "Gaussian error linear unit (tanh approximation)"),
    b("exp", Op.Exp, 1, "e^x"),
    b("log", Op.Log, 1, "natural logarithm"),
    b("abs", Op.Abs, 1, "|x|"),
    b("sqrt", Op.Sqrt, 1, "square root"),
    b("square", Op.Square, 1, "x²"),
    b("sin", Op.Sin, 1, "sine"),
    b("cos", Op.Cos, 1, "cosine"),
    b("linear", Op.Identity, 1, "the identity, x"),
    b("identity", Op.Identity, 1, "the identity, x"),
    b("softmax", Op.Softmax, 1, "softmax over the last axis"),
    b("log_softmax", Op.LogSoftmax, 1, "log of the softmax over the last axis"),
    b("sum", Op.Sum, 1, "sum over the last axis"),
    b("mean", Op.Mean, 1, "mean over the last axis"),
    b("max", Op.Maximum, 2, "elementwise maximum of two values"),
    b("min", Op.Minimum, 2, "elementwise minimum of two values"),
    b("pow", Op.Pow, 2, "elementwise power a^b"),
    b("concat", Op.Concat, [2, 64], "joins values along their first axis"),
    b("matmul", Op.MatMul, 2, "matrix product, the same as `@`"),
    b("gather", Op.Gather, 2, "gather(table, i): row i of a table, for an integer i (token ids)"),
    b("transpose", Op.Transpose, 1, "transpose(W): the matrix with its two axes swapped"),
  ].map((x) => [x.name, x]),
);
