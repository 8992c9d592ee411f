#!/usr/bin/env node
// The rnnc command line: a face over the compiler's composition root; it holds no compiler logic.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { CompileErrors, RnncError } from "../diagnostics/errors.js";
import { renderDiagnostics, renderError } from "../diagnostics/render.js";
import { relative } from "node:path";
import type { TrainFlags } from "./train.js";
import { UsageError, version } from "./usage.js";
import { UnwritableError } from "../node/host.js";
import { enableRelaxedSimd } from "../node/wasm-features.js";

// Each command loads what it needs when it runs: `rnnc explain` and `rnnc --help` load no compiler, only train, run
// and compile on a tfjs backend load TensorFlow.js.
const commands = () => import("./commands.js");

const color = process.stdout.isTTY === true && !process.env["NO_COLOR"];
const displayPath = (f: string): string => (f.startsWith("/") ? relative(process.cwd(), f) || f : f);

async function main(argv: string[]): Promise<number> {
  enableRelaxedSimd();
  let exit = 0;
  const wrap = (f: () => number | Promise<number>) => async () => { exit = await f(); };
  const parser = yargs(argv)
    .scriptName("rnnc")
    .usage("$0 <command> [options]\n\nA compiler for recurrent neural networks written as equations.")
    .command("check <files..>", "check .rnn files and report every error and warning", (y) => y
      .positional("files", { type: "string", array: true, demandOption: true, describe: ".rnn files to check" })
      .option("format", { choices: ["text", "json"] as const, default: "text" as const, describe: "output as text or as JSON data" })
      .example("$0 check stdlib/*.rnn", "check the standard library"),
    (a) => wrap(async () => (await commands()).checkCommand(a.files as string[], a.format, { color, displayPath }))())
    .command("run <file>", "run a model or a cell and print its outputs as JSON (a model on the fused kernels where they can take it, else the reference interpreter; --backend to choose)", (y) => y
      .positional("file", { type: "string", demandOption: true, describe: "the .rnn file" })
      .option("model", { type: "string", describe: "the model to run (may be left out when the file declares one)" })
      .option("cell", { type: "string", describe: "the cell to run (may be left out when the file has one cell and no model)" })
      .option("dims", { type: "string", describe: "dimension values, e.g. I=4,H=8" })
      .option("opt", { type: "string", describe: "cell option overrides, e.g. act=relu" })
      .option("input", { type: "string", demandOption: true, nargs: 1, describe: "JSON file (- reads standard input), one key per input (batch first); models: optional \"lengths\" or \"masks\"; cells: optional \"initial_states\"" })
      .option("weights", { type: "string", describe: "weights file (rnnc-weights JSON); default: fresh seeded initialization" })
      .option("allow-nonfinite", { type: "boolean", default: false, describe: "read weights holding NaN or ±Infinity (refused otherwise, RNN0608)" })
      .option("seed", { type: "number", default: 0, describe: "seed of the initializers" })
      .option("precision", { choices: ["f32", "f64"] as const, default: "f32" as const, describe: "interp: compute in float32 (as tfjs does) or float64" })
      .option("steps", { type: "number", describe: "number of steps, for a cell without inputs" })
      .option("backend", { choices: ["auto", "interp", "fused", "tfjs-cpu", "tfjs-wasm"] as const, default: "auto" as const, describe: "auto: a model on the fused kernels where they can run it, else the reference interpreter; interp: the reference interpreter; fused: the fused kernels over the whole batch; or TensorFlow.js on its cpu or wasm backend" })
      .option("explain", { type: "boolean", default: false, describe: "say which backend runs and why" })
      .option("ctc", { type: "string", describe: "also decode this output as CTC's per-step class scores: each example's labels under \"decoded\"" })
      .option("blank", { type: "number", describe: "with --ctc: the blank class (default 0)" })
      .option("beam", { type: "number", describe: "with --ctc: prefix beam search over this many label prefixes (default 1: greedy best path)" })
      .option("trace", { type: "string", describe: "also record these values of every layer at every step (comma-separated, or all) on the reference interpreter: under \"trace\"" })
      .option("passes", { type: "boolean", default: true, describe: "tfjs: run the IR passes and hoist state-free work out of loops (--no-passes: neither)" })
      .option("disable-pass", { type: "string", array: true, describe: "tfjs: leave out these passes (reassociate, fuse-matmul, stack-biases, stack-adds, layout, cse, dce)" })
      .example("$0 run examples/seed-lstm.rnn --dims I=3,H=4 --input examples/seed-input.json", "the seed's LSTM cell on a batch of two sequences")
      .example("$0 run examples/name-gender/name-gender.rnn --input examples/name-gender/input.sample.json", "a model, with fresh seeded weights")
      .example("cat examples/seed-input.json | $0 run examples/seed-lstm.rnn --dims I=3,H=4 --input -", "the input from standard input")
      .example("$0 run examples/seed-lstm.rnn --dims I=3,H=4 --input examples/seed-input.json --trace f,c", "with the forget gate and the cell state at every step"),
    (a) => wrap(async () => (await commands()).runCommand(a))())
    .command("init <file>", "write freshly initialized weights for a model or a cell", (y) => y
      .positional("file", { type: "string", demandOption: true, describe: "the .rnn file" })
      .option("model", { type: "string", describe: "the model (may be left out when the file declares one)" })
      .option("cell", { type: "string", describe: "the cell (may be left out when the file has one cell and no model)" })
      .option("dims", { type: "string", describe: "dimension values, e.g. I=4,H=8" })
      .option("opt", { type: "string", describe: "cell option overrides, e.g. act=relu" })
      .option("seed", { type: "number", default: 0, describe: "seed of the initializers" })
      .option("out", { alias: "o", type: "string", demandOption: true, describe: "weights file to write (atomically)" })
      .example("$0 init examples/name-gender/name-gender.rnn --seed 1 -o name-gender.init.json", "the model's weights as its initializers draw them"),
    (a) => wrap(async () => (await commands()).initCommand(a))())
    .command("train <file>", "train a model from a data module: in this process (rnnc's fused kernels or TensorFlow.js), or on PyTorch (--engine torch, several processes and machines with --nproc and --nnodes)", (y) => y
      .positional("file", { type: "string", demandOption: true, describe: "the .rnn file" })
      .option("model", { type: "string", describe: "the model to train (may be left out when the file declares one)" })
      .option("dims", { type: "string", describe: "dimension values, e.g. H=64 (else the model's defaults)" })
      .option("data", { type: "string", demandOption: true, describe: "an ES module exporting load(options) → {train, validation?, test}: examples {inputs, target}; or a .json/.jsonl file of them" })
      .option("validation-split", { type: "number", describe: "hold the last F (0 < F < 1) of the training examples out as the validation split, when the data has none: what --early-stop, --schedule plateau and --keep-best select on (without one, they take a tenth)" })
      .option("data-opt", { type: "string", describe: "options passed to load(), e.g. length=50,train=3000" })
      .option("output", { type: "string", demandOption: true, describe: "the model output the loss is taken on" })
      .option("loss", { choices: ["crossentropy", "mse", "ctc"] as const, demandOption: true, describe: "crossentropy for scores over classes or tokens (token ids as targets), mse for values, ctc for a sequence of class scores against each example's list of labels (unaligned: speech)" })
      .option("blank", { type: "number", describe: "with --loss ctc: the blank class (default 0)" })
      .option("optimizer", { choices: ["sgd", "momentum", "adam", "rmsprop"] as const, default: "adam" as const, describe: "tfjs' optimizer of that name" })
      .option("lr", { type: "number", default: 0.001, describe: "learning rate" })
      .option("clip", { type: "number", describe: "clip gradients to this global norm" })
      .option("epochs", { type: "number", default: 10, describe: "passes over the training split" })
      .option("batch-size", { type: "number", default: 32, describe: "examples per optimizer step" })
      .option("seed", { type: "number", default: 0, describe: "seed of the initial weights and of the shuffling" })
      .option("limit", { type: "number", describe: "train on the first N examples only (smoke runs)" })
      .option("out", { alias: "o", type: "string", demandOption: true, describe: "weights file, written atomically after every epoch; a loss curve (.loss.svg) is written beside it" })
      .option("resume", { type: "boolean", default: false, describe: "continue from the checkpoint in --out" })
      .option("force", { type: "boolean", default: false, describe: "start afresh even though --out exists (it is replaced after the first epoch)" })
      .option("backend", { choices: ["auto", "fused", "tfjs-cpu", "tfjs-wasm"] as const, default: "auto" as const, describe: "fused: the whole model on rnnc's fused kernels, without tfjs; or TensorFlow.js on its cpu or wasm backend; auto: fused where the kernels can train the model whole, else tfjs-wasm where WebAssembly SIMD is" })
      .option("passes", { type: "boolean", default: true, describe: "run the IR passes and hoist state-free work out of loops (--no-passes: neither)" })
      .option("disable-pass", { type: "string", array: true, describe: "leave out these passes (reassociate, fuse-matmul, stack-biases, stack-adds, layout, cse, dce)" })
      .option("fused", { type: "boolean", default: true, describe: "run each scan as one fused kernel with its own backward pass where the cell allows (--no-fused: op by op)" })
      .option("explain", { type: "boolean", default: false, describe: "say which backend runs and why, and how each scan runs (fused or op by op) and why, after the first batch" })
      .option("threads", { type: "number", describe: "fused scans split each batch over 1 or 2 threads (default 2: a helper thread on the second core, where there is one); with --engine torch, threads per process (default: the cores over --nproc)" })
      .option("engine", { choices: ["node", "torch"] as const, default: "node" as const, describe: "node: this process, on --backend; torch: PyTorch, in processes of its own (the same training: data, loss, optimizer, schedule, checkpoints)" })
      .option("nproc", { type: "number", describe: "with --engine torch: processes on this machine, DistributedDataParallel between them (torchrun's --nproc_per_node; default 1)" })
      .option("nnodes", { type: "number", describe: "with --engine torch: machines in all, each running this same command with its own --node-rank (default 1)" })
      .option("node-rank", { type: "number", describe: "with --engine torch and --nnodes: this machine's rank, 0 … nnodes-1; rank 0 writes the checkpoints" })
      .option("master", { type: "string", describe: "with --nnodes: HOST:PORT where rank 0's machine listens for the others" })
      .option("python", { type: "string", describe: "with --engine torch: the python with torch and numpy (default: $RNNC_PYTHON, else python3)" })
      .option("device", { choices: ["auto", "cpu", "cuda"] as const, describe: "with --engine torch: cuda (nccl between processes), cpu (gloo), or auto: cuda where torch sees it" })
      .option("schedule", { type: "string", describe: "learning-rate schedule: constant, step,every=10,gamma=0.5, exponential,gamma=0.95, cosine,min=0 (over --epochs) or plateau,patience=2,factor=0.5,min=0 (cut when the held-out loss stalls)" })
      .option("warmup", { type: "number", describe: "raise the learning rate linearly from 0 over this many epochs (fractions allowed), then follow the schedule" })
      .option("early-stop", { type: "number", describe: "stop when the monitored held-out value (--monitor) has not improved for this many epochs" })
      .option("min-delta", { type: "number", describe: "an epoch improves on the best only by more than this (early stopping, keep-best, default 0)" })
      .option("keep-best", { type: "boolean", default: false, describe: "also write the best epoch by --monitor to W.best.json (for -o W.json)" })
      .option("metrics", { type: "string", describe: "more held-out metrics after every epoch, [OUTPUT:]METRIC as rnnc eval names them, e.g. top5 or phones:error-rate (a generated output's error rate)" })
      .option("monitor", { type: "string", describe: "what early stopping and keep-best watch: loss (default), accuracy or rmse, or one of --metrics (accuracy, topK and exact improve upwards)" })
      .option("accumulate", { type: "number", describe: "gradient accumulation: update the weights once every N batches, with their mean gradient (an effective batch of N × --batch-size)" })
      .option("weight-decay", { type: "number", describe: "decoupled weight decay (AdamW's): weight matrices shrink by lr × this after every step" })
      .example("$0 train examples/name-gender/name-gender.rnn --data examples/name-gender/data.mjs --output probs --loss crossentropy --epochs 1 --limit 256 -o name-gender.json", "one short epoch on the first 256 names")
      .example("$0 train examples/name-gender/name-gender.rnn --data examples/name-gender/data.mjs --output probs --loss crossentropy --epochs 1 --limit 256 --engine torch --nproc 2 -o name-gender.torch.json", "the same epoch on PyTorch, in two processes (python with torch: --python or $RNNC_PYTHON)")
      .example("$0 train examples/co2-forecast/co2-forecast.rnn --data examples/co2-forecast/data.mjs --output next --loss mse --epochs 3 --schedule cosine --warmup 0.5 --early-stop 2 --keep-best --limit 300 -o co2.json", "a schedule with warm-up, early stopping and the best epoch kept in co2.best.json"),
    (a) => wrap(async () => (await import("./train.js")).trainCommand(a as unknown as TrainFlags))())
    .command("eval <file>", "a trained model's metrics on a split of its data: accuracy and top-k, RMSE and MAE, or the error rate of generated sequences, with baselines", (y) => y
      .positional("file", { type: "string", demandOption: true, describe: "the .rnn file" })
      .option("model", { type: "string", describe: "the model (may be left out when the file declares one)" })
      .option("dims", { type: "string", describe: "dimension values, e.g. H=64 (else those the weights file records, then the model's defaults)" })
      .option("data", { type: "string", demandOption: true, describe: "the data module training used (load(options) → {train, test}; an optional baseline(example) is scored beside the model)" })
      .option("data-opt", { type: "string", describe: "options passed to load(), e.g. window=48" })
      .option("weights", { type: "string", demandOption: true, describe: "the trained weights (rnnc-weights JSON, e.g. a train checkpoint)" })
      .option("allow-nonfinite", { type: "boolean", default: false, describe: "read weights holding NaN or ±Infinity (refused otherwise, RNN0608)" })
      .option("output", { type: "string", demandOption: true, describe: "the model output to score against the examples' targets" })
      .option("split", { choices: ["test", "validation", "train"] as const, default: "test" as const, describe: "which split of the data to score (report results on test: nothing was selected on it)" })
      .option("validation-split", { type: "number", describe: "the validation split is the last F of the training examples, as rnnc train --validation-split F carved it" })
      .option("ctc", { type: "boolean", describe: "the output is CTC's per-step class scores (trained with --loss ctc): decode it and score the labels (error rate, exact)" })
      .option("blank", { type: "number", describe: "with --ctc: the blank class (default 0)" })
      .option("beam", { type: "number", describe: "decode by beam search over K hypotheses: a generated output of token ids instead of its spec's own beam (1: greedy), or with --ctc prefix beam search over K label prefixes (default 1: greedy best path)" })
      .option("metrics", { type: "string", describe: "comma-separated: accuracy, topK (e.g. top5, where there are more than K classes), f1, precision, recall (macro), crossentropy, perplexity for class scores; rmse, mae, mse for values; error-rate, exact for generated sequences (default: all of the output's kind)" })
      .option("limit", { type: "number", describe: "score the split's first N examples only" })
      .option("batch-size", { type: "number", default: 64, describe: "examples per forward pass" })
      .option("backend", { choices: ["auto", "fused", "tfjs-cpu", "tfjs-wasm"] as const, default: "auto" as const, describe: "fused: rnnc's fused kernels over the whole batch; or TensorFlow.js on its cpu or wasm backend; auto: fused where the kernels can compute the output, else tfjs-wasm where WebAssembly SIMD is" })
      .option("explain", { type: "boolean", default: false, describe: "say which backend runs and why" })
      .option("json", { type: "boolean", default: false, describe: "print the results as JSON data" })
      .option("svg", { type: "string", describe: "also draw the confusion matrix (class scores, up to 20 classes) as an SVG picture to this file" })
      .example("$0 init examples/name-gender/name-gender.rnn -o untrained.json && $0 eval examples/name-gender/name-gender.rnn --data examples/name-gender/data.mjs --weights untrained.json --output probs --limit 200", "an untrained model's accuracy and cross-entropy on 200 held-out names, against the majority class"),
    (a) => wrap(async () => (await import("./eval.js")).evalCommand(a as unknown as import("./eval.js").EvalFlags))())
    .command("compile <file>", "compile a model to a JavaScript module (and its .d.ts): tfjs for training and batches, js for dependency-free streaming", (y) => y
      .positional("file", { type: "string", demandOption: true, describe: "the .rnn file" })
      .option("model", { type: "string", describe: "the model to compile (may be left out when the file declares one)" })
      .option("target", { choices: ["tfjs", "js", "onnx", "pytorch"] as const, demandOption: true, describe: "tfjs: imports @tensorflow/tfjs; js: plain code on Float32Array, no imports; onnx: a standard ONNX model (opset 17) for ONNX Runtime and other serving systems; pytorch: one Python file needing only torch (an nn.Module, weights embedded, load/save of rnnc weights)" })
      .option("dims", { type: "string", describe: "dimension values, e.g. I=4,H=8 (the module is compiled for them)" })
      .option("weights", { type: "string", describe: "weights to build in (rnnc-weights JSON); default: seeded initialization" })
      .option("allow-nonfinite", { type: "boolean", default: false, describe: "read weights holding NaN or ±Infinity (refused otherwise, RNN0608)" })
      .option("seed", { type: "number", default: 0, describe: "seed of the initializers when no weights are given" })
      .option("out", { alias: "o", type: "string", describe: "the module to write (default: beside the spec, .rnn → .js)" })
      .option("streaming", { type: "boolean", default: false, describe: "onnx: one time step per call, every state an explicit input (state.LAYER.NAME) and output (….next)" })
      .option("simd", { type: "boolean", default: true, describe: "js: matrix products in a small WebAssembly SIMD kernel where the runtime has one (--no-simd: plain JS only)" })
      .example("$0 compile examples/co2-forecast/co2-forecast.rnn --target js -o co2.js", "a module with no imports (and co2.d.ts)")
      .example("$0 compile examples/co2-forecast/co2-forecast.rnn --target onnx -o co2.onnx", "an ONNX model for ONNX Runtime")
      .example("$0 compile examples/g2p/g2p.rnn --target pytorch -o g2p.py", "a PyTorch module (nn.Module) with the same weights"),
    (a) => wrap(async () => (await import("./compile.js")).compileCommand(a))())
    .command("import <source>", "bring trained weights in: a PyTorch state dict (.safetensors), a tfjs-layers model (model.json) or an ONNX model, onto a spec's model (for ONNX, one derived from the graph), as rnnc-weights JSON", (y) => y
      .positional("source", { type: "string", demandOption: true, describe: "the trained weights: a .safetensors PyTorch state dict (nn.LSTM, nn.GRU, nn.RNN, nn.Linear, nn.Embedding) or a tfjs-layers model.json (LSTM, GRU, SimpleRNN, Dense, Embedding) with its weight files" })
      .option("spec", { type: "string", describe: "the .rnn file whose model the weights are for; left out for an ONNX or tfjs-layers model, the spec its graph or layers give is written beside the weights (W.rnn for -o W.json)" })
      .option("model", { type: "string", describe: "the model (may be left out when the spec declares one)" })
      .option("dims", { type: "string", describe: "dimension values, e.g. H=64" })
      .option("map", { type: "string", describe: "which PyTorch module, Keras layer or ONNX node direction fills which layer, e.g. lstm.l0=rnn,fc=head or lstm0.l0_reverse=bwd (otherwise by kind, shape and direction, where that is unambiguous; rnnc import prints the table)" })
      .option("allow-nonfinite", { type: "boolean", default: false, describe: "import weights holding NaN or ±Infinity (refused otherwise, RNN0608); they are written as the strings \"NaN\", \"Infinity\", \"-Infinity\"" })
      .option("json", { type: "boolean", default: false, describe: "also print which module filled which layer, and why, as JSON on standard output" })
      .option("out", { alias: "o", type: "string", demandOption: true, describe: "the rnnc-weights file to write (atomically; nothing is written on an error)" })
      .example("$0 import test/fixtures/import/co2.safetensors --spec examples/co2-forecast/co2-forecast.rnn -o co2.json", "a PyTorch state dict onto the co2 example's model")
      .example("$0 import test/fixtures/import/name-gender.onnx -o ng-from-torch.json", "also writes ng-from-torch.rnn, the spec its graph gives"),
    (a) => wrap(async () => (await import("./import.js")).importCommand(a as unknown as import("./import.js").ImportFlags))())
    .command("fmt <files..>", "format .rnn files in place (directories: every .rnn file below them)", (y) => y
      .positional("files", { type: "string", array: true, demandOption: true, describe: ".rnn files or directories" })
      .option("check", { type: "boolean", default: false, describe: "change nothing; list the files that are not formatted and exit 1 if there are any" })
      .option("stdout", { type: "boolean", default: false, describe: "print the formatted text instead of writing the files" })
      .example("$0 fmt --check stdlib examples", "list the files of the standard library and the examples that are not formatted (changes nothing)"),
    (a) => wrap(async () => (await import("./fmt.js")).fmtCommand({ files: a.files as string[], check: a.check, stdout: a.stdout }, { color: process.stderr.isTTY === true, displayPath }))())
    .command("lsp", "run the language server (for editors), speaking LSP over stdin and stdout", (y) => y
      .option("stdio", { type: "boolean", default: true, describe: "talk over stdin/stdout (the only transport)" }),
    async () => {
      const { startServer } = await import("../lsp/server.js");
      startServer();
      exit = -1;
    })
    .command("ir <file>", "print the IR of a file's cells", (y) => y
      .positional("file", { type: "string", demandOption: true, describe: "the .rnn file" })
      .option("cell", { type: "string", describe: "only this cell" })
      .option("opt", { type: "string", describe: "cell option overrides, e.g. act=relu" })
      .example("$0 ir stdlib/lstm.rnn --cell LSTM", "the LSTM cell's IR, shapes symbolic"),
    (a) => wrap(async () => (await commands()).irCommand(a, { color, displayPath }))())
    .command("trace <file>", "run a model (or a cell) on the reference interpreter and write one self-contained HTML page: its pictures and a heat map over time of every gate, state and attention weight, per example", (y) => y
      .positional("file", { type: "string", demandOption: true, describe: "the .rnn file" })
      .option("model", { type: "string", describe: "the model (may be left out when the file declares one)" })
      .option("cell", { type: "string", describe: "trace this cell alone" })
      .option("dims", { type: "string", describe: "dimension values, e.g. I=4,H=8" })
      .option("opt", { type: "string", describe: "cell option overrides, e.g. act=relu" })
      .option("input", { type: "string", demandOption: true, nargs: 1, describe: "JSON input file, as rnn run takes it (- reads standard input)" })
      .option("weights", { type: "string", describe: "weights file (rnnc-weights JSON); default: fresh seeded initialization" })
      .option("seed", { type: "number", default: 0, describe: "seed of the initializers (and of sampling in generate)" })
      .option("values", { type: "string", describe: "only these values, comma-separated (f,i or decoder.attend.weights); all by default" })
      .option("units", { type: "number", default: 32, describe: "rows of a heat map at most (a wide state's first units)" })
      .option("out", { alias: "o", type: "string", demandOption: true, describe: "the page to write (.html)" })
      .example("$0 trace examples/name-gender/name-gender.rnn --input examples/name-gender/input.sample.json -o trace.html", "the LSTM's gates and states over each name, as heat maps"),
    (a) => wrap(async () => (await import("./trace.js")).traceCommand(a))())
    .command("playground", "serve the playground on this machine: an editor on the real compiler with live diagnostics, hover with shapes, the cell's picture, traced runs and a short training run, all in the page (nothing fetched from elsewhere)", (y) => y
      .option("port", { type: "number", default: 8765, describe: "the port (0: any free one)" })
      .option("host", { type: "string", default: "127.0.0.1", describe: "the address to listen on (127.0.0.1: this machine only)" })
      .option("out", { type: "string", describe: "write the page's static files to this directory instead of serving them" })
      .example("$0 playground --out site/", "the static files, for any web server (without --out: served at http://127.0.0.1:8765/ until Ctrl-C)"),
    (a) => wrap(async () => (await import("./playground.js")).playgroundCommand(a))())
    .command("graph <file>", "draw a cell's dataflow (inputs, gates, states, the h[t-1] recurrences) or a model's layers: SVG laid out by elkjs, Graphviz DOT or JSON, each box linked to its source line", (y) => y
      .positional("file", { type: "string", demandOption: true, describe: "the .rnn file" })
      .option("model", { type: "string", describe: "the model to draw (the file's first by default)" })
      .option("cell", { type: "string", describe: "draw this cell's dataflow instead (a cell of the file or one it imports)" })
      .option("opt", { type: "string", describe: "the cell's option values, e.g. act=relu" })
      .option("format", { choices: ["svg", "dot", "json"] as const, default: "svg" as const, describe: "svg (a picture), dot (Graphviz) or json (boxes with source lines, arrows)" })
      .option("out", { alias: "o", type: "string", describe: "write the picture to this file (else standard output)" })
      .example("$0 graph stdlib/lstm.rnn --cell LSTM -o lstm.svg", "the LSTM's four gates, its states and their recurrences as a picture")
      .example("$0 graph examples/g2p/g2p-attention.rnn --format dot", "the g2p model's layers in Graphviz's language"),
    (a) => wrap(async () => (await import("./graph.js")).graphCommand(a))())
    .command("summary <file>", "list a model's layers: cell, how each is applied, input and output shapes, states and parameter counts, with the total", (y) => y
      .positional("file", { type: "string", demandOption: true, describe: "the .rnn file" })
      .option("model", { type: "string", describe: "the model (may be left out when the file declares one)" })
      .option("dims", { type: "string", describe: "dimension values, e.g. H=64 (else the model's defaults)" })
      .option("json", { type: "boolean", default: false, describe: "print the summary as JSON data" })
      .example("$0 summary examples/g2p/g2p.rnn", "the g2p model's layers, shapes and parameter counts"),
    (a) => wrap(async () => (await import("./summary.js")).summaryCommand(a))())
    .command("explain <code>", "explain a diagnostic code, e.g. RNN0301", (y) => y
      .positional("code", { type: "string", demandOption: true, describe: "a code as diagnostics print it, e.g. RNN0301" })
      .example("$0 explain RNN0301", "what a mismatched matrix product is and how to fix it"),
    (a) => wrap(async () => (await import("./explain.js")).explainCommand(a.code))())
    .demandCommand(1, "name a command: check, run, init, train, eval, compile, import, fmt, lsp, ir, summary or explain")
    // A number flag given text that is not a number (`--lr 1e-2x`) is named with that text, not as "NaN".
    .middleware((a) => {
      for (const [key, value] of Object.entries(a)) {
        if (typeof value !== "number" || !Number.isNaN(value) || key.length < 2 || /[A-Z]/.test(key)) continue;
        const at = argv.findIndex((x) => x === `--${key}` || x.startsWith(`--${key}=`));
        const raw = at < 0 ? undefined : argv[at]!.includes("=") ? argv[at]!.slice(argv[at]!.indexOf("=") + 1) : argv[at + 1];
        throw new UsageError(`--${key} takes a number, and '${raw ?? ""}' is not one`);
      }
    }, true)
    .strict()
    .help()
    .version(version())
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      throw err instanceof Error && !(err instanceof UsageError) && msg === undefined ? err : new UsageError(msg ?? err?.message ?? "invalid command line");
    });
  await parser.parseAsync();
  return exit;
}

/** A failed file operation (a missing directory, a read-only file): the user's to fix, not a bug. */
function isFileError(e: unknown): e is { code: string; path: string; syscall: string } {
  const x = e as { code?: unknown; path?: unknown; syscall?: unknown } | null;
  return typeof x === "object" && x !== null && typeof x.code === "string" && typeof x.path === "string" && typeof x.syscall === "string";
}

main(hideBin(process.argv)).then(
  (code) => { if (code >= 0) process.exitCode = code; },
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`rnnc: ${e.message.replace(/\s*\n\s*/g, " ")}\nTry 'rnnc --help'.\n`);
      process.exitCode = 2;
    } else if (e instanceof RnncError) {
      process.stderr.write(renderError(e, process.stderr.isTTY === true) + "\n");
      process.exitCode = e.code === "RNN0001" ? 2 : 1;
    } else if (e instanceof CompileErrors) {
      process.stderr.write(renderDiagnostics(e.diagnostics, e.sources, { color: process.stderr.isTTY === true, displayPath }) + "\n");
      process.exitCode = 1;
    } else if (e instanceof UnwritableError) {
      process.stderr.write(`rnnc: ${e.message}\n`);
      process.exitCode = 1;
    } else if (isFileError(e)) {
      const what = { ENOENT: "no such file or directory", EACCES: "permission denied", EPERM: "permission denied", EISDIR: "it is a directory", ENOTDIR: "a part of the path is not a directory", ENOSPC: "no space left on the device", EROFS: "the file system is read-only" }[e.code] ?? e.code;
      const path = e.path.replace(/(^|[\\/])\.([^\\/]+)\.rnnc-\d+\.tmp$/, "$1$2");
      process.stderr.write(`rnnc: cannot ${e.syscall === "open" || e.syscall === "rename" ? "write" : e.syscall} '${path}': ${what}\n`);
      process.exitCode = 1;
    } else {
      const err = e as Error;
      process.stderr.write(`rnnc: internal error: ${err?.message ?? String(e)}\nThis is a bug in rnnc; please report it with the command you ran.\n`);
      if (process.env["RNNC_DEBUG"]) process.stderr.write(`${err?.stack}\n`);
      process.exitCode = 70;
    }
  },
);
