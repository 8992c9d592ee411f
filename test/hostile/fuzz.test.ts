// Structure-aware fuzzing of every reader of files from elsewhere (issue 23): valid safetensors, tfjs, ONNX and rnnc
// weights files mutated field by field and byte by byte, each read as `rnnc import` / `--weights` reads it: every
// outcome is a result or a coded error (RnncError, UsageError), never another exception, and no read takes long.
// RNNC_FUZZ_RUNS mutations per format (default 1,000; `npm run fuzz:readers` runs 20,000), RNNC_FUZZ_SEED the sample.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RnncError } from "../../src/diagnostics/errors.js";
import { UsageError } from "../../src/cli/usage.js";
import { decodeModel, onnxRoot } from "../../src/emit/onnx/proto.js";
import { resolveDims } from "../../src/runtime/dims.js";
import { importOnnx } from "../../src/weights/onnx-import.js";
import { specFromOnnx } from "../../src/weights/onnx-spec.js";
import { readSafetensors } from "../../src/weights/safetensors.js";
import { readTfjsLayers } from "../../src/weights/tfjs-import.js";
import { specFromTfjs } from "../../src/weights/tfjs-spec.js";
import { importTorch } from "../../src/weights/torch-import.js";
import { modelParamSpecs, parseWeights, serializeWeights, trainingStateOf, initParams } from "../../src/weights/weights.js";
import { compiler, root } from "../helpers.js";
import { createCompiler } from "../../src/compiler.js";
import { memoryHost } from "../../src/resolve/host.js";
import { nodeHost, stdlibFiles } from "../../src/node/host.js";

const std = new Map(stdlibFiles().map((f) => [f, nodeHost.readFile(f)!]));

const RUNS = Number(process.env["RNNC_FUZZ_RUNS"] ?? 1000);
const SEED = Number(process.env["RNNC_FUZZ_SEED"] ?? 23);
/** A read slower than this is counted as a hang (the files are kilobytes; a bounded reader takes milliseconds). */
const SLOW_MS = 2000;

function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]! };
}
type Rng = ReturnType<typeof rng>;

/** Values a field of a file might be given by someone hostile, or by a bug elsewhere. */
const weird: unknown[] = [-1, 0, 1, 2 ** 31, 2 ** 53, 2 ** 64, 1e308, -1e308, 0.5, NaN, "", "x", "F32", "F8_E5M2", "float32", null, true, [], {}, [1e12, 1e12], [-3], ["a"], [[[]]], { "__proto__": 1 }];

/** Byte-level mutations: flips, truncation, insertion, deletion and duplication of a chunk. */
function mutateBytes(b: Uint8Array, r: Rng): Uint8Array {
  const out = Array.from(b);
  for (let k = 1 + r.int(4); k > 0; k--) {
    const at = r.int(out.length + 1);
    switch (r.int(5)) {
      case 0: if (out.length) out[at % out.length] = r.int(256); break;
      case 1: out.length = r.int(out.length + 1); break;
      case 2: out.splice(at, 0, ...Array.from({ length: 1 + r.int(16) }, () => r.int(256))); break;
      case 3: out.splice(at, 1 + r.int(64)); break;
      default: { const from = r.int(out.length + 1); out.splice(at, 0, ...out.slice(from, from + 1 + r.int(256))); }
    }
  }
  return Uint8Array.from(out);
}

/** Replaces a random leaf (or a whole branch) of a JSON-like value with a weird one, or deletes it. */
function mutateValue(v: unknown, r: Rng, depth = 0): unknown {
  if (typeof v !== "object" || v === null || (depth > 0 && r.next() < 0.15)) return r.pick(weird);
  const keys = Object.keys(v);
  if (!keys.length) return r.pick(weird);
  const copy: Record<string, unknown> | unknown[] = Array.isArray(v) ? [...v] : { ...(v as Record<string, unknown>) };
  const k = r.pick(keys);
  if (r.next() < 0.1) { if (Array.isArray(copy)) copy.splice(Number(k), 1); else delete copy[k]; }
  else (copy as Record<string, unknown>)[k] = mutateValue((v as Record<string, unknown>)[k], r, depth + 1);
  return copy;
}

/** Runs `read` on RUNS mutants; returns the non-coded errors (with their mutant's number) and the slowest read. */
function fuzz(format: string, mutants: (r: Rng, k: number) => unknown, read: (m: unknown) => void) {
  const r = rng(SEED ^ [...format].reduce((a, c) => a * 31 + c.charCodeAt(0), 7));
  const internal: string[] = [];
  let slowest = 0, coded = 0, ok = 0;
  for (let k = 0; k < RUNS; k++) {
    const m = mutants(r, k);
    const t0 = performance.now();
    try {
      read(m);
      ok++;
    } catch (e) {
      if (e instanceof RnncError || e instanceof UsageError) coded++;
      else internal.push(`#${k}: ${(e as Error)?.stack?.split("\n").slice(0, 3).join(" / ") ?? String(e)}`);
    }
    slowest = Math.max(slowest, performance.now() - t0);
  }
  process.stderr.write(`  fuzz ${format}: ${RUNS} mutants, ${ok} read, ${coded} coded errors, ${internal.length} internal; slowest ${slowest.toFixed(0)} ms\n`);
  return { internal, slowest, ok, coded };
}

const fixture = (p: string) => readFileSync(join(root, "test", "fixtures", "import", p));
const co2 = compiler.model(join(root, "examples", "co2-forecast", "co2-forecast.rnn"), undefined);
const co2Specs = modelParamSpecs(co2, resolveDims(co2, new Map()));
const ng = compiler.model(join(root, "examples", "name-gender", "name-gender.rnn"), undefined);
const ngSpecs = modelParamSpecs(ng, resolveDims(ng, new Map()));

describe(`fuzzing the readers (${RUNS} mutants per format, seed ${SEED})`, () => {
  it("safetensors: header fields and bytes mutated, read and mapped onto a spec", () => {
    const valid = fixture("co2.safetensors");
    const len = Number(valid.readBigUInt64LE(0));
    const header = JSON.parse(valid.subarray(8, 8 + len).toString()) as unknown;
    const data = valid.subarray(8 + len);
    const assemble = (h: string, d: Uint8Array) => { const hb = Buffer.from(h); const l = Buffer.alloc(8); l.writeBigUInt64LE(BigInt(hb.length)); return Buffer.concat([l, hb, d]); };
    const res = fuzz("safetensors", (r) => (r.next() < 0.6 ? assemble(JSON.stringify(mutateValue(header, r)), r.next() < 0.3 ? mutateBytes(data, r) : data) : mutateBytes(valid, r)),
      (m) => importTorch(readSafetensors(m as Uint8Array, "fuzz.safetensors"), co2Specs, "fuzz.safetensors"));
    expect(res.internal).toEqual([]);
    expect(res.slowest).toBeLessThan(SLOW_MS);
    expect(res.coded).toBeGreaterThan(RUNS / 4); // the mutants do reach the checks
  });

  it("tfjs-layers: model.json fields and the shard's bytes mutated, read, its spec derived and its weights mapped", () => {
    const json = JSON.parse(fixture("keras-gru.json").toString()) as unknown;
    const shard = fixture("keras-gru.weights.bin");
    const res = fuzz("tfjs", (r) => ({ text: r.next() < 0.15 ? new TextDecoder().decode(mutateBytes(Buffer.from(JSON.stringify(json)), r)) : JSON.stringify(mutateValue(json, r)), shard: r.next() < 0.3 ? mutateBytes(shard, r) : shard }),
      (m) => {
        const { text, shard: bytes } = m as { text: string; shard: Uint8Array };
        const tensors = readTfjsLayers(text, (p) => { if (p !== "keras-gru.weights.bin") throw new UsageError(`no file ${p}`); return bytes; }, "model.json");
        const spec = specFromTfjs(text, tensors, "model.json");
        // As rnnc import does: the derived spec compiled, and the weights mapped onto its model.
        const ir = createCompiler(memoryHost(new Map([["derived.rnn", spec.text], ...std]), [...std.keys()])).model("derived.rnn", spec.model);
        importTorch(tensors, modelParamSpecs(ir, resolveDims(ir, new Map())), "model.json", { names: spec.names });
      });
    expect(res.internal).toEqual([]);
    expect(res.slowest).toBeLessThan(SLOW_MS);
    expect(res.ok).toBeGreaterThan(0); // some mutants still import (the control is reached)
  });

  it("ONNX: decoded fields (dims, types, data, nodes, metadata) and bytes mutated, decoded, a spec derived and weights read", () => {
    const M = onnxRoot().lookupType("onnx.ModelProto");
    const models = [fixture("name-gender.onnx"), fixture("co2.onnx"), fixture("tagger.onnx")];
    const decoded = models.map((b) => decodeModel(b));
    const decode = (b: Uint8Array) => { try { return decodeModel(b); } catch (e) { throw new RnncError("RNN0604", `not an ONNX model: ${(e as Error).message}`); } };
    const res = fuzz("onnx", (r) => {
      const k = r.int(models.length);
      if (r.next() < 0.4) return { bytes: mutateBytes(models[k]!, r), specs: k === 1 ? co2Specs : ngSpecs };
      const m = structuredClone(decoded[k]!) as { graph: { initializer: Record<string, unknown>[]; node: Record<string, unknown>[] } };
      const inits = m.graph.initializer, nodes = m.graph.node;
      for (let j = 1 + r.int(3); j > 0; j--) {
        const t = r.pick(inits);
        const what = r.int(6);
        if (what === 0) t["dims"] = mutateValue(t["dims"] ?? [], r);
        else if (what === 1) t["data_type"] = r.pick([0, 1, 2, 3, 7, 10, 11, 16, 99]);
        else if (what === 2 && t["raw_data"]) t["raw_data"] = mutateBytes(t["raw_data"] as Uint8Array, r);
        else if (what === 3) { t["data_location"] = 1; t["external_data"] = [{ key: "location", value: "../x" }]; }
        else if (what === 4) nodes.splice(r.int(nodes.length), 1);
        else r.pick(nodes)["input"] = mutateValue(r.pick(nodes)["input"] ?? [], r);
      }
      let bytes: Uint8Array;
      try { bytes = M.encode(M.fromObject(m)).finish(); } catch { bytes = models[k]!; }
      return { bytes, specs: k === 1 ? co2Specs : ngSpecs };
    }, (x) => {
      const { bytes, specs } = x as { bytes: Uint8Array; specs: typeof co2Specs };
      const model = decode(bytes);
      // A spec derived from whatever graph came must parse and compile (a CompileErrors here counts as internal).
      let spec: ReturnType<typeof specFromOnnx> | undefined;
      try { spec = specFromOnnx(model, "fuzz.onnx"); } catch (e) { if (!(e instanceof RnncError)) throw e; }
      if (spec) createCompiler(memoryHost(new Map([["derived.rnn", spec.text], ...std]), [...std.keys()])).model("derived.rnn", spec.model);
      importOnnx(model, specs, "fuzz.onnx");
    });
    expect(res.internal).toEqual([]);
    expect(res.slowest).toBeLessThan(SLOW_MS);
  });

  it("rnnc weights files and checkpoints: JSON fields mutated, parsed and their training state read", () => {
    const training = { epoch: 2, history: { train: [1, 0.5], test: [1, 0.6], metric: [0.1, 0.2], metricName: "rmse", lr: [0.1, 0.1] }, optimizer: { name: "adam", weights: [{ name: "iter", shape: [], data: [3] }] } };
    const valid = JSON.parse(serializeWeights("CO2Forecast", resolveDims(co2, new Map()), co2Specs, initParams(co2Specs, 1), training)) as unknown;
    const res = fuzz("weights", (r) => (r.next() < 0.2 ? new TextDecoder().decode(mutateBytes(Buffer.from(JSON.stringify(valid)), r)) : JSON.stringify(mutateValue(valid, r))),
      (text) => { parseWeights(text as string, "fuzz.json"); trainingStateOf(text as string, "fuzz.json"); });
    expect(res.internal).toEqual([]);
    expect(res.slowest).toBeLessThan(SLOW_MS);
  });
});
