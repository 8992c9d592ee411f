// ONNX's own backend test cases for LSTM, GRU and RNN (test/fixtures/onnx-backend/make_cases.py writes them from the
// `onnx` package's case generators, W, R, B and P as initializers): each reproduces ONNX's expected outputs both with the
// spec rnnc derives from the graph and with a hand-written stdlib spec, within 1e-5.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeModel } from "../../src/emit/onnx/proto.js";
import { RnncError } from "../../src/diagnostics/errors.js";
import type { ModelIR } from "../../src/ir/ir.js";
import { runModel } from "../../src/interp/run-model.js";
import { resolveDims } from "../../src/runtime/dims.js";
import { tensorFromJson } from "../../src/runtime/json-tensor.js";
import { importOnnx } from "../../src/weights/onnx-import.js";
import { specFromOnnx } from "../../src/weights/onnx-spec.js";
import { modelParamSpecs } from "../../src/weights/weights.js";
import { modelFrom, root } from "../helpers.js";

const dir = join(root, "test", "fixtures", "onnx-backend");
type Nested = number | Nested[];
interface Case { op: string; attributes: { layout?: number; direction?: string }; inputs: Record<string, Nested>; outputs: Record<string, Nested> }
const cases = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8")) as Record<string, Case>;

/** Hand-written specs: the stdlib cell ONNX's op is (GRU's linear_before_reset = 0 is GRUResetBefore), applied as the node is. */
const hand: Record<string, string> = {
  test_lstm_defaults: `import { LSTM } from "std"\nmodel M {\n  input X: [T, 2]\n  layer l = LSTM<2, 3>\n  output Y_h = final(scan(l, X)).h\n}\n`,
  test_lstm_with_initial_bias: `import { LSTM } from "std"\nmodel M {\n  input X: [T, 3]\n  layer l = LSTM<3, 4>\n  output Y_h = final(scan(l, X)).h\n}\n`,
  test_lstm_with_peepholes: `import { PeepholeLSTM } from "std"\nmodel M {\n  input X: [T, 4]\n  input initial_h: [3]\n  input initial_c: [3]\n  layer l = PeepholeLSTM<4, 3>\n  output Y_h = final(scan(l, X, init = states(h = initial_h, c = initial_c))).h\n}\n`,
  test_lstm_batchwise: `import { LSTM } from "std"\nmodel M {\n  input X: [T, 2]\n  layer l = LSTM<2, 7>\n  s = scan(l, X)\n  output Y = s\n  output Y_h = final(s).h\n}\n`,
  test_lstm_reverse: `import { LSTM } from "std"\nmodel M {\n  input X: [T, 2]\n  layer l = LSTM<2, 3>\n  s = scan(l, X, reverse = true)\n  output Y_h = final(s).h\n  output Y_c = final(s).c\n}\n`,
  test_lstm_bidirectional: `import { LSTM } from "std"\nmodel M {\n  input X: [T, 2]\n  layer f = LSTM<2, 3>\n  layer b = LSTM<2, 3>\n  s = bidirectional(f, b, X)\n  output Y_h = final(s).h\n  output Y_c = final(s).c\n}\n`,
  test_gru_defaults: `import { GRUResetBefore } from "std"\nmodel M {\n  input X: [T, 2]\n  layer g = GRUResetBefore<2, 5>\n  output Y_h = final(scan(g, X)).h\n}\n`,
  test_gru_with_initial_bias: `import { GRUResetBefore } from "std"\nmodel M {\n  input X: [T, 3]\n  layer g = GRUResetBefore<3, 3>\n  output Y_h = final(scan(g, X)).h\n}\n`,
  test_gru_seq_length: `import { GRUResetBefore } from "std"\nmodel M {\n  input X: [T, 3]\n  layer g = GRUResetBefore<3, 5>\n  output Y_h = final(scan(g, X)).h\n}\n`,
  test_gru_batchwise: `import { GRUResetBefore } from "std"\nmodel M {\n  input X: [T, 2]\n  layer g = GRUResetBefore<2, 6>\n  s = scan(g, X)\n  output Y = s\n  output Y_h = final(s).h\n}\n`,
  test_gru_reverse: `import { GRUResetBefore } from "std"\nmodel M {\n  input X: [T, 2]\n  layer g = GRUResetBefore<2, 5>\n  s = scan(g, X, reverse = true)\n  output Y = s\n  output Y_h = final(s).h\n}\n`,
  test_gru_bidirectional: `import { GRUResetBefore } from "std"\nmodel M {\n  input X: [T, 2]\n  layer f = GRUResetBefore<2, 5>\n  layer b = GRUResetBefore<2, 5>\n  s = bidirectional(f, b, X)\n  output Y = s\n  output Y_h = final(s).h\n}\n`,
  test_simple_rnn_defaults: `import { Elman } from "std"\nmodel M {\n  input X: [T, 2]\n  layer r = Elman<2, 4>\n  output Y_h = final(scan(r, X)).h\n}\n`,
  test_simple_rnn_with_initial_bias: `import { Elman } from "std"\nmodel M {\n  input X: [T, 3]\n  layer r = Elman<3, 5>\n  output Y_h = final(scan(r, X)).h\n}\n`,
  test_rnn_seq_length: `import { Elman } from "std"\nmodel M {\n  input X: [T, 3]\n  layer r = Elman<3, 5>\n  output Y_h = final(scan(r, X)).h\n}\n`,
  test_simple_rnn_batchwise: `import { Elman } from "std"\nmodel M {\n  input X: [T, 2]\n  layer r = Elman<2, 4>\n  s = scan(r, X)\n  output Y = s\n  output Y_h = final(s).h\n}\n`,
  test_simple_rnn_reverse: `import { Elman } from "std"\nmodel M {\n  input X: [T, 2]\n  layer r = Elman<2, 4>\n  output Y_h = final(scan(r, X, reverse = true)).h\n}\n`,
  test_simple_rnn_bidirectional: `import { Elman } from "std"\nmodel M {\n  input X: [T, 2]\n  layer f = Elman<2, 4>\n  layer b = Elman<2, 4>\n  output Y_h = final(bidirectional(f, b, X)).h\n}\n`,
};

/** An array's dims. */
const shapeOf = (x: Nested): number[] => (Array.isArray(x) ? [x.length, ...shapeOf(x[0]!)] : []);
/** ONNX's batch axis moved first: X [T, B, I] (layout 0) → [B][T][I]; Y [T, D, B, H] → [B][T][D·H]; Y_h, Y_c, initial states [D, B, H] → [B][D·H]. */
function perExample(x: Nested, role: "X" | "Y" | "state", layout: number): number[][] | number[][][] {
  const a = x as number[][][] | number[][][][];
  if (role === "X") return layout ? (a as number[][][]) : transpose01(a as number[][][]);
  if (role === "Y") {
    const y = a as number[][][][]; // layout 0 [T, D, B, H]; layout 1 [B, T, D, H]
    const [d0, d1, d2] = shapeOf(y) as [number, number, number];
    return layout ? y.map((ts) => ts.map((ds) => ds.flat())) : Array.from({ length: d2 }, (_, b) => Array.from({ length: d0 }, (_, t) => Array.from({ length: d1 }, (_, d) => y[t]![d]![b]!).flat()));
  }
  const s = a as number[][][]; // layout 0 [D, B, H]; layout 1 [B, D, H]
  return layout ? s.map((ds) => ds.flat()) : transpose01(s).map((ds) => ds.flat());
}
const transpose01 = (a: number[][][]): number[][][] => a[0]!.map((_, j) => a.map((row) => row[j]!));

function check(name: string, ir: ModelIR, mapping: Parameters<typeof importOnnx>[3]) {
  const c = cases[name]!;
  const layout = c.attributes.layout ?? 0;
  const env = resolveDims(ir, new Map());
  const model = decodeModel(readFileSync(join(dir, `${name}.onnx`)));
  const reversed = new Set(ir.nodes.flatMap((n) => (n.attrs.reverse && n.attrs.layer !== undefined ? [n.attrs.layer] : [])));
  const weights = importOnnx(model, modelParamSpecs(ir, env), `${name}.onnx`, { reversed, ...mapping });
  const data = ir.inputs.find((i) => i.name.toLowerCase() === "x")!.name;
  const inputs: Record<string, ReturnType<typeof tensorFromJson>> = { [data]: tensorFromJson(perExample(c.inputs["X"]!, "X", layout), data, "f32") };
  // initial_h / initial_c: one direction here, [1, B, H] → [B][H] under the name the spec gave it.
  for (const k of ["initial_h", "initial_c"]) if (c.inputs[k]) inputs[k] = tensorFromJson(perExample(c.inputs[k]!, "state", layout), k, "f32");
  const lens = c.inputs["sequence_lens"] as number[] | undefined;
  const out = runModel(ir, env, weights, { inputs, ...(lens ? { lengths: { [data]: lens } } : {}) });
  expect(Object.keys(out).sort()).toEqual(Object.keys(c.outputs).sort());
  let worst = 0;
  for (const [o, want] of Object.entries(c.outputs)) {
    const w = perExample(want, o === "Y" ? "Y" : "state", layout).flat(2) as number[];
    const got = [...out[o]!.tensor!.data];
    expect(got, o).toHaveLength(w.length);
    worst = Math.max(worst, ...got.map((g, i) => Math.abs(g - w[i]!)));
  }
  expect(worst).toBeLessThan(1e-5);
  return worst;
}

describe("ONNX's backend test cases for LSTM, GRU and RNN", () => {
  it("are the 18 the onnx package generates", () => {
    expect(Object.keys(cases).sort()).toEqual(Object.keys(hand).sort());
    expect(Object.keys(cases)).toHaveLength(18);
  });

  it.each(Object.keys(hand))("%s: the spec its graph gives reproduces ONNX's outputs", (name) => {
    const derived = specFromOnnx(decodeModel(readFileSync(join(dir, `${name}.onnx`))), `${name}.onnx`);
    const ir = modelFrom(derived.text, derived.model);
    check(name, ir, { wired: derived.names });
  });

  it.each(Object.keys(hand))("%s: a hand-written stdlib spec reproduces ONNX's outputs", (name) => {
    check(name, modelFrom(hand[name]!, "M"), {});
  });

  it("the derived specs say what each output is, and name the graph's own inputs and outputs", () => {
    const spec = (name: string) => specFromOnnx(decodeModel(readFileSync(join(dir, `${name}.onnx`))), `${name}.onnx`).text;
    expect(spec("test_lstm_bidirectional")).toMatch(/layer lstm_fwd = LSTM<2, 3>\n\s*layer lstm_bwd = LSTM<2, 3>/);
    expect(spec("test_lstm_bidirectional")).toMatch(/output Y_c = final\(lstm_seq\)\.c/);
    expect(spec("test_lstm_with_peepholes")).toMatch(/input initial_h: \[3\][\s\S]*PeepholeLSTM<4, 3>[\s\S]*init = states\(h = initial_h, c = initial_c\)/);
    expect(spec("test_lstm_with_peepholes")).toContain(`"lengths": {"X": [per example]}`);
    expect(spec("test_gru_reverse")).toMatch(/scan\(gru, X, reverse = true\)/);
  });
});

describe("activations and clip beyond ONNX's own cases (onnxruntime-web computes what is expected)", () => {
  interface Extra { op: string; attributes: { direction: string }; inputs: { X: number[][][] }; outputs: string[] }
  const extras = JSON.parse(readFileSync(join(dir, "extra-cases.json"), "utf8")) as Record<string, Extra>;
  it.each(Object.keys(extras))("%s: the derived spec (its own cells where the stdlib's do not compute the node) reproduces onnxruntime", async (name) => {
    const ort = await import("onnxruntime-web");
    ort.env.wasm.numThreads = 1;
    const c = extras[name]!;
    const bytes = readFileSync(join(dir, `${name}.onnx`));
    const X = c.inputs.X, [T, B, I] = [X.length, X[0]!.length, X[0]![0]!.length];
    const session = await ort.InferenceSession.create(bytes);
    const got = await session.run({ X: new ort.Tensor("float32", Float32Array.from(X.flat(2)), [T, B, I]) });
    await session.release();
    const derived = specFromOnnx(decodeModel(bytes), `${name}.onnx`);
    const ir = modelFrom(derived.text, derived.model);
    const env = resolveDims(ir, new Map());
    const reversed = new Set(ir.nodes.flatMap((n) => (n.attrs.reverse && n.attrs.layer !== undefined ? [n.attrs.layer] : [])));
    const weights = importOnnx(decodeModel(bytes), modelParamSpecs(ir, env), name, { wired: derived.names, reversed });
    const out = runModel(ir, env, weights, { inputs: { X: tensorFromJson(perExample(X, "X", 0), "X", "f32") } });
    let worst = 0;
    for (const o of c.outputs) {
      const t = got[o]!;
      // onnxruntime's flat output as nested arrays of its dims, then per example as the spec gives it.
      const nest = (data: Float32Array, dims: readonly number[]): Nested => (dims.length === 1 ? [...data] : Array.from({ length: dims[0]! }, (_, k) => nest(data.subarray(k * data.length / dims[0]!, (k + 1) * data.length / dims[0]!), dims.slice(1))));
      const want = perExample(nest(t.data as Float32Array, t.dims), o === "Y" ? "Y" : "state", 0).flat(2) as number[];
      const mine = [...out[o]!.tensor!.data];
      expect(mine, o).toHaveLength(want.length);
      worst = Math.max(worst, ...mine.map((v, k) => Math.abs(v - want[k]!)));
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it("writes its own cells only where needed, with the stdlib's param names", () => {
    const spec = (name: string) => specFromOnnx(decodeModel(readFileSync(join(dir, `${name}.onnx`))), `${name}.onnx`).text;
    const lstm = spec("x_lstm_activations_clip");
    expect(lstm).toMatch(/cell OnnxLSTM<I, H> \{[\s\S]*z_i = min\(max\(W_xi @ x \+ W_hi @ h\[t-1\] \+ b_i, -2\.5\), 2\.5\)/);
    expect(lstm).toContain("layer lstm = OnnxLSTM<3, 5>");
    expect(lstm).not.toContain('from "std"');
    // A bidirectional GRU whose backward direction uses the stdlib's activations: its own cell forward, GRUResetBefore backward.
    const gru = spec("x_gru_scaled_bidirectional");
    expect(gru).toMatch(/layer gru_fwd = OnnxGRUResetBefore<2, 3>\n\s*layer gru_bwd = GRUResetBefore<2, 3>/);
    expect(gru).toContain('import { GRUResetBefore } from "std"');
    // A decoder started from the encoder's final states starts from them, not from zeros.
    expect(spec("x_lstm_encoder_decoder")).toMatch(/dec_seq = scan\(dec, X, init = states\(h = final\(enc_seq\)\.h, c = final\(enc_seq\)\.c\)\)/);
  });
});

describe("rnnc import of ONNX's cases", () => {
  const cli = async (cwd: string, ...args: string[]) => {
    const { spawnSync } = await import("node:child_process");
    return spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), ...args], { cwd, encoding: "utf8" });
  };
  const tmp = async () => (await import("node:fs")).mkdtempSync(join((await import("node:os")).tmpdir(), "rnnc-onnx-cases-"));
  it("prints which direction went where: from the derived spec's wiring, or by the direction each layer runs in a hand-written one", async () => {
    const d = await tmp();
    const derived = await cli(d, "import", join(dir, "test_gru_bidirectional.onnx"), "-o", "w.json");
    expect(derived.status, derived.stderr).toBe(0);
    expect(derived.stderr).toMatch(/gru0\.l0\s+→ {2}gru_fwd {2}\(GRU0; the source's wiring\)/);
    expect(derived.stderr).toMatch(/gru0\.l0_reverse\s+→ {2}gru_bwd {2}\(GRU0; the source's wiring\)/);
    (await import("node:fs")).writeFileSync(join(d, "hand.rnn"), hand["test_gru_bidirectional"]!);
    const byHand = await cli(d, "import", join(dir, "test_gru_bidirectional.onnx"), "--spec", "hand.rnn", "-o", "h.json");
    expect(byHand.status, byHand.stderr).toBe(0);
    expect(byHand.stderr).toMatch(/gru0\.l0\s+→ {2}f {2}\(GRU0; the direction it runs\)/);
    expect(byHand.stderr).toMatch(/gru0\.l0_reverse\s+→ {2}b {2}\(GRU0; the direction it runs\)/);
  });

  it("a spec whose cell no ONNX op fills is a coded error naming its params, and no weights file is written", async () => {
    const d = await tmp();
    const { existsSync, writeFileSync } = await import("node:fs");
    // The peephole case onto a hand-written peephole cell of its own: nothing fills its params.
    writeFileSync(join(d, "own.rnn"), `cell Peep<I, H> {\n  input x: [I]\n  state h: [H] = 0\n  param W: [H, I] ~ zeros\n  param p: [H] ~ zeros\n  h = tanh(W @ x + p ⊙ h[t-1])\n  output h\n}\nmodel M {\n  input X: [T, 4]\n  layer l = Peep<4, 3>\n  output Y_h = final(scan(l, X)).h\n}\n`);
    const r = await cli(d, "import", join(dir, "test_lstm_with_peepholes.onnx"), "--spec", "own.rnn", "-o", "w.json");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error\[RNN0601\]: .*test_lstm_with_peepholes\.onnx has no values for params `l\.W`, `l\.p`/);
    expect(r.stderr).toContain("is not one rnnc fills from an ONNX node direction");
    expect(r.stderr).not.toMatch(/internal|this is a bug/);
    expect(existsSync(join(d, "w.json"))).toBe(false);
  });
});

describe("ONNX recurrent attributes rnnc has no equation for", () => {
  /** The LSTM case's graph with one attribute added (the protobuf object as decodeModel gives it). */
  const withAttr = (attr: Record<string, unknown>) => {
    const m = decodeModel(readFileSync(join(dir, "test_lstm_defaults.onnx")));
    const node = (m["graph"] as { node: { attribute: unknown[] }[] }).node[0]!;
    node.attribute.push(attr);
    return m;
  };
  const error = (f: () => unknown) => { try { f(); } catch (e) { if (e instanceof RnncError) return `${e.code}: ${e.message}`; throw e; } return "no error"; };
  it("an initial state of a Constant is zeros when it holds zeros, and otherwise refused, never taken for zeros", () => {
    const withH0 = (values: number[]) => {
      const m = decodeModel(readFileSync(join(dir, "test_lstm_defaults.onnx")));
      const g = m["graph"] as { node: { input: string[]; op_type: string; output: string[]; attribute: unknown[] }[] };
      g.node.unshift({ op_type: "Constant", input: [], output: ["h0"], attribute: [{ name: "value", t: { dims: [1, 3, 3], data_type: 1, float_data: values } }] });
      const lstm = g.node[1]!;
      lstm.input = [...lstm.input, "", "", "h0"];
      return m;
    };
    const zeros = specFromOnnx(withH0(Array(9).fill(0)), "m.onnx");
    expect(zeros.text).toMatch(/scan\(lstm, X\)/);
    expect(error(() => specFromOnnx(withH0(Array(9).fill(0.5)), "m.onnx"))).toMatch(/starts its state h from h0 \(computed by Constant\), which is not zeros, a graph input or a state the graph computes/);
  });

  it("input_forget and an activation the language cannot write (ThresholdedRelu) are coded errors naming the attribute", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(error(() => specFromOnnx(withAttr({ name: "input_forget", i: 1 }), "m.onnx"))).toMatch(/^RNN0604: cannot write a spec for m.onnx: node .* \(LSTM\): its attribute input_forget = 1/);
    expect(error(() => specFromOnnx(withAttr({ name: "activations", strings: [enc("Sigmoid"), enc("ThresholdedRelu"), enc("Tanh")] }), "m.onnx"))).toMatch(/its attribute activations names ThresholdedRelu/);
    expect(error(() => specFromOnnx(withAttr({ name: "activations", strings: [enc("Sigmoid"), enc("Tanh")] }), "m.onnx"))).toMatch(/names 2 activations; a forward LSTM takes 3/);
    expect(error(() => specFromOnnx(withAttr({ name: "clip", f: -1 }), "m.onnx"))).toMatch(/has clip -1; a clip is a positive number/);
    const m = withAttr({ name: "activations", strings: [enc("HardSigmoid"), enc("Tanh"), enc("Tanh")] });
    (m["graph"] as { node: { attribute: unknown[] }[] }).node[0]!.attribute.push({ name: "activation_alpha", floats: [NaN] });
    expect(error(() => specFromOnnx(m, "m.onnx"))).toMatch(/activation_alpha or activation_beta that is not a finite number/);
  });
});
