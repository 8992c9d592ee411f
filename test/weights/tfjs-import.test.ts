// tfjs-layers models saved by tf.LayersModel.save (model.json + weights.bin) imported onto a spec reproduce
// tf.layers' own predictions.
import * as tf from "@tensorflow/tfjs";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { RnncError } from "../../src/diagnostics/errors.js";
import { runModel } from "../../src/interp/run-model.js";
import { resolveDims } from "../../src/runtime/dims.js";
import { tensorFromJson } from "../../src/runtime/json-tensor.js";
import { readTfjsLayers } from "../../src/weights/tfjs-import.js";
import { importTorch } from "../../src/weights/torch-import.js";
import { modelParamSpecs, parseWeights } from "../../src/weights/weights.js";
import { compiler, modelFrom, root } from "../helpers.js";

const dir = join(root, ".test-out", "tfjs-import");
beforeAll(async () => { await tf.setBackend("cpu"); mkdirSync(dir, { recursive: true }); });

/** Saves a tf.layers model the way model.save('file://…') lays it out: model.json beside weights.bin. */
async function save(model: tf.LayersModel, name: string): Promise<string> {
  await model.save(tf.io.withSaveHandler(async (a) => {
    writeFileSync(join(dir, `${name}.weights.bin`), new Uint8Array(a.weightData as ArrayBuffer));
    writeFileSync(join(dir, `${name}.json`), JSON.stringify({ modelTopology: a.modelTopology, weightsManifest: [{ paths: [`${name}.weights.bin`], weights: a.weightSpecs }] }));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
  }));
  return join(dir, `${name}.json`);
}
const load = (path: string) => readTfjsLayers(readFileSync(path, "utf8"), (p) => readFileSync(join(dir, p)), path);

describe("tfjs-layers models", () => {
  it("Embedding → LSTM → Dense(softmax) reproduces tf.layers' predictions within 1e-5", async () => {
    const m = tf.sequential();
    m.add(tf.layers.embedding({ inputDim: 28, outputDim: 16, inputLength: 6 }));
    m.add(tf.layers.lstm({ units: 32, recurrentActivation: "sigmoid", biasInitializer: "randomUniform" }));
    m.add(tf.layers.dense({ units: 2, activation: "softmax" }));
    const ids = [[3, 9, 27, 1, 5, 12], [20, 2, 2, 8, 14, 6]];
    const want = (m.predict(tf.tensor2d(ids)) as tf.Tensor).arraySync() as number[][];
    const ir = modelFrom(`import { Embedding, LSTM, Dense } from "std"\nmodel M<V = 28, E = 16, H = 32, C = 2> {\n  input chars: [T] int\n  layer embed = Embedding<V, E>\n  layer rnn = LSTM<E, H>\n  layer head = Dense<H, C>(act = softmax)\n  output probs = head(last(scan(rnn, map(embed, chars))))\n}\n`);
    const env = resolveDims(ir, new Map());
    const weights = importTorch(load(await save(m, "ng")), modelParamSpecs(ir, env), "ng");
    const got = runModel(ir, env, weights, { inputs: { chars: tensorFromJson(ids, "chars", "f32") } })["probs"]!.tensor!.data;
    const flat = want.flat();
    expect(Math.max(...flat.map((w, i) => Math.abs(w - got[i]!)))).toBeLessThan(1e-5);
  });

  it("GRU (reset before: tfjs' own GRU) → Dense at every step reproduces tf.layers within 1e-5", async () => {
    const m = tf.sequential();
    m.add(tf.layers.gru({ units: 8, inputShape: [5, 1], returnSequences: true, recurrentActivation: "sigmoid", biasInitializer: "randomUniform" }));
    m.add(tf.layers.dense({ units: 1 }));
    const xs = [[[0.5], [-1], [0.25], [2], [0]], [[1], [0.5], [-0.5], [0], [0.3]]];
    const want = (m.predict(tf.tensor3d(xs)) as tf.Tensor).dataSync();
    const ir = modelFrom(`import { GRUResetBefore, Dense } from "std"\nmodel M<H = 8> {\n  input series: [T, 1]\n  layer rnn = GRUResetBefore<1, H>\n  layer head = Dense<H, 1>\n  output next = map(head, scan(rnn, series))\n}\n`);
    const env = resolveDims(ir, new Map());
    const weights = importTorch(load(await save(m, "gru")), modelParamSpecs(ir, env), "gru");
    const got = runModel(ir, env, weights, { inputs: { series: tensorFromJson(xs, "series", "f32") } })["next"]!.tensor!.data;
    expect(Math.max(...[...want].map((w, i) => Math.abs(w - got[i]!)))).toBeLessThan(1e-5);
  });

  it("Keras' GRU with reset_after=True (which tfjs cannot load) → Dense(tanh) fills rnnc's GRU and reproduces Keras within 1e-5", () => {
    // Written by Keras itself (test/fixtures/import/make_keras.py) in tfjs-layers' layout.
    const fixtures = join(root, "test", "fixtures", "import");
    const keras = JSON.parse(readFileSync(join(fixtures, "keras-outputs.json"), "utf8")) as { xs: number[][][]; ys: number[][][] };
    const path = join(fixtures, "keras-gru.json");
    const tensors = readTfjsLayers(readFileSync(path, "utf8"), (p) => readFileSync(join(fixtures, p)), path);
    const ir = modelFrom(`import { GRU, Dense } from "std"\nmodel M<H = 4> {\n  input xs: [T, 2]\n  layer gru = GRU<2, H>\n  layer head = Dense<H, 3>(act = tanh)\n  output ys = map(head, scan(gru, xs))\n}\n`);
    const env = resolveDims(ir, new Map());
    const weights = importTorch(tensors, modelParamSpecs(ir, env), path);
    const got = runModel(ir, env, weights, { inputs: { xs: tensorFromJson(keras.xs, "xs", "f32") } })["ys"]!.tensor!.data;
    const want = keras.ys.flat(2);
    expect(got).toHaveLength(want.length);
    expect(Math.max(...want.map((w, i) => Math.abs(w - got[i]!)))).toBeLessThan(1e-5);
    // Both biases differ from zero, so reading them as one (reset before) would not match.
    const wrong = importTorch(new Map([...tensors].filter(([k]) => !k.includes("bias_hh"))), modelParamSpecs(ir, env), path);
    const off = runModel(ir, env, wrong, { inputs: { xs: tensorFromJson(keras.xs, "xs", "f32") } })["ys"]!.tensor!.data;
    expect(Math.max(...want.map((w, i) => Math.abs(w - off[i]!)))).toBeGreaterThan(1e-3);
  });

  it("without --spec: the spec its layers give, with the weights, reproduces tf.layers (Embedding, LSTM's last output, Dense) and Keras (GRU reset_after)", async () => {
    const { spawnSync } = await import("node:child_process");
    const m = tf.sequential();
    m.add(tf.layers.embedding({ inputDim: 12, outputDim: 5, inputLength: 4 }));
    m.add(tf.layers.dropout({ rate: 0.5 }));
    m.add(tf.layers.lstm({ units: 6, recurrentActivation: "sigmoid", biasInitializer: "randomUniform" }));
    m.add(tf.layers.dense({ units: 3, activation: "sigmoid" }));
    const ids = [[3, 9, 11, 1], [2, 2, 8, 0]];
    const want = (m.predict(tf.tensor2d(ids)) as tf.Tensor).dataSync();
    const fixtures = join(root, "test", "fixtures", "import");
    const keras = JSON.parse(readFileSync(join(fixtures, "keras-outputs.json"), "utf8")) as { xs: number[][][]; ys: number[][][] };
    for (const [source, x, expected, wiring] of [
      [await save(m, "nospec"), ids, [...want], /output y = \w+\(last\(scan\(\w+, map\(\w+, x\)\)\)\)/],
      [join(fixtures, "keras-gru.json"), keras.xs, keras.ys.flat(2), /output y = map\(head, scan\(gru, x\)\)/],
    ] as const) {
      const out = join(dir, `derived-${source.split("/").pop()}`);
      rmSync(out.replace(/\.json$/, ".rnn"), { force: true });
      const r = spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), "import", source, "-o", out], { cwd: root, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      const specPath = out.replace(/\.json$/, ".rnn");
      expect(readFileSync(specPath, "utf8")).toMatch(wiring);
      const ir = compiler.model(specPath, "Imported");
      const env = resolveDims(ir, new Map());
      const weights = parseWeights(readFileSync(out, "utf8"), out);
      const got = runModel(ir, env, weights, { inputs: { x: tensorFromJson(x, "x", "f32") } })["y"]!.tensor!.data;
      expect(got).toHaveLength(expected.length);
      expect(Math.max(...expected.map((w, i) => Math.abs(w - got[i]!)))).toBeLessThan(1e-5);
    }
  });

  it("a recurrent activation the stdlib cells do not use is a coded error naming it", async () => {
    const m = tf.sequential();
    m.add(tf.layers.lstm({ units: 4, inputShape: [3, 2] })); // tfjs' default: hard_sigmoid
    let err: unknown;
    try { load(await save(m, "hard")); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(RnncError);
    expect((err as RnncError).message).toMatch(/recurrent_activation = hard_sigmoid; the stdlib cells use sigmoid/);
  });
});
