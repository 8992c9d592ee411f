// fit() from code: its callbacks hear every batch and epoch, an AbortSignal stops it after the epoch that ran, the
// weights it returns are the last epoch's (the checkpoint's), and bad data or options are coded errors.
import { describe, expect, it } from "vitest";
import { fit } from "../../src/api/fit.js";
import { initWeights, modelFromSource } from "../../src/api/model.js";
import { RnncError, UsageError } from "../../src/diagnostics/errors.js";
import type { Tensor } from "../../src/runtime/tensor.js";

const model = modelFromSource(`import { GRU, Dense } from "std"\nmodel M<H = 6> {\n  input xs: [T, 1]\n  layer rnn = GRU<1, H>\n  layer head = Dense<H, 2>(act = softmax)\n  output probs = head(last(scan(rnn, xs)))\n}\n`);
const ex = (k: number) => ({ inputs: { xs: Array.from({ length: 2 + (k % 4) }, (_, t) => [Math.sin(k * 7 + t)]) }, target: Math.sin(k * 7) > 0 ? 1 : 0 });
const data = { train: Array.from({ length: 40 }, (_, k) => ex(k)), test: Array.from({ length: 10 }, (_, k) => ex(100 + k)) };

describe("fit", () => {
  it("calls onBatchEnd per batch and onEpochEnd per epoch, and returns the last epoch's weights and history", async () => {
    const batches: number[] = [], epochs: number[] = [];
    let last: ReadonlyMap<string, Tensor> | undefined;
    const r = await fit(model, data, { output: "probs", loss: "crossentropy", epochs: 3, batchSize: 16, learningRate: 0.01, seed: 2,
      callbacks: { onBatchEnd: (k) => { batches.push(k); }, onEpochEnd: (logs, w) => { epochs.push(logs.epoch); last = w; } } });
    expect(batches).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3]);
    expect(epochs).toEqual([1, 2, 3]);
    expect(r.state.epoch).toBe(3);
    expect(r.state.history.train).toHaveLength(3);
    for (const [k, t] of r.weights) expect(Array.from(t.data)).toEqual(Array.from(last!.get(k)!.data));
    // They trained: not the initial weights.
    const init = initWeights(model, 2);
    expect([...r.weights].some(([k, t]) => Array.from(t.data).some((v, i) => v !== init.get(k)!.data[i]))).toBe(true);
  });
  it("stops between batches when its signal is aborted, keeping the epoch that finished", async () => {
    const controller = new AbortController();
    const r = await fit(model, data, { output: "probs", loss: "crossentropy", epochs: 5, batchSize: 8, signal: controller.signal,
      callbacks: { onBatchEnd: (k, logs) => { if (logs.epoch === 2 && k === 2) controller.abort(); } } });
    expect(r.interrupted).toBe(true);
    expect(r.state.epoch).toBe(1);
  });
  it("refuses empty or malformed data and bad options with coded errors", async () => {
    const code = async (f: () => Promise<unknown>) => { try { await f(); } catch (e) { return e instanceof RnncError ? `${e.code}: ${e.message}` : e instanceof UsageError ? `usage: ${e.message}` : `other: ${String(e)}`; } return "none"; };
    expect(await code(() => fit(model, { train: data.train, test: [] }, { output: "probs", loss: "crossentropy" }))).toBe("RNN0605: the test split: no examples");
    expect(await code(() => fit(model, { train: data.train, validation: [] }, { output: "probs", loss: "crossentropy" }))).toBe("RNN0605: the validation split: no examples");
    expect(await code(() => fit(model, { train: data.train }, { output: "probs", loss: "crossentropy" }))).toBe("usage: fit() needs a validation split (or a test split, to watch) to score every epoch");
    expect(await code(() => fit(model, { train: data.train, validation: data.test }, { output: "probs", loss: "crossentropy", validationSplit: 0.2 }))).toMatch(/^usage: validationSplit carves a validation split from the training examples, but the data has one \(\d+ examples\)/);
    expect(await code(() => fit(model, data, { output: "probs", loss: "crossentropy", validationSplit: 1 }))).toBe("usage: validationSplit must be a fraction of the training examples between 0 and 1 (e.g. 0.1), not 1");
    expect(await code(() => fit(model, { train: [...data.train, { x: 1 } as never], test: data.test }, { output: "probs", loss: "crossentropy" }))).toBe("RNN0605: the training split: example 40 of 41 is not {inputs, target}");
    expect(await code(() => fit(model, data, { output: "probs", loss: "crossentropy", epochs: 0 }))).toBe("usage: epochs must be a whole number ≥ 1, not 0");
    expect(await code(() => fit(model, data, { output: "nope", loss: "crossentropy" }))).toMatch(/^usage: model M has no output 'nope'/);
    expect(await code(() => fit(model, { train: [{ inputs: { xs: [[0.1]] }, target: 2 }], test: data.test }, { output: "probs", loss: "crossentropy" }))).toMatch(/^RNN0605: .*class/);
  });
});
