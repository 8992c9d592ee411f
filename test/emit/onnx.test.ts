// rnnc compile --target onnx: example models exported and run in onnxruntime-web (wasm, in Node) against the
// interpreter; the stdlib cells become ONNX's own LSTM/GRU/RNN ops (the graph is inspected); what cannot be exported
// yet is a coded error.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-web";
import { describe, expect, it } from "vitest";
import { RnncError } from "../../src/diagnostics/errors.js";
import { exportOnnx } from "../../src/emit/onnx/export.js";
import { decodeModel } from "../../src/emit/onnx/proto.js";
import { runModel } from "../../src/interp/run-model.js";
import type { ModelIR } from "../../src/ir/ir.js";
import { resolveDims } from "../../src/runtime/dims.js";
import { tensorFromJson } from "../../src/runtime/json-tensor.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { compiler, modelFrom, randomTensor, root } from "../helpers.js";

ort.env.wasm.numThreads = 1;

/** Runs the exported model in onnxruntime-web and the interpreter on the same inputs; the largest difference over valid steps. */
async function compare(ir: ModelIR, inputs: Record<string, Tensor>, lengths: Record<string, number[]> | undefined, seed = 3) {
  const env = resolveDims(ir, new Map());
  const weights = initParams(modelParamSpecs(ir, env), seed);
  const ex = exportOnnx(ir, env, weights, "test");
  const session = await ort.InferenceSession.create(ex.bytes);
  const feeds: Record<string, ort.Tensor> = {};
  for (const inp of ir.inputs) {
    const t = inputs[inp.name]!;
    feeds[inp.name] = inp.dtype === "int" ? new ort.Tensor("int64", BigInt64Array.from(t.data, (v) => BigInt(v)), [...t.shape]) : new ort.Tensor("float32", Float32Array.from(t.data), [...t.shape]);
    if (inp.seq) feeds[`${inp.name}_lengths`] = new ort.Tensor("int64", BigInt64Array.from(lengths?.[inp.name] ?? Array(t.shape[0]).fill(t.shape[1]), BigInt), [t.shape[0]!]);
  }
  const out = await session.run(feeds);
  const ref = runModel(ir, env, weights, { inputs, ...(lengths ? { lengths } : {}) });
  let worst = 0;
  for (const o of ex.outputs) {
    const got = out[o]!.data as Float32Array, want = ref[o]!.tensor!;
    expect([...out[o]!.dims], o).toEqual([...want.shape]);
    const L = ref[o]!.lengths;
    const per = want.data.length / want.shape[0]!;
    for (let i = 0; i < want.data.length; i++) {
      if (L && Math.floor((i % per) / (per / want.shape[1]!)) >= L[Math.floor(i / per)]!) continue; // padded steps
      worst = Math.max(worst, Math.abs(got[i]! - want.data[i]!));
    }
  }
  await session.release();
  return { worst, graph: decodeModel(ex.bytes) as { graph: { node: { op_type: string; attribute?: { name: string; i?: number; s?: Uint8Array }[] }[] }; opset_import: { version: number }[]; ir_version: number } };
}

const exportable = [["adding", "AddingLSTM"], ["adding", "AddingElman"], ["co2-forecast", "CO2Forecast"], ["name-gender", "NameGender"]] as const;

describe("ONNX export of the examples", () => {
  it.each(exportable)("%s/%s equals the interpreter in onnxruntime-web within 1e-5 on its sample input", async (folder, model) => {
    const spec = join(root, "examples", folder, `${folder}.rnn`);
    const ir = compiler.model(spec, model);
    const sample = JSON.parse(readFileSync(join(root, "examples", folder, "input.sample.json"), "utf8")) as Record<string, unknown> & { lengths?: Record<string, number[]> };
    const inputs = Object.fromEntries(ir.inputs.map((i) => [i.name, tensorFromJson(sample[i.name], i.name, "f32")]));
    const { worst, graph } = await compare(ir, inputs, sample.lengths);
    expect(worst).toBeLessThan(1e-5);
    expect(graph.ir_version).toBe(8);
    expect(graph.opset_import[0]!.version).toBe(17);
  });

  it("the examples that use constructs not exported yet get RNN0801 naming the construct", () => {
    for (const [folder, what] of [["g2p", /`final`/], ["name-maker", /cannot export scan of layer `speller` with init|`apply`|Speller/]] as const) {
      const spec = join(root, "examples", folder, `${folder}.rnn`);
      const ir = compiler.model(spec, undefined);
      const env = resolveDims(ir, new Map());
      let err: unknown;
      try { exportOnnx(ir, env, initParams(modelParamSpecs(ir, env), 0), "test"); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(RnncError);
      expect((err as RnncError).code).toBe("RNN0801");
      expect((err as RnncError).message).toMatch(what);
    }
  });
});

describe("stdlib cells as ONNX's own recurrent ops", () => {
  const seqModel = (cell: string, extra = "") => modelFrom(`import { ${cell} } from "std"\nmodel M<I = 3, H = 5> {\n  input xs: [T, I]\n  layer r = ${cell}<I, H>${extra}\n  output hs = scan(r, xs)\n  output back = scan(r, xs, reverse = true)\n  output end = last(hs)\n}\n`);
  const xs = randomTensor([3, 6, 3], 11);
  const cases: [string, string, string, number | undefined][] = [
    ["LSTM", "", "LSTM", undefined], ["GRU", "", "GRU", 1], ["GRUResetBefore", "", "GRU", 0], ["Elman", "", "RNN", undefined], ["Elman", "(act = relu)", "RNN", undefined],
  ];
  it.each(cases)("%s%s → %s, forward and reverse, with lengths", async (cell, extra, op, linearBeforeReset) => {
    const { worst, graph } = await compare(seqModel(cell, extra), { xs }, { xs: [6, 2, 4] });
    expect(worst).toBeLessThan(1e-5);
    const rec = graph.graph.node.filter((n) => n.op_type === op);
    expect(rec).toHaveLength(2);
    const dirs = rec.map((n) => new TextDecoder().decode(n.attribute!.find((a) => a.name === "direction")!.s));
    expect(dirs.sort()).toEqual(["forward", "reverse"]);
    if (linearBeforeReset !== undefined) for (const n of rec) expect(n.attribute!.find((a) => a.name === "linear_before_reset")?.i ?? 0).toBe(linearBeforeReset);
    expect(graph.graph.node.some((n) => n.op_type === "Scan" || n.op_type === "Loop")).toBe(false);
  });

  it("a user's own cell is refused for now with RNN0801 (Scan export is the next step)", () => {
    const ir = modelFrom(`cell Mine<I, H> {\n  input x: [I]\n  state h: [H]\n  param W: [H, I]\n  h = tanh(W @ x + h[t-1])\n  output h\n}\nmodel M<I = 2, H = 3> {\n  input xs: [T, I]\n  layer r = Mine<I, H>\n  output hs = scan(r, xs)\n}\n`);
    const env = resolveDims(ir, new Map());
    expect(() => exportOnnx(ir, env, initParams(modelParamSpecs(ir, env), 0), "t")).toThrow(/cannot export scan of layer `r` \(cell Mine\)/);
  });
});

describe("rnnc compile --target onnx", () => {
  it("writes the model, names its inputs and outputs; refuses another extension and an unexportable model (nothing written)", async () => {
    const { spawnSync } = await import("node:child_process");
    const { existsSync, mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "rnnc-onnx-"));
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), ...args], { cwd: root, encoding: "utf8" });
    const ok = cli("compile", "examples/co2-forecast/co2-forecast.rnn", "--target", "onnx", "-o", join(dir, "co2.onnx"));
    expect(ok.status).toBe(0);
    expect(ok.stderr).toContain("ONNX opset 17, model CO2Forecast; inputs series, series_lengths; outputs next");
    const graph = decodeModel(readFileSync(join(dir, "co2.onnx"))) as { graph: { input: { name: string }[]; node: { op_type: string }[] } };
    expect(graph.graph.input.map((i) => i.name)).toEqual(["series", "series_lengths"]);
    expect(graph.graph.node.map((n) => n.op_type)).toContain("GRU");
    const bad = cli("compile", "examples/co2-forecast/co2-forecast.rnn", "--target", "onnx", "-o", join(dir, "co2.js"));
    expect(bad.status).toBe(2);
    const no = cli("compile", "examples/g2p/g2p.rnn", "--target", "onnx", "-o", join(dir, "g2p.onnx"));
    expect(no.status).toBe(1);
    expect(no.stderr).toContain("error[RNN0801]");
    expect(existsSync(join(dir, "g2p.onnx"))).toBe(false);
  });
});
