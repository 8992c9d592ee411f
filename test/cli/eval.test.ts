// rnnc eval: each metric against a computation written out here, on small data modules and freshly initialized weights.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { confusion, metric } from "../../src/api/score.js";
import { runModel } from "../../src/interp/run-model.js";
import { resolveDims } from "../../src/runtime/dims.js";
import { tensorFromJson } from "../../src/runtime/json-tensor.js";
import { parseWeights } from "../../src/weights/weights.js";
import { compiler, root } from "../helpers.js";

const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), ...args], { cwd: root, encoding: "utf8" });
const dir = mkdtempSync(join(tmpdir(), "rnnc-eval-"));

describe("metrics", () => {
  it("macro precision, recall and F1, perplexity and the confusion matrix, against counts done by hand", () => {
    // targets 0 0 0 1 1 2, predicted 0 1 0 1 2 2: class 0 P 2/2 R 2/3; class 1 P 1/2 R 1/2; class 2 P 1/2 R 1/1.
    const pairs = [[0, 0], [0, 1], [0, 0], [1, 1], [1, 2], [2, 2]];
    const items = pairs.map(([t, p]) => ({ kind: "classes" as const, predicted: p!, target: t!, scores: Float32Array.from([0, 1, 2], (c) => (c === p ? 2 : 0)) }));
    const f1 = (p: number, r: number) => (2 * p * r) / (p + r);
    expect(metric("precision", items, false)).toBeCloseTo((1 + 0.5 + 0.5) / 3, 12);
    expect(metric("recall", items, false)).toBeCloseTo((2 / 3 + 0.5 + 1) / 3, 12);
    expect(metric("f1", items, false)).toBeCloseTo((f1(1, 2 / 3) + f1(0.5, 0.5) + f1(0.5, 1)) / 3, 12);
    expect(metric("perplexity", items, false)).toBeCloseTo(Math.exp(metric("crossentropy", items, false)!), 12);
    expect(confusion(items)).toEqual({ classes: [0, 1, 2], counts: [[2, 1, 0], [0, 1, 1], [0, 0, 1]] });
  });

  it("accuracy, top-k and cross-entropy of class scores (logits and probabilities)", () => {
    const items = [
      { kind: "classes" as const, scores: Float32Array.of(2, 1, 0), predicted: 0, target: 0 },
      { kind: "classes" as const, scores: Float32Array.of(0, 1, 3), predicted: 2, target: 1 },
    ];
    expect(metric("accuracy", items, false)).toBe(0.5);
    expect(metric("top1", items, false)).toBe(0.5);
    expect(metric("top2", items, false)).toBe(1);
    const lse = (s: number[]) => Math.log(s.reduce((a, x) => a + Math.exp(x), 0));
    expect(metric("crossentropy", items, false)).toBeCloseTo((lse([2, 1, 0]) - 2 + lse([0, 1, 3]) - 1) / 2, 6);
    const probs = [{ kind: "classes" as const, scores: Float32Array.of(0.25, 0.75), predicted: 1, target: 1 }];
    expect(metric("crossentropy", probs, true)).toBeCloseTo(-Math.log(0.75), 6);
    expect(metric("top5", [{ kind: "classes" as const, predicted: 1, target: 1 }], false)).toBeUndefined(); // a baseline has no scores
  });

  it("RMSE, MAE and MSE over every value; edit-distance error rate and exact sequences", () => {
    const values = [{ kind: "values" as const, predicted: [1, 2], target: [1.5, 2] }, { kind: "values" as const, predicted: [0], target: [-1] }];
    expect(metric("mse", values, false)).toBeCloseTo((0.25 + 0 + 1) / 3, 12);
    expect(metric("rmse", values, false)).toBeCloseTo(Math.sqrt((0.25 + 1) / 3), 12);
    expect(metric("mae", values, false)).toBeCloseTo((0.5 + 1) / 3, 12);
    // kitten → sitting: 3 edits over 7 reference tokens; an exact pair adds 0 edits and 3 tokens.
    const t = (s: string) => [...s].map((c) => c.charCodeAt(0));
    const tokens = [{ kind: "tokens" as const, predicted: t("kitten"), target: t("sitting") }, { kind: "tokens" as const, predicted: t("abc"), target: t("abc") }];
    expect(metric("error-rate", tokens, false)).toBeCloseTo(3 / 10, 12);
    expect(metric("exact", tokens, false)).toBe(0.5);
  });
});

describe("rnnc eval", () => {
  it("a classifier: its accuracy and cross-entropy equal the interpreter's, beside the majority class of the training split", () => {
    const spec = join(dir, "cls.rnn");
    writeFileSync(spec, `import { GRU, Dense } from "std"\nmodel Cls<H = 5> {\n  input x: [T, 2]\n  layer rnn = GRU<2, H>\n  layer head = Dense<H, 3>(act = softmax)\n  output p = head(last(scan(rnn, x)))\n}\n`);
    writeFileSync(join(dir, "cls.mjs"), `const ex = (k) => ({ inputs: { x: Array.from({ length: 2 + (k % 4) }, (_, t) => [Math.sin(k + t), Math.cos(3 * k - t)]) }, target: k % 7 === 0 ? 2 : k % 3 === 0 ? 1 : 0 });
export function load() { return { train: Array.from({ length: 40 }, (_, k) => ex(k)), test: Array.from({ length: 23 }, (_, k) => ex(100 + k)) }; }\n`);
    const w = join(dir, "cls.json");
    expect(cli("init", spec, "--seed", "3", "-o", w).status).toBe(0);
    const r = cli("eval", spec, "--data", join(dir, "cls.mjs"), "--weights", w, "--output", "p", "--json", "--batch-size", "5");
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout);
    // The same numbers from the interpreter, one example at a time.
    const ir = compiler.model(spec, "Cls");
    const env = resolveDims(ir, new Map());
    const params = parseWeights(readFileSync(w, "utf8"), w);
    const test = Array.from({ length: 23 }, (_, k) => 100 + k).map((k) => ({ x: Array.from({ length: 2 + (k % 4) }, (_, t) => [Math.sin(k + t), Math.cos(3 * k - t)]), y: k % 7 === 0 ? 2 : k % 3 === 0 ? 1 : 0 }));
    let right = 0, ce = 0;
    for (const e of test) {
      const p = runModel(ir, env, params, { inputs: { x: tensorFromJson([e.x], "x", "f32") } })["p"]!.tensor!.data;
      right += Number([...p].indexOf(Math.max(...p)) === e.y);
      ce -= Math.log(p[e.y]!);
    }
    expect(got.task).toBe("classes");
    expect(got.examples).toBe(23);
    expect(got.metrics.accuracy).toBeCloseTo(right / 23, 10);
    expect(got.metrics.crossentropy).toBeCloseTo(ce / 23, 4);
    // Training targets: 0 is the most frequent class; it is right on the held-out examples whose target is 0.
    expect(got.baselines["majority class (0)"].accuracy).toBeCloseTo(test.filter((e) => e.y === 0).length / 23, 12);
    // The default (auto) computed it on the fused kernels and says so; TensorFlow.js gives the same numbers.
    const explained = cli("eval", spec, "--data", join(dir, "cls.mjs"), "--weights", w, "--output", "p", "--json", "--batch-size", "5", "--explain");
    expect(explained.stderr).toMatch(/^backend: fused \(auto: the fused kernels compute the output/m);
    const onTfjs = JSON.parse(cli("eval", spec, "--data", join(dir, "cls.mjs"), "--weights", w, "--output", "p", "--json", "--batch-size", "5", "--backend", "tfjs-wasm").stdout);
    expect(onTfjs.metrics.accuracy).toBe(got.metrics.accuracy);
    expect(onTfjs.metrics.crossentropy).toBeCloseTo(got.metrics.crossentropy, 5);
    // --svg draws the same confusion matrix --json gives; a forecaster has none to draw, and says so.
    const svg = join(dir, "cls.confusion.svg");
    const drawn = cli("eval", spec, "--data", join(dir, "cls.mjs"), "--weights", w, "--output", "p", "--batch-size", "5", "--svg", svg);
    expect(drawn.status, drawn.stderr).toBe(0);
    const cells = [...readFileSync(svg, "utf8").matchAll(/<text class="count"[^>]*>(\d+)<\/text>/g)].map((m) => Number(m[1]));
    expect(cells).toEqual(got.confusion.counts.flat());
    expect(cells.reduce((a: number, b: number) => a + b, 0)).toBe(23);
    const none = cli("eval", "examples/co2-forecast/co2-forecast.rnn", "--data", "examples/co2-forecast/data.mjs", "--weights", initWeights("examples/co2-forecast/co2-forecast.rnn", "co2"), "--output", "next", "--svg", join(dir, "co2.svg"));
    expect(none.status).toBe(2);
    expect(none.stderr).toContain("is compared as values, not classes; nothing was drawn");
  });

  it("a forecaster: RMSE at every valid step, and the data module's baseline scored beside it", () => {
    const r = cli("eval", "examples/co2-forecast/co2-forecast.rnn", "--data", "examples/co2-forecast/data.mjs", "--weights", initWeights("examples/co2-forecast/co2-forecast.rnn", "co2"), "--output", "next", "--metrics", "rmse,mae", "--json");
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout);
    expect(got.task).toBe("values");
    expect(Object.keys(got.metrics)).toEqual(["rmse", "mae"]);
    // The naive forecast (next month = this month) on the standardized series: small, and the same in every run.
    const naive = got.baselines["data module's baseline"];
    expect(naive.rmse).toBeGreaterThan(0.03);
    expect(naive.rmse).toBeLessThan(0.1);
    expect(naive.mae).toBeLessThan(naive.rmse);
  });

  it("generated sequences: the edit-distance error rate of greedy decoding, the end token left out", () => {
    const r = cli("eval", "examples/g2p/g2p.rnn", "--data", "examples/g2p/data.mjs", "--weights", initWeights("examples/g2p/g2p.rnn", "g2p"), "--output", "phones", "--limit", "6", "--json", "--explain");
    expect(r.status, r.stderr).toBe(0);
    // Generation feeds each example's own outputs back: not a batch the fused kernels take, so TensorFlow.js computes it.
    expect(r.stderr).toMatch(/^backend: tfjs-wasm \(auto: the fused kernels cannot compute this output \(it generates/m);
    const asked = cli("eval", "examples/g2p/g2p.rnn", "--data", "examples/g2p/data.mjs", "--weights", initWeights("examples/g2p/g2p.rnn", "g2p"), "--output", "phones", "--limit", "6", "--backend", "fused");
    expect(asked.status).toBe(2);
    expect(asked.stderr).toMatch(/--backend fused cannot compute output 'phones' of model G2P: it generates/);
    const got = JSON.parse(r.stdout);
    expect(got.task).toBe("tokens");
    expect(got.examples).toBe(6);
    expect(got.metrics["error-rate"]).toBeGreaterThan(0.5); // untrained
    expect(got.metrics.exact).toBe(0);
  });

  it("a target that does not fit the output (a class past its scores, a value of another size) is a coded error, never a wrong number", () => {
    const spec = join(dir, "cls.rnn");
    const w = join(dir, "cls-bad.json");
    expect(cli("init", spec, "-o", w).status).toBe(0);
    writeFileSync(join(dir, "bad.mjs"), `export function load() { const e = (t) => ({ inputs: { x: [[0.1, 0.2], [0.3, 0.4]] }, target: t }); return { train: [e(0)], test: [e(0), e(5)] }; }\n`);
    const r = cli("eval", spec, "--data", join(dir, "bad.mjs"), "--weights", w, "--output", "p");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error[RNN0605]: a target class 5 is past the output's 3 classes (0 … 2)");
    writeFileSync(join(dir, "bad2.mjs"), `export function load() { const e = (t) => ({ inputs: { series: [[0.1], [0.2]] }, target: t }); return { train: [e([[1], [2]])], test: [e([[1, 2], [3, 4]])] }; }\n`);
    const v = cli("eval", "examples/co2-forecast/co2-forecast.rnn", "--data", join(dir, "bad2.mjs"), "--weights", initWeights("examples/co2-forecast/co2-forecast.rnn", "co2b"), "--output", "next");
    expect(v.status).toBe(1);
    expect(v.stderr).toContain("error[RNN0605]: a target (or baseline prediction) of 2 numbers does not fit the output's 1 per step");
  });

  it("refuses an unknown output, a metric of another kind and weights of another model, in one line", () => {
    const w = initWeights("examples/co2-forecast/co2-forecast.rnn", "co2");
    const base = ["eval", "examples/co2-forecast/co2-forecast.rnn", "--data", "examples/co2-forecast/data.mjs", "--weights", w];
    const noOut = cli(...base, "--output", "nope");
    expect(noOut.status).toBe(2);
    expect(noOut.stderr).toContain("has no output 'nope' (its outputs: next)");
    const wrong = cli(...base, "--output", "next", "--metrics", "accuracy");
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain("compared as values, whose metrics are rmse, mae, mse");
    const other = cli("eval", "examples/name-gender/name-gender.rnn", "--data", "examples/name-gender/data.mjs", "--weights", w, "--output", "probs");
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/error\[RNN06\d\d\]/);
  });
});

function initWeights(spec: string, name: string): string {
  const w = join(dir, `${name}-init.json`);
  expect(cli("init", spec, "-o", w).status).toBe(0);
  return w;
}
