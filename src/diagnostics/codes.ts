// Every diagnostic code with its title and the long explanation `rnnc explain CODE` prints.

export interface CodeInfo {
  readonly code: string;
  readonly title: string;
  readonly explanation: string;
}

import { builtinsByOp } from "../ir/ops.js";
import { MAX_DECLARATIONS, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_TOKENS, MAX_NESTING, MAX_SOURCE_CHARS, MAX_TENSOR_ELEMENTS, MAX_TOTAL_ELEMENTS } from "./limits.js";

const c = (code: string, title: string, explanation: string): CodeInfo => ({ code, title, explanation: explanation.trim() });

/** Words joined by ", " and wrapped before `width` columns, the first line starting after `indent` columns. */
function wrap(words: readonly string[], width: number, indent: number): string {
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    const next = line ? `${line} ${w}` : w;
    if ((lines.length ? 0 : indent) + next.length > width && line) {
      lines.push(line);
      line = w;
    } else line = next;
  }
  return [...lines, line].join("\n");
}

/** The function list of RNN0203, from the op table: each function once, its other names in parentheses. */
const functionList = wrap([
  ...builtinsByOp().map(([name, ...aliases]) => `${name}${aliases.length ? ` (${aliases.join(", ")})` : ""},`),
  ..."and any cell option that holds a function (`act` in `cell Elman<I, H>(act = tanh)`).".split(" "),
], 96, "A call names no known function. Functions: ".length);

export const codes: ReadonlyMap<string, CodeInfo> = new Map([
  c("RNN0001", "a file cannot be read", `
The file named on the command line does not exist or cannot be read. Check the path.`),
  c("RNN0002", "no such cell to run", `
\`rnnc run\` needs to know which cell to run. A file with one cell runs it; otherwise pass
\`--cell NAME\` with a cell declared in the file or imported into it.`),
  c("RNN0101", "syntax error", `
The parser expected something else at this point. The message says what it expected.
rnnc recovers and keeps parsing, so several syntax errors can be reported at once.

    cell Elman<I, H> {
      input x: [I]
      h = tanh(W @ x +)      // error: an operand is missing after \`+\`
    }`),
  c("RNN0102", "unexpected character", `
A character that has no meaning in the language, such as \`$\` or \`#\`. Names are letters (any
script), digits, \`_\` and \`'\`; operators are \`+ - * / @ · ⊙ ~ =\`; comments start with \`//\`.`),
  c("RNN0103", "malformed index", `
Brackets after a value either read a state at an earlier step or take a slice:

    h[t-1]      // the state h one step back
    h[t-2]      // two steps back
    z[0:H]      // elements 0 … H-1 of z

Anything else inside the brackets (\`h[1]\`, \`h[t*2]\`) is an error.`),
  c("RNN0104", "not a dimension", `
Shapes and slice bounds are made of dimensions: whole numbers, dimension names declared in the
cell's \`<…>\` list, and sums, differences and products of those (\`2*H\`, \`I + H\`).
Dimension defaults (\`<H = 128>\`) must be positive whole numbers.`),
  c("RNN0105", "unknown element type", `
An input holds floats unless declared \`int\`, which is for token ids fed to \`gather\`:

    input token: [] int`),
  c("RNN0106", "nested too deeply", `
Brackets \`(\` \`[\` and minus signs can be open at most ${MAX_NESTING} deep at any point of an equation.
The limit keeps the parser's work bounded on any input. Name the inner parts instead:

    a = (x + y) ⊙ z
    h = tanh(W @ a + b)`),
  c("RNN0107", "expression too deep", `
An equation's expression tree can be at most ${MAX_EXPRESSION_DEPTH} levels deep. Each operator of a chain
\`a + b + c …\` adds a level, as do brackets and signs, so a sum of more than ${MAX_EXPRESSION_DEPTH} terms is
too deep. Split it into named partial sums (\`s1 = a + b + …\`, then \`s = s1 + s2\`).`),
  c("RNN0108", "too many declarations", `
A cell or model can hold at most ${MAX_DECLARATIONS.toLocaleString("en-US")} declarations (inputs, states, params, gates, layers,
outputs and equations). Split a larger one into cells used as layers.`),
  c("RNN0109", "file too large", `
A .rnn file can hold at most ${MAX_SOURCE_CHARS.toLocaleString("en-US")} characters (1 MiB of plain text). Nothing in a larger
file is parsed; split it into files that import each other.`),
  c("RNN0110", "expression too long", `
One expression (the right side of an equation, a layer or an output) can hold at most
${MAX_EXPRESSION_TOKENS.toLocaleString("en-US")} tokens: names, numbers, operators and brackets. The parser builds a tree node per token
and precedence level, so the limit keeps its memory bounded (a 1 MiB equation would take ~500 MB); the
declaration holding it is not read. Name the parts of a long sum (\`s1 = a + b + …\`, then \`s = s1 + s2\`).`),
  c("RNN0201", "unknown name", `
A name used in an equation is not declared in the cell. Every value a cell uses is an \`input\`,
a \`state\`, a \`param\`, a numeric cell option, or defined by an equation (\`name = …\`).
The help suggests declared names that are spelled alike.`),
  c("RNN0202", "duplicate declaration", `
Two declarations share a name. Inside a cell, inputs, states, params, options, dimensions and
equations share one namespace; at the top of a file, cells share one.`),
  c("RNN0203", "unknown function", `
A call names no known function. Functions: ${functionList}
Writing \`W(x)\` for a product is also this error: write \`W @ x\`.`),
  c("RNN0204", "unknown initializer", `
The initializer after \`~\` in a param declaration is not known. Initializers: zeros, ones,
constant(v), uniform(lo, hi), normal(mean, std), truncated_normal(mean, std), glorot_uniform,
glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal, recurrent_uniform, orthogonal(gain),
identity(gain).`),
  c("RNN0205", "unresolved dimension", `
A shape uses a dimension the cell does not declare, or a cell is run without a number for a
dimension that has no default.

    cell Elman<I, H> {
      param W: [H, K]        // error: K is not among I, H
    }

Declare every dimension in the cell's list, with a default if you like (\`<I, H = 128>\`), and
give the others on the command line: \`--dims I=4,H=8\`.`),
  c("RNN0206", "unknown import", `
An import names a module that cannot be found, a file that is not a .rnn module (nothing is
read from it), or a cell the module does not declare.
\`"std"\` is the standard library (Elman, LSTM, PeepholeLSTM, GRU, GRUResetBefore, Dense,
Embedding); other modules are paths relative to the importing file:

    import { LSTM, Dense } from "std"
    import { MyCell } from "./cells.rnn"`),
  c("RNN0207", "not a value", `
A name that is not a value was used in arithmetic: a dimension, a function option, the time
index \`t\` outside brackets, or (in a state's initial value) something that has no value
before the first step.`),
  c("RNN0208", "bad option or constant", `
Cell options are function names or numbers (\`(act = tanh, forget_bias = 1.0)\`), and
initializer arguments are numbers or numeric options. Options given on the command line must
be declared by the cell.`),
  c("RNN0301", "matrix product with mismatched inner dimensions", `
In \`A @ v\` the last dimension of A must equal the first dimension of v. Because dimensions are
symbols, \`[H, I] @ [H]\` is an error whatever numbers I and H later take.

The seed text's LSTM makes exactly this slip: it writes the candidate as

    g = tanh(W_xg @ x + W_xg @ h[t-1] + b_g)

applying the input weight W_xg: [H, I] to the hidden state h: [H]. The help suggests a declared
weight whose shape fits, closest in name first: here W_hg: [H, H].`),
  c("RNN0302", "elementwise shape mismatch", `
Elementwise operations (\`+ - * / ⊙\`, max, min, pow, concat's trailing axes) need shapes that
are equal, or that broadcast: a scalar, or an axis of size 1, stretches to the other side.`),
  c("RNN0303", "wrong number of arguments", `
A function or initializer was called with too many or too few arguments.`),
  c("RNN0304", "invalid operand", `
An operation cannot take a value of this rank or kind: \`@\` on a scalar, a slice past the end of
an axis, a reduction of a scalar, a gather whose index is not an \`int\` scalar.`),
  c("RNN0305", "state shape mismatch", `
A state's equation, or its initial value, has a shape other than the state's declared shape.`),
  c("RNN0401", "state never assigned", `
Every state needs exactly one equation giving its value at step t:

    state h: [H] = 0
    h = tanh(W @ h[t-1] + U @ x + b)`),
  c("RNN0402", "state assigned twice", `
A state has more than one equation. A state takes one value per step; combine the equations.`),
  c("RNN0403", "reading the past of something that has none", `
Only states keep their past values: \`h[t-1]\` is fine for \`state h\`, but an input, a param or a
plain equation has no earlier steps. To use a past input, copy it into a state:

    state x_prev: [I] = 0
    x_prev = x            // then read x_prev[t-1] … or simply use x_prev[t-1] as "x at t-1"`),
  c("RNN0404", "reading the future", `
\`h[t+1]\` would need a value that has not been computed. A cell step sees inputs at t and states
at t-1, t-2, …. A bidirectional scan is how a model combines both directions.`),
  c("RNN0405", "a value depends on itself within one step", `
Equations form a loop at the same step t. Most often a state is read bare where its previous
value was meant:

    h = tanh(W @ h + U @ x)      // error: h at t depends on h at t
    h = tanh(W @ h[t-1] + U @ x) // fine`),
  c("RNN0406", "cell has no output", `
A cell must say what a step produces with \`output NAME\` (or \`output y = expression\`).`),
  c("RNN0501", "unused param (warning)", `
A param is declared but no equation reads it. It would still be trained and stored; often it
means another equation names the wrong weight (the seed's typo leaves W_hg unused).`),
  c("RNN0502", "gate can leave [0, 1] (warning)", `
A value marked \`gate\` should lie in [0, 1], since it scales another value between blocking and
passing it. Range analysis found the gate's expression can produce values outside that
interval, for example a gate computed with tanh. Use sigmoid (σ) or hard_sigmoid.`),
  c("RNN0503", "unused value (warning)", `
An equation's value is used by no output and no state, so it is computed for nothing.`),
  c("RNN0504", "unused layer (warning)", `
A layer is declared but never applied, so its params would be stored and trained for nothing.`),
  c("RNN0701", "a one-step layer applied to a whole sequence", `
Calling a layer, \`head(x)\`, applies it to one value. When x is a sequence, say which topology
you mean:

    ys = map(head, xs)          // every step on its own (TimeDistributed)
    y  = head(last(xs))         // the last step only (many-to-one)
    hs = scan(rnn, xs)          // a recurrent layer over the whole sequence`),
  c("RNN0702", "a sequence construct applied to a single value", `
\`scan\`, \`map\`, \`last\` and \`bidirectional\` take sequences (values with a time axis, such as an
input declared \`[T, F]\`); \`final\` takes the result of a scan or a generate; an initial state is a
single value. To turn one value into a sequence, generate one from it (one-to-many).`),
  c("RNN0703", "a recurrent layer used without a sequence", `
A layer whose cell has states carries them from step to step, so it runs over a sequence:
\`scan(rnn, xs)\` (one output per step) or \`generate(rnn, …)\` (its outputs fed back). \`map\` and a
direct call apply a layer to each step on its own, which only stateless cells allow.`),
  c("RNN0704", "layer input mismatch", `
A layer's dimensions are fixed where it is declared (\`layer head = Dense<H, C>\`), so every value
given to it must have the shape and element type of the cell's input with those dimensions:
Dense<H, C> takes [H]. Write \`_\` for a dimension to infer it from the first use
(\`Dense<_, C>\`). Token ids (\`int\`) go to an Embedding; floats to everything else.`),
  c("RNN0705", "initial states that do not fit", `
\`init = …\` starts a scan or a generate from given states: either the final states of another scan
(\`init = final(enc)\`), which must match the layer's states in number and shape, in order (an LSTM
hands over h and c), or one value, which sets the first state. An encoder and its decoder
therefore need the same kind of cell and the same hidden size. \`init = states(…)\` gives every
state of the layer: by name (\`states(h = h0, c = c0)\`), or from records in order, each record's
states filling the next ones (\`states(final(enc1), final(enc2))\` starts a cell of two inlined
LSTMs, whose states \`one.h\`, \`one.c\`, \`two.h\`, \`two.c\` no name can spell).`),
  c("RNN0706", "generate cannot feed its output back", `
\`generate(dec, start = …, steps = N, until = END)\` feeds each step's output back as the next
input. The layer needs exactly one input, and either
- a token input \`[] int\` with an output of scores \`[V]\`: the next token is the argmax (or a sample
  at \`temperature > 0\`), or
- an input of the output's own shape, fed back as it is; then \`start = v\` gives the first input.`),
  c("RNN0707", "sequences of different lengths combined", `
Step-by-step operations (arithmetic, \`map\`, \`scan\` with several inputs) pair the steps of their
sequences, so all must share one length. Inputs \`[T, F]\` and \`[S, F]\` may differ in length:
summarize one (\`last\`, \`final\`) or hand it over as an initial state (encoder–decoder).`),
  c("RNN0708", "unknown cell for a layer", `
\`layer name = Cell<dims>\` needs a cell declared in this file or imported
(\`import { LSTM } from "std"\`). Models cannot be layers.`),
  c("RNN0709", "bad argument to a construct", `
A construct got an argument it does not take, or a value it cannot use: the first argument of
scan, map and generate is a layer name; scan takes \`init\` and \`reverse\`; bidirectional takes
\`merge = concat | sum | mul | ave\`; generate takes \`init\`, \`start\`, \`steps\` (required),
\`until\`, \`temperature\`, \`beam\` and \`length_norm\` (beam search over token ids, not with a
temperature, and for cells that read each state one step back); fields such as \`.h\` name a state of \`final(…)\`.`),
  c("RNN0710", "a layer that cannot be inlined", `
Inside a cell, a layer's step is inlined into the cell's step. A recurrent layer can be applied
once per step (declare a second layer for a second recurrence), and a cell cannot contain itself.`),
  c("RNN0711", "a layer dimension that cannot be inferred", `
\`_\` infers a layer's dimension from the shape of its input, so only dimensions that appear in the
cell's input shapes can be \`_\`; write output sizes: \`Dense<_, C>\`, not \`Dense<_, _>\`.`),
  c("RNN0712", "a layer of an imported cell that has errors", `
A layer names a cell from another file, and that cell does not compile. Its errors are reported in
its own file (\`rnnc check other.rnn\`); the note quotes the first one. Until it is fixed, the
layer has no meaning, and neither has anything computed from it.`),
  c("RNN0601", "weights: missing param", `
The weights file lacks a param the cell declares. The message names it with its expected shape.`),
  c("RNN0602", "weights: unknown param", `
The weights file holds a tensor whose name is not a param of the cell (a different cell's file,
or a renamed param).`),
  c("RNN0603", "weights: wrong shape", `
A tensor in the weights file has another shape than the param, with the dimensions given.`),
  c("RNN0604", "weights: malformed file", `
The weights file is not valid JSON in the rnnc-weights format:

    {"format": "rnnc-weights", "version": 1,
     "params": {"W_xh": {"shape": [8, 4], "data": [32 numbers, row-major]}}}`),
  c("RNN0605", "bad input tensor", `
An input, or an initial state, does not have the shape the cell expects: inputs are nested arrays
[batch][time][…input shape], initial states [batch][…state shape]; token ids must be whole
numbers within the embedding table.`),
  c("RNN0606", "tensors too large", `
The dimensions given (\`--dims\` or defaults) make a tensor of the spec larger than rnnc allows:
at most ${MAX_TENSOR_ELEMENTS.toLocaleString("en-US")} elements in any one param, state, input or step value, and
${MAX_TOTAL_ELEMENTS.toLocaleString("en-US")} in all params and one example's values together. The check runs on
the shapes before anything is allocated. Use smaller dimensions.`),
  c("RNN0607", "a file names a file outside its folder", `
A model read from elsewhere (a tfjs \`model.json\`) names other files it needs (its weight shards).
rnnc reads them only from the model's own folder and the folders below it, as archive tools confine
the members they extract: a name that is absolute, climbs out with \`..\`, or is a link leading out
of the folder is refused, and so is anything that is not a regular file (a device, a fifo, a
folder) or is larger than 1 GiB. Keep the model's files beside its \`model.json\`, as
\`tf.LayersModel.save\` writes them.`),
  c("RNN0608", "non-finite weights", `
A weights file, or a model being imported, holds NaN or ±Infinity. Such a weight makes every output
it reaches NaN, and usually means the training that wrote it diverged, so rnnc refuses it where it is
read (naming the tensor and the index) rather than fail far from the cause. \`--allow-nonfinite\`
(run, eval, compile, import) reads it anyway; rnnc then writes such values as the strings "NaN",
"Infinity" and "-Infinity", since JSON has no numbers for them.`),
  c("RNN0609", "an output another process is writing", `
\`rnnc train -o W.json\` holds the lock file \`W.json.lock\` (its pid, host and start time) while it runs, so
that two trainings never write one checkpoint in turns. A second run on the same output stops at once,
naming the first. A lock left by a process that has ended (a crash, a killed machine) is taken over.
Delete the lock file by hand only if the message names a process that is gone.`),
  c("RNN0610", "a data module that fails", `
\`rnnc train\` and \`rnnc eval\` import the data module (your code) and call its \`load(options)\`, which
returns, or resolves to, \`{train, test}\`: lists of examples \`{inputs: {NAME: value}, target}\`. The
module could not be imported (a syntax error, a missing import), \`load\` threw, or what it gave is not
of that form. The message quotes the module's own error or names the first example at fault.`),
  c("RNN0611", "the PyTorch engine failed", `
\`rnnc train --engine torch\` compiles the model to a PyTorch module, writes the data once, and runs rnnc's
trainer (a Python file in the package) with the python given by \`--python\` (else \`$RNNC_PYTHON\`, else
\`python3\`), under \`torchrun\` when \`--nproc\` or \`--nnodes\` asks for several processes. That python must
import torch and numpy. The message says what failed: the python could not run or import them, or the
trainer stopped, with its last lines of output. The checkpoint of the last finished epoch is intact.`),
  c("RNN0801", "cannot export to ONNX", `
\`rnnc compile --target onnx\` writes standard ONNX (opset 17). It exports scans and maps of any
cell (the stdlib LSTM, GRU, GRUResetBefore and Elman as ONNX's own recurrent ops, every other cell
as a Scan whose body is its step), applications, \`last\`, \`final\` and its fields, greedy
\`generate\` (a Loop) and the ops between layers. The error names what it cannot export yet, such as
sampling with a temperature (it draws from rnnc's own random numbers), beam search, a record of states as an
output, or a state whose start is computed from params. Such a model still runs with \`rnnc run\` and
compiles to the js and tfjs targets.`),
].map((x) => [x.code, x]));
