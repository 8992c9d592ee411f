// PyTorch weights in: safetensors state dicts written by PyTorch's models (test/fixtures/import/make_torch.py)
// imported onto the examples' specs reproduce the outputs PyTorch computed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RnncError } from "../../src/diagnostics/errors.js";
import { runModel } from "../../src/interp/run-model.js";
import { resolveDims } from "../../src/runtime/dims.js";
import { tensorFromJson } from "../../src/runtime/json-tensor.js";
import { readSafetensors } from "../../src/weights/safetensors.js";
import { importTorch } from "../../src/weights/torch-import.js";
import { modelParamSpecs } from "../../src/weights/weights.js";
import { importOnnx } from "../../src/weights/onnx-import.js";
import { decodeModel } from "../../src/emit/onnx/proto.js";
import { compiler, root } from "../helpers.js";

const dir = join(root, "test", "fixtures", "import");
const torch = JSON.parse(readFileSync(join(dir, "torch-outputs.json"), "utf8")) as Record<string, Record<string, unknown>>;
const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);

describe("PyTorch state dicts (safetensors)", () => {
  // The same two PyTorch models as a state dict (safetensors) and through torch.onnx.export (LSTM/GRU, Gemm or
  // MatMul+Add, Gather nodes): imported by kind and shape, both reproduce PyTorch's outputs.
  const readers = {
    safetensors: (file: string) => readSafetensors(readFileSync(join(dir, `${file}.safetensors`)), file),
    onnx: (file: string) => decodeModel(readFileSync(join(dir, `${file}.onnx`))),
  };
  it.each([
    ["name-gender", "name-gender", "chars", "probs", "safetensors"],
    ["co2-forecast", "co2", "series", "next", "safetensors"],
    ["name-gender", "name-gender", "chars", "probs", "onnx"],
    ["co2-forecast", "co2", "series", "next", "onnx"],
  ] as const)("%s from %s.%s: nn.Embedding/LSTM/GRU/Linear reproduce PyTorch's outputs within 1e-5", (folder, file, input, output, format) => {
    const ir = compiler.model(join(root, "examples", folder, `${folder}.rnn`), undefined);
    const env = resolveDims(ir, new Map());
    const specs = modelParamSpecs(ir, env);
    const weights = format === "onnx" ? importOnnx(readers.onnx(file), specs, file) : importTorch(readers.safetensors(file), specs, file);
    expect([...weights.keys()].sort()).toEqual(specs.map((s) => s.name).sort());
    const data = torch[file]!;
    const r = runModel(ir, env, weights, { inputs: { [input]: tensorFromJson(data[input], input, "f32") } });
    const got = [...r[output]!.tensor!.data], want = flat(data[output]);
    expect(got).toHaveLength(want.length);
    expect(Math.max(...got.map((x, i) => Math.abs(x - want[i]!)))).toBeLessThan(1e-5);
  });

  it("a module that fits nothing, an explicit name for a missing module and a corrupt file are coded errors", () => {
    const ir = compiler.model(join(root, "examples", "adding", "adding.rnn"), "AddingLSTM");
    const specs = modelParamSpecs(ir, resolveDims(ir, new Map()));
    const tensors = readSafetensors(readFileSync(join(dir, "name-gender.safetensors")), "ng");
    const code = (f: () => unknown) => { try { f(); } catch (e) { return e instanceof RnncError ? `${e.code}: ${e.message}` : String(e); } return "no error"; };
    expect(code(() => importTorch(tensors, specs, "ng"))).toMatch(/^RNN0601: ng has no Linear whose shapes fit layer `head`/);
    expect(code(() => importTorch(tensors, specs, "ng", { names: new Map([["fc", "head"]]) }))).toMatch(/^RNN0602: ng has no PyTorch module `fc` \(named for layer `head`\)/);
    const bytes = readFileSync(join(dir, "co2.safetensors"));
    expect(code(() => readSafetensors(bytes.subarray(0, 100), "cut"))).toMatch(/^RNN0604: cut is not a valid safetensors file/);
    expect(code(() => readSafetensors(new Uint8Array(4), "tiny"))).toMatch(/^RNN0604/);
  });
});

describe("rnnc import", () => {
  it("writes rnnc-weights that rnnc run uses with PyTorch's numbers; on an error writes nothing; other formats are refused", async () => {
    const { spawnSync } = await import("node:child_process");
    const { existsSync, mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const out = join(mkdtempSync(join(tmpdir(), "rnnc-import-")), "co2.json");
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), ...args], { cwd: root, encoding: "utf8" });
    const ok = cli("import", "test/fixtures/import/co2.safetensors", "--spec", "examples/co2-forecast/co2-forecast.rnn", "-o", out);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(readFileSync(out, "utf8")).format).toBe("rnnc-weights");
    const inputFile = join(dir, "..", "..", "..", ".test-out", "co2-torch-input.json");
    const { mkdirSync, writeFileSync } = await import("node:fs");
    mkdirSync(join(root, ".test-out"), { recursive: true });
    writeFileSync(inputFile, JSON.stringify({ series: torch["co2"]!["series"] }));
    const run = cli("run", "examples/co2-forecast/co2-forecast.rnn", "--weights", out, "--input", inputFile);
    expect(run.status, run.stderr).toBe(0);
    const got = flat(JSON.parse(run.stdout).outputs.next), want = flat(torch["co2"]!["next"]);
    expect(Math.max(...got.map((x, i) => Math.abs(x - want[i]!)))).toBeLessThan(1e-5);
    const bad = join(out, "..", "bad.json");
    const no = cli("import", "test/fixtures/import/co2.safetensors", "--spec", "examples/adding/adding.rnn", "--model", "AddingLSTM", "-o", bad);
    expect(no.status).toBe(1);
    expect(no.stderr).toContain("error[RNN0601]");
    expect(existsSync(bad)).toBe(false);
    expect(cli("import", "model.onnx", "--spec", "examples/adding/adding.rnn", "-o", bad).status).toBe(2);
  });
});

describe("rnnc import of an ONNX model without --spec", () => {
  const cli = async (...args: string[]) => {
    const { spawnSync } = await import("node:child_process");
    return spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), ...args], { cwd: root, encoding: "utf8" });
  };
  const tmp = async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    return mkdtempSync(join(tmpdir(), "rnnc-import-spec-"));
  };
  it.each([
    ["name-gender", "chars", "probs", "rnn_seq = scan(rnn, map(embed, x))\n  output y = head(last(rnn_seq))"],
    ["co2", "series", "next", "rnn_seq = scan(rnn, x)\n  output y = map(head, rnn_seq)"],
    ["tagger", "x", "y", "rnn_seq   = bidirectional(rnn_fwd, rnn_bwd, x)\n  rnn_2_seq = bidirectional(rnn_2_fwd, rnn_2_bwd, rnn_seq)\n  output y = map(head, rnn_2_seq)"],
  ] as const)("%s.onnx (torch.onnx.export): the spec written from its graph, with the weights, reproduces PyTorch's outputs", async (file, input, output, wiring) => {
    const out = join(await tmp(), `${file}.json`);
    const r = await cli("import", `test/fixtures/import/${file}.onnx`, "-o", out);
    expect(r.status, r.stderr).toBe(0);
    const specPath = out.replace(/\.json$/, ".rnn");
    const spec = readFileSync(specPath, "utf8");
    expect(spec).toContain(wiring);
    const ir = compiler.model(specPath, "Imported");
    const env = resolveDims(ir, new Map());
    const { parseWeights } = await import("../../src/weights/weights.js");
    const weights = parseWeights(readFileSync(out, "utf8"), out);
    expect([...weights.keys()].sort()).toEqual(modelParamSpecs(ir, env).map((s) => s.name).sort());
    const data = torch[file]!;
    const got = [...runModel(ir, env, weights, { inputs: { x: tensorFromJson(data[input], input, "f32") } })["y"]!.tensor!.data], want = flat(data[output]);
    expect(got).toHaveLength(want.length);
    expect(Math.max(...got.map((x, i) => Math.abs(x - want[i]!)))).toBeLessThan(1e-5);
    // The derived spec is formatted as `rnnc fmt` would write it.
    expect((await cli("fmt", "--check", specPath)).status).toBe(0);
  });

  it("refuses a spec file that exists, a graph it cannot follow and a source with no wiring; writes nothing then", async () => {
    const { existsSync, writeFileSync } = await import("node:fs");
    const dir = await tmp();
    writeFileSync(join(dir, "taken.rnn"), "// mine\n");
    const taken = await cli("import", "test/fixtures/import/co2.onnx", "-o", join(dir, "taken.json"));
    expect(taken.status).toBe(2);
    expect(taken.stderr).toContain("taken.rnn exists");
    expect(readFileSync(join(dir, "taken.rnn"), "utf8")).toBe("// mine\n");
    expect(existsSync(join(dir, "taken.json"))).toBe(false);
    // rnnc's own export takes lengths beside its input: two inputs, not a chain rnnc writes a spec for.
    const own = join(dir, "own.onnx");
    expect((await cli("compile", "examples/co2-forecast/co2-forecast.rnn", "--target", "onnx", "-o", own)).status).toBe(0);
    const two = await cli("import", own, "-o", join(dir, "own.json"));
    expect(two.status).toBe(1);
    expect(two.stderr).toContain("error[RNN0604]: cannot write a spec for");
    expect(two.stderr).toContain("help: write the spec yourself and give it with --spec");
    expect(existsSync(join(dir, "own.json")) || existsSync(join(dir, "own.rnn"))).toBe(false);
    writeFileSync(join(dir, "junk.onnx"), "not a protobuf at all \u0000\u00ff");
    const junk = await cli("import", join(dir, "junk.onnx"), "-o", join(dir, "junk.json"));
    expect(junk.status).toBe(1);
    expect(junk.stderr).toMatch(/^error\[RNN0604\]: .*junk\.onnx is not an ONNX model/m);
    expect(existsSync(join(dir, "junk.json")) || existsSync(join(dir, "junk.rnn"))).toBe(false);
    const st = await cli("import", "test/fixtures/import/co2.safetensors", "-o", join(dir, "st.json"));
    expect(st.status).toBe(2);
    expect(st.stderr).toContain("does not describe its model's wiring");
  });
});
