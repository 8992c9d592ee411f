// evaluate() (rnnc eval's scoring, from code): the metrics of the output's kind, top-k only where there are more than k
// classes, and accuracy equal to counting the interpreter's own answers.
import { describe, expect, it } from "vitest";
import { evaluate } from "../../src/api/evaluate.js";
import { initWeights, modelFromSource } from "../../src/api/model.js";
import { UsageError } from "../../src/diagnostics/errors.js";
import { runModel } from "../../src/interp/run-model.js";
import { tensorFromJson } from "../../src/runtime/json-tensor.js";

const model = modelFromSource(`import { GRU, Dense } from "std"\nmodel M<H = 6> {\n  input xs: [T, 1]\n  layer rnn = GRU<1, H>\n  layer head = Dense<H, 2>(act = softmax)\n  output probs = head(last(scan(rnn, xs)))\n}\n`);
const weights = initWeights(model, 7);
const examples = Array.from({ length: 30 }, (_, k) => ({ inputs: { xs: Array.from({ length: 2 + (k % 5) }, (_, t) => [Math.sin(k * 3 + t)]) }, target: k % 2 }));

describe("evaluate", () => {
  it("scores a 2-class output with accuracy, f1, cross-entropy and perplexity, and no top-5", async () => {
    const r = await evaluate(model, weights, examples, { output: "probs", batchSize: 7 });
    expect(r.task).toBe("classes");
    expect(Object.keys(r.results)).toEqual(["accuracy", "f1", "crossentropy", "perplexity"]);
    let right = 0;
    for (const e of examples) {
      const p = runModel(model.ir, model.env, weights, { inputs: { xs: tensorFromJson([e.inputs.xs], "xs", "f32") } })["probs"]!.tensor!.data;
      right += Number((p[1]! > p[0]! ? 1 : 0) === e.target);
    }
    expect(r.results["accuracy"]).toBeCloseTo(right / examples.length, 12);
    expect(r.results["perplexity"]).toBeCloseTo(Math.exp(r.results["crossentropy"]!), 6);
    expect(r.confusion!.counts.flat().reduce((a, b) => a + b, 0)).toBe(30);
  });
  it("refuses top-k for k ≥ the classes, a missing output and a bad batch size, naming the option", async () => {
    await expect(evaluate(model, weights, examples, { output: "probs", metrics: ["top5"] })).rejects.toThrow(/metrics top5: output 'probs' has 2 classes/);
    await expect(evaluate(model, weights, examples, { output: "p" })).rejects.toThrow(UsageError);
    await expect(evaluate(model, weights, examples, { output: "probs", batchSize: 0 })).rejects.toThrow(/batchSize must be a whole number/);
  });
});
