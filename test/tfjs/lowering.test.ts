// The tfjs lowering against the reference interpreter: every example model and stdlib cell, on the cpu and wasm backends.
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveDims } from "../../src/runtime/dims.js";
import { tensorFromJson } from "../../src/runtime/json-tensor.js";
import { runCell } from "../../src/interp/run-cell.js";
import { runModel } from "../../src/interp/run-model.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { alloc } from "../../src/runtime/tensor.js";
import { useBackend, type TfBackend } from "../../src/tfjs/backend.js";
import { runCellTf, runModelTf } from "../../src/tfjs/run.js";
import { cellParamSpecs, initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { closeness, compiler, rnnFiles, root, stdlibCell } from "../helpers.js";

const examples = rnnFiles("examples").filter((f) => !f.includes("typo") && f.split("/").length - join(root, "examples").split("/").length === 2);
const backends: [TfBackend, number][] = [["tfjs-cpu", 1e-5], ["tfjs-wasm", 1e-4]];

afterAll(async () => { await useBackend("tfjs-cpu"); });

describe.each(backends)("%s matches the interpreter", (backend, rtol) => {
  it.each(examples.map((f) => f.slice(root.length + 1)))("%s on its sample input", async (rel) => {
    await useBackend(backend);
    const spec = join(root, rel);
    const sample = JSON.parse(readFileSync(join(spec, "..", "input.sample.json"), "utf8"));
    for (const name of compiler.check(spec).models.keys()) {
      const ir = compiler.model(spec, name);
      const env = resolveDims(ir, new Map());
      const params = initParams(modelParamSpecs(ir, env), 7);
      const inputs = Object.fromEntries(ir.inputs.map((i) => [i.name, tensorFromJson(sample[i.name], i.name, "f32")]));
      const input = { inputs, ...(sample.lengths ? { lengths: sample.lengths } : {}) };
      const before = tf.memory().numTensors;
      const ours = runModel(ir, env, params, input);
      const theirs = runModelTf(ir, env, params, input);
      expect(tf.memory().numTensors).toBe(before);
      for (const [k, o] of Object.entries(ours)) {
        expect(theirs[k]!.lengths).toEqual(o.lengths);
        expect(theirs[k]!.tensor!.shape).toEqual(o.tensor!.shape);
        expect(closeness(theirs[k]!.tensor!.data, o.tensor!.data, rtol, rtol / 10), `${name}.${k}`).toBeLessThanOrEqual(1);
      }
    }
  });

  it.each([["elman.rnn", "Elman"], ["lstm.rnn", "LSTM"], ["lstm.rnn", "PeepholeLSTM"], ["gru.rnn", "GRU"], ["gru.rnn", "GRUResetBefore"]])("stdlib %s %s with non-zero initial states", async (file, name) => {
    await useBackend(backend);
    const ir = stdlibCell(file, name);
    const env = new Map([["I", 5], ["H", 7]]);
    const params = initParams(cellParamSpecs(ir, env), 3);
    const rng = mulberry32(11);
    const rand = (shape: number[]) => { const t = alloc(shape, "f32"); t.data.forEach((_, i) => { t.data[i] = 2 * rng() - 1; }); return t; };
    const input = { inputs: { x: rand([3, 6, 5]) }, initialStates: Object.fromEntries(ir.states.map((s) => [s.name, rand([3, 7])])) };
    const ours = runCell(ir, env, params, input);
    const theirs = runCellTf(ir, env, params, input);
    expect(closeness(theirs.outputs["h"]!.data, ours.outputs["h"]!.data, rtol, rtol / 10)).toBeLessThanOrEqual(1);
    for (const s of ir.states) expect(closeness(theirs.states[s.name]!.data, ours.states[s.name]!.data, rtol, rtol / 10)).toBeLessThanOrEqual(1);
  });
});
