// The PyTorch target: every example compiled to a Python module, run by torch, against the interpreter; the module's own safety.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { emitPytorch } from "../../src/emit/pytorch/module.js";
import { pyIdent } from "../../src/emit/pytorch/python.js";
import type { ModelIR } from "../../src/ir/ir.js";
import { Op } from "../../src/ir/ops.js";
import { runModel } from "../../src/interp/run-model.js";
import { resolveDims } from "../../src/runtime/dims.js";
import { dropoutTraining, withMasks } from "../../src/runtime/dropout.js";
import { tensorFromJson } from "../../src/runtime/json-tensor.js";
import { initParams, modelParamSpecs, parseWeights } from "../../src/weights/weights.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { useBackend } from "../../src/tfjs/backend.js";
import { TfModel } from "../../src/tfjs/model.js";
import { toTf, variablesOf } from "../../src/tfjs/run.js";
import { compiler, modelFrom, root } from "../helpers.js";
// @ts-expect-error a plain ES module of the tests (no types)
import { torchPython } from "../torch-env.mjs";

let python = "";
beforeAll(async () => {
  python = torchPython();
  await useBackend("tfjs-cpu");
}, 900_000);

const dir = mkdtempSync(join(tmpdir(), "rnnc-pytorch-"));
const runner = join(root, "test", "emit", "pytorch", "run_module.py");

/** Runs a Python snippet (or the runner) and returns its stdout, failing the test with its stderr otherwise. */
function py(args: string[]): string {
  const r = spawnSync(python, args, { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python ${args.join(" ")} failed:\n${r.stderr}`);
  return r.stdout;
}

/** The compiled module's outputs and the interpreter's on the same input and weights: the largest difference over valid steps. */
function compare(ir: ModelIR, sample: Record<string, unknown> & { lengths?: Record<string, number[]> }, name: string, seed = 3, natives?: string, only?: readonly string[]): number {
  const env = resolveDims(ir, new Map());
  const weights = initParams(modelParamSpecs(ir, env), seed);
  const file = join(dir, `${name}.py`);
  const source = emitPytorch(ir, env, weights, `${name}.rnn`, "test", only).source;
  if (natives !== undefined) expect([...source.matchAll(/self\.rnn = nn\.([A-Z]+)\(/g)].map((m) => m[1]).join(" "), "torch modules").toBe(natives);
  writeFileSync(file, source);
  const input = join(dir, `${name}.input.json`);
  writeFileSync(input, JSON.stringify(sample));
  const got = JSON.parse(py([runner, file, input])) as Record<string, unknown>;
  const inputs = Object.fromEntries(ir.inputs.map((i) => [i.name, tensorFromJson(sample[i.name], i.name, "f32")]));
  const ref = runModel(ir, env, weights, { inputs, ...(sample.lengths ? { lengths: sample.lengths } : {}) });
  let worst = 0;
  for (const o of ir.outputs.map((x) => x.name).filter((x) => !only || only.includes(x))) {
    const want = ref[o]!.tensor!, L = ref[o]!.lengths;
    const out = tensorFromJson(got[o], o, "f64");
    if (!L) {
      expect([...out.shape], o).toEqual([...want.shape]);
      for (let i = 0; i < want.data.length; i++) worst = Math.max(worst, Math.abs(out.data[i]! - want.data[i]!));
      continue;
    }
    // Sequences: the valid steps of each example (a generated one may be padded further than the interpreter's).
    expect(got[`${o}_lengths`], `${o}_lengths`).toEqual(L);
    const [Bw, Tw] = want.shape as [number, number];
    const Tg = out.shape[1]!, inner = want.data.length / (Bw * Tw || 1);
    for (let b = 0; b < Bw; b++) for (let t = 0; t < L[b]!; t++) for (let k = 0; k < inner; k++)
      worst = Math.max(worst, Math.abs(out.data[(b * Tg + t) * inner + k]! - want.data[(b * Tw + t) * inner + k]!));
  }
  return worst;
}

/**
 * Every example model, with the torch modules its stdlib layers run on (the rest are generated cells): a layer of its
 * own, or one inlined in a cell whose one recurrence it is (g2p's and name-maker's decoders: the cell split around it,
 * attention's keys read after it by every step at once).
 */
const examples = [
  ["adding", "AddingLSTM", "LSTM"], ["adding", "AddingElman", "RNN"], ["co2-forecast", "CO2Forecast", "GRU"], ["name-gender", "NameGender", "LSTM"],
  ["g2p", "G2P", "LSTM LSTM"], ["name-maker", "NameMaker", "GRU"], ["speech", "Digits", "LSTM LSTM"], ["g2p", "G2PAttention", "LSTM LSTM", "g2p-attention"],
  ["g2p", "G2PBiAttention", "LSTM LSTM LSTM", "g2p-bi-attention"], ["g2p", "G2PBiDrop", "", "g2p-bi-drop"],
  ["g2p", "G2PBi2Drop", "", "g2p-bi2-drop"], ["g2p", "G2PEnsemble", "LSTM LSTM LSTM LSTM LSTM LSTM LSTM LSTM LSTM LSTM LSTM LSTM LSTM LSTM", "g2p-ensemble"],
] as const;

describe("PyTorch target: the examples", () => {
  it.each(examples)("%s/%s equals the interpreter within 1e-5 on its sample input (torch modules: %s)", (folder, model, natives, file?: string) => {
    const ir = compiler.model(join(root, "examples", folder, `${file ?? folder}.rnn`), model);
    const sample = JSON.parse(readFileSync(join(root, "examples", folder, "input.sample.json"), "utf8"));
    expect(compare(ir, sample, `${folder}_${model}`, 3, natives)).toBeLessThan(1e-5);
  }, 120_000); // the ensemble's 5.4 million weights
});

/**
 * Gradients of L = Σ (every float output ⊙ fixed random weights, padded steps zero) by param: torch's autograd through
 * the compiled module against rnnc's tfjs lowering; the largest difference relative to max(1, |tfjs|).
 */
function compareGradients(ir: ModelIR, sample: Record<string, unknown> & { lengths?: Record<string, number[]> }, name: string, seed = 3, only?: readonly string[]): { worst: number; params: number } {
  const env = resolveDims(ir, new Map());
  const weights = initParams(modelParamSpecs(ir, env), seed);
  const file = join(dir, `${name}.grad.py`);
  writeFileSync(file, emitPytorch(ir, env, weights, `${name}.rnn`, "test", only).source);
  const inputs = Object.fromEntries(ir.inputs.map((i) => [i.name, tensorFromJson(sample[i.name], i.name, "f32")]));
  const lengths = sample.lengths;
  const shapes = runModel(ir, env, weights, { inputs, ...(lengths ? { lengths } : {}) });
  const floats = ir.outputs.filter((o) => ir.nodes[o.node]!.dtype === "float");
  const rng = mulberry32(41);
  const lossWeights = Object.fromEntries(floats.map((o) => {
    const t = shapes[o.name]!.tensor!;
    return [o.name, { shape: [...t.shape], data: Array.from(t.data, () => 2 * rng() - 1) }];
  }));
  const input = join(dir, `${name}.grad.input.json`), lossFile = join(dir, `${name}.loss.json`);
  writeFileSync(input, JSON.stringify(sample));
  writeFileSync(lossFile, JSON.stringify(Object.fromEntries(Object.entries(lossWeights).map(([k, w]) => [k, reshape(w.data, w.shape)]))));
  const torchGrads = JSON.parse(py([runner, file, input, lossFile])) as Record<string, number[]>;
  const vars = variablesOf(weights);
  const grads = tf.tidy(() => {
    const model = new TfModel(ir, env, vars);
    const { grads } = tf.variableGrads(() => {
      const v = model.run({ inputs: Object.fromEntries(ir.inputs.map((i) => [i.name, toTf(inputs[i.name]!, i.dtype === "int" ? "int32" : "float32")])), ...(lengths ? { lengths } : {}), only: floats.map((o) => o.node) });
      return tf.addN(floats.map((o) => {
        const val = v[o.node]!, w = tf.tensor(lossWeights[o.name]!.data, lossWeights[o.name]!.shape);
        if (val.kind !== "seq") return tf.sum(tf.mul((val as { t: tf.Tensor }).t, w));
        const mask = tf.tensor(val.lengths.flatMap((l) => Array.from({ length: val.steps.length }, (_, t) => (t < l ? 1 : 0))), [val.lengths.length, val.steps.length]);
        const y = tf.stack(val.steps as tf.Tensor[], 1);
        return tf.sum(tf.mul(tf.mul(y, tf.reshape(mask, [...mask.shape, ...Array(y.rank - 2).fill(1)])), w));
      })) as tf.Scalar;
    }, [...vars.values()]);
    return Object.fromEntries([...vars].map(([k, v]) => [k, grads[v.name]!]));
  }) as Record<string, tf.Tensor>;
  let worst = 0;
  for (const [k, g] of Object.entries(grads)) {
    const want = g.dataSync(), got = torchGrads[k]!;
    expect(got, k).toHaveLength(want.length);
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  }
  tf.dispose(Object.values(grads));
  for (const v of vars.values()) v.dispose();
  return { worst, params: Object.keys(grads).length };
}

/** A flat list as nested lists of a shape. */
function reshape(data: readonly number[], shape: readonly number[]): unknown {
  if (shape.length <= 1) return [...data];
  const step = data.length / shape[0]!;
  return Array.from({ length: shape[0]! }, (_, k) => reshape(data.slice(k * step, (k + 1) * step), shape.slice(1)));
}

describe("PyTorch target: beam search in generate", () => {
  /** The model with every token generate decoded by beam search (K, length normalisation α), as rnnc eval --beam does it. */
  const searching = (ir: ModelIR, beam: number, lengthNorm: number): ModelIR =>
    ({ ...ir, nodes: ir.nodes.map((n) => (n.op === Op.Generate && n.dtype === "int" ? Object.freeze({ ...n, attrs: Object.freeze({ ...n.attrs, beam, lengthNorm }) }) : n)) });

  it.each([["g2p-attention", "G2PAttention", 4, 0], ["g2p-bi-drop", "G2PBiDrop", 3, 0.7], ["g2p", "G2P", 2, 1]] as const)("%s/%s with beam = %i, length_norm = %s: the interpreter's tokens and lengths; TorchScript takes it", (file, model, K, alpha) => {
    const ir = searching(compiler.model(join(root, "examples", "g2p", `${file}.rnn`), model), K, alpha);
    const sample = JSON.parse(readFileSync(join(root, "examples", "g2p", "input.sample.json"), "utf8"));
    // sharper distributions than an initializer's (its scores are nearly uniform: ties a float32 sum may break either way)
    // every output within 1e-5: the generated tokens exactly (a token apart is 1), lengths checked equal in compare()
    expect(compare(ir, sample, `beam_${model}`, 9)).toBeLessThan(1e-5);
    const env = resolveDims(ir, new Map());
    const path = join(dir, `beam_script_${model}.py`);
    writeFileSync(path, emitPytorch(ir, env, initParams(modelParamSpecs(ir, env), 9), `${model}.rnn`, "test").source);
    const diffs = JSON.parse(py([join(root, "test", "emit", "pytorch", "script_check.py"), path, join(root, "examples", "g2p", "input.sample.json")])) as Record<string, number>;
    expect(diffs[path]).toBeLessThan(1e-6);
  });
});

describe("PyTorch target: TorchScript and torch.compile", () => {
  /** Every example compiled (weights of seed 5) beside its sample input: the checker's arguments. */
  // G2PBi2Drop only stacks G2PBiDrop's layers; the ensemble (14 LSTMs) is scripted but left out of inductor's minutes.
  const compiledExamples = (skip: readonly string[] = []) => examples.filter(([, model]) => model !== "G2PBi2Drop" && !skip.includes(model)).flatMap(([folder, model, , file]) => {
    const ir = compiler.model(join(root, "examples", folder, `${file ?? folder}.rnn`), model);
    const env = resolveDims(ir, new Map());
    const path = join(dir, `script_${model}.py`);
    writeFileSync(path, emitPytorch(ir, env, initParams(modelParamSpecs(ir, env), 5), `${model}.rnn`, "test").source);
    return [path, join(root, "examples", folder, "input.sample.json")];
  });

  it("every example's module passes torch.jit.script, and the scripted module gives the eager module's outputs", () => {
    const pairs = compiledExamples();
    const diffs = JSON.parse(py([join(root, "test", "emit", "pytorch", "script_check.py"), ...pairs])) as Record<string, number>;
    expect(Object.keys(diffs)).toHaveLength(pairs.length / 2);
    for (const [path, d] of Object.entries(diffs)) expect(d, path).toBeLessThan(1e-6);
  }, 300_000);

  it("every example's module passes torch.compile (inductor, CPU) with the eager module's outputs within 1e-6", () => {
    const pairs = compiledExamples(["G2PEnsemble"]);
    const diffs = JSON.parse(py([join(root, "test", "emit", "pytorch", "script_check.py"), "--compile", ...pairs])) as Record<string, number>;
    expect(Object.keys(diffs)).toHaveLength(pairs.length / 2);
    for (const [path, d] of Object.entries(diffs)) expect(d, path).toBeLessThan(1e-6);
  }, 1_200_000);
});

describe("PyTorch target: src/emit/README.md", () => {
  it("the README's commands run as written: compile, then its Python runs, trains a step and writes weights rnnc reads", () => {
    const readme = readFileSync(join(root, "src", "emit", "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Compiling to PyTorch"));
    const command = /```sh\n(npx rnnc compile [^\n]+)\n```/.exec(section)![1]!;
    const program = /```python\n([\s\S]*?)```/.exec(section)![1]!;
    const work = mkdtempSync(join(dir, "readme-"));
    const args = command.split(" ").slice(2).map((a) => (a.startsWith("examples/") ? join(root, a) : a));
    const cli = spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), ...args], { cwd: work, encoding: "utf8" });
    expect(cli.status, cli.stderr).toBe(0);
    const name = /^# ([\w.-]+\.py)/.exec(program)![1]!;
    writeFileSync(join(work, name), program);
    const run = spawnSync(python, [name], { cwd: work, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe("torch.Size([1, 12, 1])");
    const back = spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), "run", join(root, "examples", "co2-forecast", "co2-forecast.rnn"), "--weights", join(work, "co2-torch.json"), "--input", join(root, "examples", "co2-forecast", "input.sample.json")], { cwd: work, encoding: "utf8" });
    expect(back.status, back.stderr).toBe(0);
    expect(Object.keys(JSON.parse(back.stdout).outputs)).toEqual(["next"]);
  });
});

describe("PyTorch target: gradients", () => {
  // (dropout is the identity in both: the module in eval(), rnnc's lowering outside training)
  // The ensemble is decoded, not trained: its members' gradients are checked each on its own.
  it.each(examples.filter(([, model]) => model !== "G2PEnsemble"))("%s/%s: torch's gradients equal rnnc's tfjs lowering's within 1e-4", (folder, model, _natives, file?: string) => {
    const ir = compiler.model(join(root, "examples", folder, `${file ?? folder}.rnn`), model);
    const sample = JSON.parse(readFileSync(join(root, "examples", folder, "input.sample.json"), "utf8"));
    const { worst, params } = compareGradients(ir, sample, `${folder}_${model}`);
    expect(params).toBe(modelParamSpecs(ir, resolveDims(ir, new Map())).length);
    expect(worst).toBeLessThan(1e-4);
  }, 60_000);
});

describe("PyTorch target: the training form (dropout as mask inputs, as --engine torch trains)", () => {
  // g2p-bi-drop with its masks drawn: the encoder's LSTMs drop out their input, the decoder its LSTM's input and its
  // mix; all three layers still run on nn.LSTM (each input times its mask first), the decoder's attention after its
  // LSTM for every step at once, the keys projected once per sequence.
  const trainingForm = () => {
    const ir = compiler.model(join(root, "examples", "g2p", "g2p-bi-drop.rnn"), undefined);
    const d = dropoutTraining(ir, "logits")!;
    const env = resolveDims(ir, new Map());
    const sample = JSON.parse(readFileSync(join(root, "examples", "g2p", "input.sample.json"), "utf8"));
    const inputs = Object.fromEntries(ir.inputs.map((i) => [i.name, tensorFromJson(sample[i.name], i.name, "f32")]));
    const b = withMasks({ inputs, lengths: sample.lengths, targets: [] }, d, env, { seed: 5, step: 2 });
    const given = Object.fromEntries(Object.entries(b.inputs).map(([k, t]) => [k, reshape(Array.from(t.data), t.shape)]));
    // (only the trained output: generate cannot run a cell that takes masks)
    return { ir: { ...d.ir, outputs: d.ir.outputs.filter((o) => o.name === "logits") }, sample: { ...given, lengths: b.lengths as Record<string, number[]> }, masks: d.masks.length };
  };

  it("equals the interpreter on the same masks within 1e-5, every layer on nn.LSTM", () => {
    const { ir, sample, masks } = trainingForm();
    expect(masks).toBe(4);
    expect(compare(ir, sample, "train_form", 3, "LSTM LSTM LSTM", ["logits"])).toBeLessThan(1e-5);
  });

  it("its gradients equal rnnc's tfjs lowering's within 1e-4", () => {
    const { ir, sample } = trainingForm();
    const { worst, params } = compareGradients(ir, sample, "train_form", 3, ["logits"]);
    expect(params).toBe(modelParamSpecs(ir, resolveDims(ir, new Map())).length);
    expect(worst).toBeLessThan(1e-4);
  });
});

describe("PyTorch target: constructs", () => {
  it("a reverse scan over padded rows, a state read two steps back, a masked attention sum, last and final fields", () => {
    const ir = modelFrom(`
      cell Lagged<I, H> {
        input x: [I]
        state h: [H] = 0.5
        param W: [H, I] ~ glorot_uniform
        param U: [H, H] ~ orthogonal
        h = tanh(W @ x + U @ h[t-1] - 0.3 * h[t-2])
        output h
      }
      cell Pool<H> {
        input q: [H]
        input keys: [S, H]
        output c = concat(q, transpose(keys) @ softmax(keys @ q), (sum(keys @ q) / 4) * q, mean(keys @ q) * q)
      }
      model M<I = 3, H = 4> {
        input xs: [T, I]
        layer f = Lagged<I, H>
        layer b = Lagged<I, H>
        layer p = Pool<H>
        hs = scan(f, xs)
        rs = scan(b, xs, reverse = true, init = final(hs))
        output both = concat(hs, rs) * 2 - 1
        output pooled = scan(p, rs, hs)
        output lastH = last(hs)
        output h = final(rs).h
      }`);
    const xs = Array.from({ length: 3 }, (_, b) => Array.from({ length: 5 }, (_, t) => Array.from({ length: 3 }, (_, i) => Math.sin(b * 7 + t * 3 + i))));
    expect(compare(ir, { xs, lengths: { xs: [5, 2, 4] } }, "constructs")).toBeLessThan(1e-5);
  });

  it("the stdlib cells on torch's modules: padded rows (one of length 1), a reverse scan, given initial states, Elman with relu", () => {
    const ir = modelFrom(`
      import { LSTM, TorchLSTM, GRU, Elman } from "std"
      model M<I = 3, H = 4> {
        input xs: [T, I]
        layer a = LSTM<I, H>
        layer b = TorchLSTM<I, H>
        layer c = GRU<H, H>
        layer d = Elman<H, H>(act = relu)
        hs = scan(a, xs)
        rs = scan(b, xs, reverse = true, init = final(hs))
        gs = scan(c, rs, init = final(hs).h)
        output y = scan(d, gs, reverse = true)
        output h = final(rs).c
        output g = final(gs).h
      }`);
    const xs = Array.from({ length: 3 }, (_, b) => Array.from({ length: 5 }, (_, t) => Array.from({ length: 3 }, (_, i) => Math.cos(b * 5 + t * 2 + i))));
    expect(compare(ir, { xs, lengths: { xs: [5, 1, 3] } }, "natives", 4, "LSTM LSTM GRU RNN")).toBeLessThan(1e-5);
  });

  it("a cell around one stdlib layer runs that layer on torch's module: padded rows, reverse, given states, outputs and gradients", () => {
    const ir = modelFrom(`
      import { LSTM, GRU, Dense } from "std"
      cell Around<I, H> {
        input x: [I]
        input w: [I]
        layer pre = Dense<I, H>
        layer rnn = GRU<H, H>
        layer post = Dense<H, I>
        output y = post(rnn(tanh(pre(x * w)))) + x
      }
      cell Back<I, H> {
        input x: [I]
        state n: [H] = 0
        layer rnn = LSTM<I, H>
        n = rnn(x) + n[t-1]
        output n
      }
      model M<I = 3, H = 4> {
        input xs: [T, I]
        input ws: [T, I]
        layer a = Around<I, H>
        layer b = Around<I, H>
        layer c = Back<I, H>
        ys = scan(a, xs, ws)
        output y = scan(b, ys, ws, reverse = true, init = final(ys))
        output z = scan(c, ys)
        output n = final(z).n
      }`);
    const xs = Array.from({ length: 3 }, (_, b) => Array.from({ length: 5 }, (_, t) => Array.from({ length: 3 }, (_, i) => Math.cos(b * 5 + t * 2 + i))));
    const ws = xs.map((r) => r.map((s) => s.map((v) => 1 - v / 2)));
    const sample = { xs, ws, lengths: { xs: [5, 1, 3], ws: [5, 1, 3] } };
    // a and b split around their GRU; c has a second recurrence (n) beside its LSTM, so it runs step by step
    expect(compare(ir, sample, "around", 4, "GRU GRU")).toBeLessThan(1e-5);
    const g = compareGradients(ir, sample, "around", 4);
    expect(g.params).toBeGreaterThan(10);
    expect(g.worst).toBeLessThan(1e-4);
  });

  /** Model M scanning a one-state cell whose new state is `update` (of x and s[t-1]), compiled; its y in train() and eval() on `x` (Python). */
  const trainedAndEval = (name: string, update: string, x: string): { train: number[][][]; eval: number[][][] } => {
    const ir = modelFrom(`
      cell C<I> {
        input x: [I]
        state s: [I] = 0
        s = ${update}
        output s
      }
      model M<I = 8> {
        input xs: [T, I]
        layer c = C<I>
        output y = scan(c, xs)
      }`);
    const env = resolveDims(ir, new Map());
    const file = join(dir, `${name}.py`);
    writeFileSync(file, emitPytorch(ir, env, initParams(modelParamSpecs(ir, env), 1), `${name}.rnn`, "test").source);
    return JSON.parse(py(["-c", `import importlib.util, json, sys, torch\nspec = importlib.util.spec_from_file_location("m", sys.argv[1])\nm = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\ntorch.manual_seed(0)\nmodel = m.Model()\nx = ${x}\nmodel.train()\ntrain = model(x)["y"]\nmodel.eval()\nprint(json.dumps({"train": train.tolist(), "eval": model(x)["y"].tolist()}))`, file])) as { train: number[][][]; eval: number[][][] };
  };

  it("dropout inside a cell: in model.train() one mask per sequence for every step (rnnc's training), none in eval()", () => {
    const out = trainedAndEval("drop", "dropout(x, 0.5) + 0 * s[t-1]", "torch.ones([16, 6, 8])");
    expect(out.eval.flat(2).every((v) => v === 1)).toBe(true);
    const values = out.train.flat(2);
    expect(values.every((v) => v === 0 || v === 2)).toBe(true);
    const dropped = values.filter((v) => v === 0).length / values.length;
    expect(dropped).toBeGreaterThan(0.35);
    expect(dropped).toBeLessThan(0.65);
    // every step of a sequence has its first step's mask; the sequences' masks differ
    for (const seq of out.train) for (const step of seq) expect(step).toEqual(seq[0]);
    expect(new Set(out.train.map((seq) => seq[0]!.join())).size).toBeGreaterThan(8);
  });

  it("zoneout inside a cell: a new choice at every step in model.train() (rnnc draws zoneout's masks per step)", () => {
    // step t reads x = t + 1: in training each unit holds its last value or takes t + 1
    const out = trainedAndEval("zoneout", "zoneout(x, s[t-1], 0.5)", "(torch.arange(6).float() + 1).view(1, 6, 1).expand(16, 6, 8).contiguous()").train;
    let held = 0, taken = 0;
    for (const seq of out) for (let i = 0; i < 8; i++) for (let t = 1; t < 6; t++) {
      const now = seq[t]![i]!, before = seq[t - 1]![i]!;
      expect(now === t + 1 || now === before).toBe(true);
      if (now === before) held++;
      else taken++;
    }
    // a mask per sequence would make each unit hold always or take always: per step, units do both
    const mixed = out.flatMap((seq) => Array.from({ length: 8 }, (_, i) => seq.map((s) => s[i]!))).filter((u) => u.some((v, t) => t > 0 && v === u[t - 1]) && u.some((v, t) => t > 0 && v === t + 1));
    expect(held).toBeGreaterThan(100);
    expect(taken).toBeGreaterThan(100);
    expect(mixed.length).toBeGreaterThan(64);
  });

  it("weights round-trip bit-exactly: rnnc → torch (load_rnnc_weights, save_rnnc_weights) → rnnc", () => {
    const ir = compiler.model(join(root, "examples", "g2p", "g2p-attention.rnn"), "G2PAttention");
    const env = resolveDims(ir, new Map());
    const weights = initParams(modelParamSpecs(ir, env), 11);
    weights.get("decoder.head.b")!.data.set([1e-45, -0, 3.4028234663852886e38, Math.fround(1 / 3)]); // subnormal, −0, max, inexact
    const file = join(dir, "roundtrip.py");
    writeFileSync(file, emitPytorch(ir, env, weights, "g2p-attention.rnn", "test").source);
    const out = join(dir, "roundtrip.json");
    py(["-c", `import importlib.util, sys\nspec = importlib.util.spec_from_file_location("m", sys.argv[1])\nm = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\nmodel = m.Model()\nm.save_rnnc_weights(model, sys.argv[2])\nother = m.Model(embedded_weights=False)\nm.load_rnnc_weights(other, sys.argv[2])\nassert all(bool((a == b).all()) for a, b in zip(m.rnnc_params(model).values(), m.rnnc_params(other).values()))`, file, out]);
    const back = parseWeights(readFileSync(out, "utf8"), out, "f32");
    expect([...back.keys()]).toEqual(modelParamSpecs(ir, env).map((p) => p.name));
    for (const [name, t] of weights) {
      const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
      expect(bits(back.get(name)!.data as Float32Array), name).toEqual(bits(t.data as Float32Array));
    }
  });

  it("weights round-trip bit-exactly through safetensors too: save_rnnc_weights(model, 'w.safetensors') → rnnc import → load_rnnc_weights", () => {
    const ir = compiler.model(join(root, "examples", "g2p", "g2p-bi-drop.rnn"), undefined);
    const env = resolveDims(ir, new Map());
    const weights = initParams(modelParamSpecs(ir, env), 5);
    weights.get("decoder.head.b")!.data.set([1e-45, -0, 3.4028234663852886e38, Math.fround(1 / 3)]);
    const file = join(dir, "st.py"), st = join(dir, "w.safetensors"), back = join(dir, "w-back.json"), again = join(dir, "w-again.safetensors");
    writeFileSync(file, emitPytorch(ir, env, weights, "g2p-bi-drop.rnn", "test").source);
    py(["-c", `import importlib.util, sys\nspec = importlib.util.spec_from_file_location("m", sys.argv[1])\nm = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\nm.save_rnnc_weights(m.Model(), sys.argv[2])`, file, st]);
    const r = spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), "import", st, "--spec", join(root, "examples", "g2p", "g2p-bi-drop.rnn"), "-o", back], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const got = parseWeights(readFileSync(back, "utf8"), back, "f32");
    const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
    for (const [name, t] of weights) expect(bits(got.get(name)!.data as Float32Array), name).toEqual(bits(t.data as Float32Array));
    // and torch reads its own file back (load_rnnc_weights on .safetensors) to the same bits
    py(["-c", `import importlib.util, sys\nspec = importlib.util.spec_from_file_location("m", sys.argv[1])\nm = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\nother = m.Model(embedded_weights=False)\nm.load_rnnc_weights(other, sys.argv[2])\nm.save_rnnc_weights(other, sys.argv[3])`, file, st, again]);
    expect(readFileSync(again).equals(readFileSync(st))).toBe(true);
  });

  it("load_rnnc_weights names every problem: a missing param, a wrong shape, an unknown name", () => {
    const ir = compiler.model(join(root, "examples", "co2-forecast", "co2-forecast.rnn"), undefined);
    const env = resolveDims(ir, new Map());
    const file = join(dir, "co2.py");
    writeFileSync(file, emitPytorch(ir, env, initParams(modelParamSpecs(ir, env), 1), "co2.rnn", "test").source);
    const r = spawnSync(python, ["-c", `import importlib.util, sys, torch\nspec = importlib.util.spec_from_file_location("m", sys.argv[1])\nm = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\nmodel = m.Model()\nw = {k: v.detach().clone() for k, v in m.rnnc_params(model).items()}\nfirst, second = list(w)[:2]\ndel w[first]\nw[second] = torch.zeros(1, 2)\nw["nope.W"] = torch.zeros(1)\nm.load_rnnc_weights(model, w)`, file], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    const names = modelParamSpecs(ir, env).map((p) => p.name);
    expect(r.stderr).toContain(`param ${names[0]} is missing`);
    expect(r.stderr).toContain(`param ${names[1]} has shape [1, 2]`);
    expect(r.stderr).toContain("nope.W is not a param of this model");
  });

  it("names from a spec never reach the code raw: Python keywords, dunders and non-ASCII become plain identifiers", () => {
    for (const [name, ok] of [["class", /^n_class$/], ["__init__", /^n___init__$/], ["σ", /^u3c3$/], ["rnn.W_xi", /^rnn_W_xi$/], ["9lives", /^n_9lives$/]] as const)
      expect(pyIdent(name)).toMatch(ok);
    const ir = modelFrom(`
      cell lambda<I, H> {
        input None: [I]
        state def: [H] = 0
        param W: [H, I] ~ glorot_uniform
        param yield: [H, H] ~ orthogonal
        def = tanh(W @ None + yield @ def[t-1])
        output def
      }
      model M<I = 2, H = 3> {
        input xs: [T, I]
        layer class = lambda<I, H>
        output y = scan(class, xs)
      }`);
    const xs = [[[0.1, 0.2], [0.3, -0.4]], [[-0.5, 0.6], [0.7, 0.8]]];
    expect(compare(ir, { xs }, "keywords")).toBeLessThan(1e-5);
  });
});
