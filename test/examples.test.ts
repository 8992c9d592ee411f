// Every example checks clean, runs on its sample input with finite outputs of the declared shapes, and loads its real data.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { runModel } from "../src/interp/run-model.js";
import { resolveDims } from "../src/runtime/dims.js";
import { tensorFromJson } from "../src/runtime/json-tensor.js";
import { evalDim } from "../src/ir/dims.js";
import { initParams, modelParamSpecs } from "../src/weights/weights.js";
import { compiler, root } from "./helpers.js";

const dir = join(root, "examples");
const folders = readdirSync(dir).filter((f) => f !== "shared" && statSync(join(dir, f)).isDirectory());

describe.each(folders)("examples/%s", (folder) => {
  const spec = join(dir, folder, `${folder}.rnn`);
  const sample = JSON.parse(readFileSync(join(dir, folder, "input.sample.json"), "utf8"));

  it("checks clean with rnnc check", () => {
    const r = spawnSync(process.execPath, [join(root, "dist/cli/main.js"), "check", spec], { encoding: "utf8" });
    expect(r.stdout).toContain("no problems found");
    expect(r.status).toBe(0);
  });

  it("runs every model on input.sample.json with finite outputs of the declared shapes", () => {
    const models = [...compiler.check(spec).models.keys()];
    expect(models.length).toBeGreaterThan(0);
    for (const name of models) {
      const r = spawnSync(process.execPath, [join(root, "dist/cli/main.js"), "run", spec, "--model", name, "--input", join(dir, folder, "input.sample.json")], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      const out = JSON.parse(r.stdout);
      const ir = compiler.model(spec, name);
      const env = resolveDims(ir, new Map());
      const batch = (Object.values(sample).find(Array.isArray) as unknown[]).length;
      for (const o of ir.outputs) {
        const node = ir.nodes[o.node]!;
        const t = tensorFromJson(out.outputs[o.name], o.name, "f64");
        const perStep = node.shape.map((d) => evalDim(d, env)!);
        expect(t.shape[0]).toBe(batch);
        expect(t.shape.slice(node.seq ? 2 : 1)).toEqual(perStep);
        if (node.seq) expect(out.lengths[o.name]).toHaveLength(batch);
        expect(Array.from(t.data).every(Number.isFinite)).toBe(true);
      }
    }
  });

  it("loads its real data into batches the model accepts", async () => {
    const data = await import(pathToFileURL(join(dir, folder, "data.mjs")).href);
    const { toBatch } = await import(pathToFileURL(join(dir, "shared", "data.mjs")).href);
    const sets = data.load(folder === "adding" ? { train: 50, test: 10, length: 30 } : folder === "g2p" ? { limit: 200 } : {});
    expect(sets.train.length).toBeGreaterThan(sets.test.length);
    expect(sets.test.length).toBeGreaterThan(0);
    const name = [...compiler.check(spec).models.keys()][0]!;
    const model = compiler.model(spec, name);
    const env = resolveDims(model, new Map());
    const json = toBatch(sets.test.slice(0, 5), data.sequenceInputs);
    const inputs = Object.fromEntries(model.inputs.map((i) => [i.name, tensorFromJson(json[i.name], i.name, "f32")]));
    const out = runModel(model, env, initParams(modelParamSpecs(model, env), 1), { inputs, ...(json.lengths ? { lengths: json.lengths } : {}) });
    for (const o of Object.values(out)) expect(Array.from(o.tensor!.data).every(Number.isFinite)).toBe(true);
  });
});
