// Writes the hostile corpus: crafted files of every kind rnnc reads, each with the outcome it must have (cases.json).
// Deterministic; `node test/hostile/make-corpus.mjs [DIR]` (after `npm run build`; DIR defaults to test/hostile/corpus,
// which git ignores: test/hostile/corpus.test.ts writes a fresh one per run, some files being megabytes).
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const out = process.argv[2] ?? join(root, "test", "hostile", "corpus");
const { decodeModel, onnxRoot } = await import(join(root, "dist", "emit", "onnx", "proto.js"));
rmSync(out, { recursive: true, force: true });
const cases = [];
const write = (rel, data) => { const p = join(out, rel); mkdirSync(dirname(p), { recursive: true }); writeFileSync(p, data); return rel; };
/**
 * A case: `args` of the CLI ({c} is this corpus, {root} the repository, {tmp} a fresh folder per case), what it must
 * end in (`exit`, the diagnostic `code` and a `match` of stderr; exit 0: a correct result), optional `stdin` (a corpus
 * file, or `endless`) and `setup` (things git cannot hold: fifos, links made at run time).
 */
const add = (c) => cases.push({ memoryMB: 512, ...c });
const fixture = (p) => readFileSync(join(root, "test", "fixtures", "import", p));

// ── safetensors: PyTorch's co2 state dict onto examples/co2-forecast ──────────────────────────────────────────────
const st = fixture("co2.safetensors");
const headerOf = (b) => JSON.parse(b.subarray(8, 8 + Number(b.readBigUInt64LE(0))).toString());
const safetensors = (header, data) => {
  const h = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
};
const stData = st.subarray(8 + Number(st.readBigUInt64LE(0)));
const stHeader = headerOf(st);
const co2 = ["--spec", "{root}/examples/co2-forecast/co2-forecast.rnn", "-o", "{tmp}/w.json"];
const stCase = (name, bytes, expect, note) => add({ class: "safetensors", name, args: ["import", `{c}/${write(`safetensors/${name}.safetensors`, bytes)}`, ...co2], ...expect, note });
const edited = (f) => { const h = structuredClone(stHeader); f(h); return h; };
const bad = (match) => ({ exit: 1, code: "RNN0604", match });
stCase("valid", st, { exit: 0 }, "the control: imports");
stCase("empty", Buffer.alloc(0), bad("shorter than its 8-byte header length"));
stCase("seven-bytes", Buffer.from("1234567"), bad("shorter than its 8-byte header length"));
stCase("header-length-2^63", Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x80]), Buffer.from("{}")]), bad("runs past the file's"));
stCase("header-past-end", Buffer.concat([Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0]), Buffer.from("{}")]), bad("runs past the file's"));
stCase("header-not-json", safetensors("{not json", stData), bad("its header is not JSON"));
stCase("header-array", safetensors("[1,2,3]", stData), bad("its header is not a JSON object"));
stCase("header-not-utf8", safetensors(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString("latin1"), stData), bad("its header is not JSON"));
stCase("shape-negative", safetensors(edited((h) => { h["head.bias"].shape = [-1]; }), stData), bad("which is not a list of whole numbers"));
stCase("shape-fraction", safetensors(edited((h) => { h["head.bias"].shape = [0.5]; }), stData), bad("which is not a list of whole numbers"));
stCase("shape-huge", safetensors(edited((h) => { h["rnn.weight_hh_l0"].shape = [1e15, 1e15]; }), stData), { exit: 1, code: "RNN0606", match: "more than the 67,108,864 elements a tensor can hold" });
stCase("shape-overflow", safetensors(edited((h) => { h["rnn.weight_hh_l0"].shape = [2 ** 31, 2 ** 31, 2 ** 31, 2 ** 31]; }), stData), { exit: 1, code: "RNN0606", match: "elements a tensor can hold" });
stCase("shape-nested-deep", safetensors(`{"x": {"dtype": "F32", "shape": [${"[".repeat(100000)}${"]".repeat(100000)}], "data_offsets": [0, 4]}}`, stData), bad("which is not a list of whole numbers"));
stCase("offsets-past-end", safetensors(edited((h) => { h["head.bias"].data_offsets = [0, 1e12]; }), stData), bad("data offsets outside the file"));
stCase("offsets-reversed", safetensors(edited((h) => { h["head.bias"].data_offsets = [8, 4]; }), stData), bad("data offsets outside the file"));
stCase("bytes-for-shape", safetensors(edited((h) => { h["rnn.weight_hh_l0"].shape = [96, 33]; }), stData), bad("bytes for 3168 F32 values"));
stCase("dtype-unknown", safetensors(edited((h) => { h["head.bias"].dtype = "Q4_K"; }), stData), bad('dtype "Q4_K", which safetensors does not define'));
stCase("dtype-f8", safetensors(edited((h) => { h["head.bias"].dtype = "F8_E4M3"; h["head.bias"].data_offsets = [h["head.bias"].data_offsets[0], h["head.bias"].data_offsets[0] + 1]; }), stData), bad("an 8-bit float rnnc does not read"));
const withValue = (v) => { const d = Buffer.from(stData); d.writeFloatLE(v, stHeader["rnn.weight_ih_l0"].data_offsets[0] + 4 * 3); return safetensors(stHeader, d); };
stCase("nan-weight", withValue(NaN), { exit: 1, code: "RNN0608", match: 'tensor "rnn.weight_ih_l0" holds NaN at index 3' });
stCase("infinite-weight", withValue(-Infinity), { exit: 1, code: "RNN0608", match: "holds -Infinity at index 3" });
const f64 = edited((h) => { for (const k of Object.keys(h)) if (k !== "__metadata__") h[k].dtype = "F64"; });
let at = 0;
const f64Data = [];
for (const k of Object.keys(f64)) { if (k === "__metadata__") continue; const [a, b] = stHeader[k].data_offsets; const n = (b - a) / 4; const d = Buffer.alloc(8 * n); for (let i = 0; i < n; i++) d.writeDoubleLE(i === 0 && k === "head.bias" ? 1e300 : stData.readFloatLE(a + 4 * i), 8 * i); f64[k].data_offsets = [at, at + 8 * n]; at += 8 * n; f64Data.push(d); }
stCase("f64-past-float32", safetensors(f64, Buffer.concat(f64Data)), { exit: 1, code: "RNN0608", match: 'tensor "head.bias" holds Infinity at index 0' });
// (Written as text: assigning obj["__proto__"] would set a prototype, not add a key.)
stCase("tensor-named-proto", safetensors(JSON.stringify(stHeader).replace("{", `{"__proto__": ${JSON.stringify(stHeader["head.bias"])}, `), stData), { exit: 0 }, "an extra tensor named __proto__ is one more unused tensor");
stCase("header-not-object-entry", safetensors(edited((h) => { h["head.bias"] = 7; }), stData), bad('tensor "head.bias" is not described by an object'));
const many = {};
for (let i = 0; i < 200000; i++) many[`t${i}`] = { dtype: "F32", shape: [1], data_offsets: [0, 4] };
stCase("two-hundred-thousand-tensors", safetensors(many, stData.subarray(0, 4)), { exit: 1, code: "RNN0601", match: "has no GRU whose shapes fit layer `rnn`" }, "scale: one pass over the header");

// ── tfjs-layers: the Keras GRU fixture, its shard beside it ────────────────────────────────────────────────────────
const kerasJson = JSON.parse(fixture("keras-gru.json").toString());
const shard = fixture("keras-gru.weights.bin");
const tfjsCase = (name, json, files, expect, extra = {}) => {
  const dir = `tfjs/${name}`;
  for (const [f, data] of Object.entries(files)) write(`${dir}/${f}`, data);
  add({ class: "tfjs", name, args: ["import", `{c}/${write(`${dir}/model.json`, typeof json === "string" ? json : JSON.stringify(json))}`, "-o", "{tmp}/w.json"], ...expect, ...extra });
};
const kj = (f) => { const j = structuredClone(kerasJson); f(j); return j; };
const paths = (p) => kj((j) => { j.weightsManifest[0].paths = [p]; });
const refused = (match) => ({ exit: 1, code: "RNN0607", match });
tfjsCase("valid", kerasJson, { "keras-gru.weights.bin": shard }, { exit: 0 });
tfjsCase("path-climbs-out", paths("../../../../../../etc/passwd"), {}, refused("climbs out of the model's folder"));
tfjsCase("path-absolute", paths("/etc/passwd"), {}, refused("it is an absolute path"));
tfjsCase("path-nul", paths("w.bin\u0000.txt"), {}, refused("the name holds a NUL character"));
tfjsCase("path-empty", paths(""), {}, refused("the name is empty"));
tfjsCase("path-missing", paths("nowhere.bin"), {}, refused("does not exist or cannot be read"));
tfjsCase("path-is-folder", paths("sub"), { "sub/x": "" }, refused("it is not a regular file"));
tfjsCase("path-link-out", paths("link.bin"), {}, refused("a link that leads out of the model's folder"), { setup: [{ link: "tfjs/path-link-out/link.bin", to: "/etc/hostname" }] });
tfjsCase("path-link-dev-zero", paths("zero.bin"), {}, refused("a link that leads out of the model's folder"), { setup: [{ link: "tfjs/path-link-dev-zero/zero.bin", to: "/dev/zero" }] });
tfjsCase("path-fifo", paths("fifo.bin"), {}, refused("it is not a regular file"), { setup: [{ fifo: "tfjs/path-fifo/fifo.bin" }] });
tfjsCase("path-link-inside", paths("inner.bin"), { "real/w.bin": shard }, { exit: 0 }, { setup: [{ link: "tfjs/path-link-inside/inner.bin", to: "real/w.bin" }] });
tfjsCase("shard-short", kerasJson, { "keras-gru.weights.bin": shard.subarray(0, shard.length - 4) }, bad("their files hold"));
tfjsCase("shard-long", kerasJson, { "keras-gru.weights.bin": Buffer.concat([shard, Buffer.alloc(4)]) }, bad("its weight files hold more than"));
tfjsCase("weight-shape-huge", kj((j) => { j.weightsManifest[0].weights[0].shape = [1e9, 1e9]; }), { "keras-gru.weights.bin": shard }, { exit: 1, code: "RNN0606", match: "elements a tensor can hold" });
tfjsCase("weight-shape-negative", kj((j) => { j.weightsManifest[0].weights[0].shape = [-3, 4]; }), { "keras-gru.weights.bin": shard }, bad("which is not a list of whole numbers"));
tfjsCase("weight-shape-string", kj((j) => { j.weightsManifest[0].weights[0].shape = "big"; }), { "keras-gru.weights.bin": shard }, bad("has no shape"));
tfjsCase("weight-int32", kj((j) => { j.weightsManifest[0].weights[0].dtype = "int32"; }), { "keras-gru.weights.bin": shard }, bad("rnnc reads float32 weights"));
tfjsCase("weight-quantized", kj((j) => { j.weightsManifest[0].weights[0].quantization = { dtype: "uint8", min: 0, scale: 1 }; }), { "keras-gru.weights.bin": shard }, bad("is quantized"));
const nanShard = Buffer.from(shard); nanShard.writeFloatLE(NaN, 8);
tfjsCase("weight-nan", kerasJson, { "keras-gru.weights.bin": nanShard }, { exit: 1, code: "RNN0608", match: "holds NaN at index 2" });
tfjsCase("weight-nan-allowed", kerasJson, { "keras-gru.weights.bin": nanShard }, { exit: 0 }, { args: ["import", "{c}/tfjs/weight-nan-allowed/model.json", "-o", "{tmp}/w.json", "--allow-nonfinite"] });
tfjsCase("json-broken", "{ not json", {}, bad("its JSON does not parse"));
tfjsCase("json-array", "[]", {}, bad("its top level is not an object"));
tfjsCase("layers-missing", kj((j) => { delete j.modelTopology; }), {}, bad("it has no layers or no weightsManifest"));
tfjsCase("layer-without-name", kj((j) => { delete j.modelTopology.config.layers[1].config.name; }), { "keras-gru.weights.bin": shard }, bad('is not an object with a "class_name" and a "config" with a "name"'));
tfjsCase("layer-not-object", kj((j) => { j.modelTopology.config.layers[1] = 42; }), { "keras-gru.weights.bin": shard }, bad("layer 1 is not an object"));
tfjsCase("manifest-paths-numbers", kj((j) => { j.weightsManifest[0].paths = [1, 2]; }), {}, bad('a list of "paths"'));
tfjsCase("kernel-wrong-rank", kj((j) => { const w = j.weightsManifest[0].weights.find((x) => x.name.endsWith("gru/kernel")); w.shape = [w.shape[0] * w.shape[1]]; }), { "keras-gru.weights.bin": shard }, bad("a 2-axis tensor was expected"));
tfjsCase("kernels-disagree", kj((j) => { const ws = j.weightsManifest[0].weights; const k = ws.find((x) => x.name.endsWith("gru/kernel")); k.shape = [k.shape[1], k.shape[0]]; }), { "keras-gru.weights.bin": shard }, bad("which do not fit together"));
tfjsCase("config-nested-deep", JSON.stringify(kerasJson).replace('"trainable":true', `"trainable":${"[".repeat(100000)}${"]".repeat(100000)}`), { "keras-gru.weights.bin": shard }, { exit: 0 }, { note: "a 100,000-deep value where rnnc reads nothing: JSON.parse is iterative and nothing walks it" });

// ── ONNX: PyTorch's name-gender export, and one rnnc wrote ────────────────────────────────────────────────────────
const M = onnxRoot().lookupType("onnx.ModelProto");
const ng = fixture("name-gender.onnx");
const encode = (m) => Buffer.from(M.encode(M.fromObject(m)).finish());
const ngModel = () => decodeModel(ng);
const initOf = (m, name) => m.graph.initializer.find((t) => t.name === name);
const onnxCase = (name, bytes, expect, args = ["-o", "{tmp}/w.json"]) => add({ class: "onnx", name, args: ["import", `{c}/${write(`onnx/${name}.onnx`, bytes)}`, ...args], ...expect });
const onnxEdit = (f) => { const m = ngModel(); f(m); return encode(m); };
onnxCase("valid", ng, { exit: 0 });
onnxCase("empty", Buffer.alloc(0), bad("cannot write a spec"));
onnxCase("random-bytes", Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)), bad("is not an ONNX model"));
onnxCase("truncated", ng.subarray(0, ng.length >> 1), bad("is not an ONNX model"));
onnxCase("dims-huge", onnxEdit((m) => { initOf(m, "head.weight").dims = [1e12, 1e12]; }), { exit: 1, code: "RNN0606", match: "initializer head.weight claims the shape" });
onnxCase("dims-huge-with-spec", onnxEdit((m) => { initOf(m, "head.weight").dims = [1e12, 1e12]; }), { exit: 1, code: "RNN0606", match: "initializer head.weight claims the shape" }, ["--spec", "{root}/examples/name-gender/name-gender.rnn", "-o", "{tmp}/w.json"]);
onnxCase("dims-negative", onnxEdit((m) => { initOf(m, "head.bias").dims = [-2]; }), bad("which is not a list of whole numbers"));
onnxCase("raw-data-short", onnxEdit((m) => { const t = initOf(m, "onnx::LSTM_121"); t.raw_data = t.raw_data.subarray(0, 100); }), bad("initializer onnx::LSTM_121 claims 4096 values (dims [1, 128, 32]) and holds 100 bytes"));
onnxCase("float-data-count", onnxEdit((m) => { const t = initOf(m, "head.bias"); delete t.raw_data; t.float_data = [1, 2, 3]; }), bad("initializer head.bias claims 2 values (dims [2]) and holds 3"));
onnxCase("no-data", onnxEdit((m) => { delete initOf(m, "head.bias").raw_data; }), bad("initializer head.bias claims 2 values (dims [2]) and holds 0"));
onnxCase("external-data", onnxEdit((m) => { const t = initOf(m, "head.weight"); delete t.raw_data; t.data_location = 1; t.external_data = [{ key: "location", value: "../../etc/passwd" }]; }), bad("initializer head.weight keeps its values in an external file"));
onnxCase("int8-weight", onnxEdit((m) => { const t = initOf(m, "head.bias"); t.data_type = 3; t.raw_data = t.raw_data.subarray(0, 2); }), bad("initializer head.bias is int8"));
onnxCase("nan-weight", onnxEdit((m) => { const t = initOf(m, "embed.weight"); const d = Buffer.from(t.raw_data); d.writeFloatLE(NaN, 20); t.raw_data = d; }), { exit: 1, code: "RNN0608", match: "initializer embed.weight holds NaN at index 5" });
onnxCase("lstm-dims-disagree", onnxEdit((m) => { const t = initOf(m, "onnx::LSTM_121"); t.dims = [1, 64, 64]; }), bad("which do not fit together"));
onnxCase("float64-weights", onnxEdit((m) => { for (const t of m.graph.initializer) if (t.data_type === 1 && t.raw_data) { const n = t.raw_data.length / 4; const v = new DataView(t.raw_data.buffer, t.raw_data.byteOffset, t.raw_data.length); const d = Buffer.alloc(8 * n); for (let i = 0; i < n; i++) d.writeDoubleLE(v.getFloat32(4 * i, true), 8 * i); t.raw_data = d; t.data_type = 11; } }), { exit: 0 }, ["-o", "{tmp}/w.json"]);
// Subgraphs nested 20,000 deep (If inside If …): the decoder's recursion is bounded by the file, and the message says so.
const varint = (n) => { const b = []; while (n > 127) { b.push((n & 127) | 128); n = Math.floor(n / 128); } b.push(n); return Buffer.from(b); };
const field = (num, bytes) => Buffer.concat([varint((num << 3) | 2), varint(bytes.length), bytes]);
const deep = (() => {
  // Written byte by byte (protobufjs' own encoder stops at 100 levels): GraphProto.node → NodeProto.attribute → AttributeProto.g → …
  let g = field(2, Buffer.from("g"));
  for (let i = 0; i < 20000; i++) {
    const attribute = Buffer.concat([field(1, Buffer.from("then_branch")), Buffer.from([0xa0, 0x01, 5]), field(6, g)]);
    g = field(1, Buffer.concat([field(4, Buffer.from("If")), field(5, attribute)]));
  }
  return Buffer.concat([Buffer.from([0x08, 8]), field(7, g)]);
})();
onnxCase("subgraphs-nested-deep", deep, bad(""));
const rnncOnnx = join(out, "onnx", "rnnc-co2.onnx");
execFileSync(process.execPath, [join(root, "dist", "cli", "main.js"), "compile", join(root, "examples", "co2-forecast", "co2-forecast.rnn"), "--target", "onnx", "-o", rnncOnnx], { stdio: "ignore" });
const rnncModel = () => decodeModel(readFileSync(rnncOnnx));
const co2Spec = ["--spec", "{root}/examples/co2-forecast/co2-forecast.rnn", "-o", "{tmp}/w.json"];
add({ class: "onnx", name: "rnnc-valid", args: ["import", "{c}/onnx/rnnc-co2.onnx", ...co2Spec], exit: 0 });
const metaEdit = (f) => { const m = rnncModel(); const p = m.metadata_props.find((x) => x.key === "rnnc.params"); p.value = f(JSON.parse(p.value)); return encode(m); };
onnxCase("rnnc-metadata-not-json", metaEdit(() => "{oops"), bad("its rnnc.params metadata is not JSON"), co2Spec);
onnxCase("rnnc-metadata-array", metaEdit(() => "[]"), bad("its rnnc.params metadata is not an object"), co2Spec);
onnxCase("rnnc-metadata-offset-negative", metaEdit((p) => { const k = Object.keys(p)[0]; p[k].offset = -5; return JSON.stringify(p); }), bad("the offset -5"), co2Spec);
onnxCase("rnnc-metadata-init-missing", metaEdit((p) => { const k = Object.keys(p)[0]; p[k].init = "nowhere"; return JSON.stringify(p); }), bad("the initializer nowhere of"), co2Spec);
onnxCase("rnnc-metadata-proto", metaEdit((p) => JSON.stringify({ ...p, ["__proto__"]: { init: "x" } })), { exit: 0 }, co2Spec);

// ── rnnc weights files and checkpoints ───────────────────────────────────────────────────────────────────────────
const elman = ["run", "{root}/stdlib/elman.rnn", "--dims", "I=3,H=4", "--input", `{c}/${write("weights/input.json", JSON.stringify({ x: [[[0.5, -1, 0.25], [0, 0.75, -0.5]]] }))}`];
execFileSync(process.execPath, [join(root, "dist", "cli", "main.js"), "init", join(root, "stdlib", "elman.rnn"), "--dims", "I=3,H=4", "-o", join(out, "weights", "good.json")], { stdio: "ignore" });
const good = JSON.parse(readFileSync(join(out, "weights", "good.json"), "utf8"));
const wCase = (name, text, expect, extra = []) => add({ class: "weights", name, args: [...elman, "--weights", `{c}/${write(`weights/${name}.json`, typeof text === "string" ? text : JSON.stringify(text))}`, ...extra], ...expect });
const we = (f) => { const w = structuredClone(good); f(w); return w; };
wCase("valid", good, { exit: 0 });
wCase("not-json", "{\"format\": ", bad("its JSON does not parse"));
wCase("top-level-array", "[]", bad("the top level is not an object"));
const deepArray = `${"[".repeat(100000)}${"]".repeat(100000)}`;
wCase("deep-in-data", JSON.stringify(we((w) => { w.params.b_h.data.unshift("DEEP"); })).replace('"DEEP"', deepArray), bad("has shape [4] (4 values) but 5 values"));
wCase("deep-value", JSON.stringify(we((w) => { w.params.b_h.data[0] = "DEEP"; })).replace('"DEEP"', deepArray), bad('param "b_h" has a value that is not a number at index 0: a list'));
wCase("nan-string", we((w) => { w.params.b_h.data[2] = "NaN"; }), { exit: 1, code: "RNN0608", match: 'param "b_h" holds NaN at index 2' });
wCase("nan-string-allowed", we((w) => { w.params.b_h.data[2] = "NaN"; }), { exit: 0 }, ["--allow-nonfinite"]);
wCase("null-value", we((w) => { w.params.b_h.data[1] = null; }), bad('has a value that is not a number at index 1: null'));
wCase("shape-huge", we((w) => { w.params.b_h.shape = [1e9, 1e9]; }), bad("but 4 values"));
wCase("proto-param", JSON.stringify(good).replace('"params":{', '"params":{"__proto__":{"shape":[1],"data":[0]},'), { exit: 1, code: "RNN0602", match: "`__proto__` is not a param" });
wCase("format-other", we((w) => { w.format = "keras"; }), bad('"format" is "keras"'));
mkdirSync(join(out, "checkpoints"), { recursive: true });
execFileSync(process.execPath, [join(root, "dist", "cli", "main.js"), "init", join(root, "examples", "name-gender", "name-gender.rnn"), "-o", join(out, "checkpoints", "ng.json")], { stdio: "ignore" });
const ngWeights = JSON.parse(readFileSync(join(out, "checkpoints", "ng.json"), "utf8"));
rmSync(join(out, "checkpoints", "ng.json"));
const ck = (name, training, expect = { exit: 1, code: "RNN0604", match: "" }) => add({ class: "checkpoints", name, args: ["train", "{root}/examples/name-gender/name-gender.rnn", "--data", "{root}/examples/name-gender/data.mjs", "--output", "probs", "--loss", "crossentropy", "--epochs", "2", "--limit", "32", "--resume", "-o", `{tmp}/${name}.json`], setup: [{ copy: write(`checkpoints/${name}.json`, JSON.stringify({ ...ngWeights, training })), to: `{tmp}/${name}.json` }], ...expect });
ck("valid", { epoch: 1, history: { train: [0.7], test: [0.7], metric: [0.5], metricName: "accuracy" } }, { exit: 0 });
ck("epoch-negative", { epoch: -1, history: { train: [], test: [], metric: [], metricName: "accuracy" } });
ck("history-null", { epoch: 2, history: { train: [1, null], test: [1, 1], metric: [0, 0], metricName: "accuracy" } });
ck("history-short", { epoch: 3, history: { train: [1], test: [1], metric: [0], metricName: "accuracy" } });
ck("optimizer-data-nan-string", { epoch: 1, history: { train: [1], test: [1], metric: [0], metricName: "accuracy" }, optimizer: { name: "adam", weights: [{ name: "x", shape: [1], data: ["NaN"] }] } });

// ── data modules (rnnc train --data) ───────────────────────────────────────────────────────────────────────────────
const seqSpec = write("data/seq.rnn", "import { Elman } from \"std\"\nmodel M {\n  input x: [T, 2]\n  layer r = Elman<2, 2>\n  output y = scan(r, x)\n}\n");
const dataCase = (name, source, expect) => add({ class: "data", name, args: ["train", `{c}/${seqSpec}`, "--data", `{c}/${write(`data/${name}.mjs`, source)}`, "--output", "y", "--loss", "mse", "--epochs", "1", "-o", "{tmp}/w.json"], ...expect });
const ex = "const e = (x, t) => ({ inputs: { x }, target: t });";
dataCase("valid", `${ex}\nexport function load() { return { train: [e([[0.1, 0.2]], [[0.5, 0.5]])], test: [e([[0.3, 0.4]], [[0.1, 0.1]])] }; }\n`, { exit: 0 });
dataCase("load-throws", "export function load() { throw new Error(\"no data here\"); }\n", { exit: 1, code: "RNN0610", match: "load() threw: no data here" });
dataCase("load-rejects", "export async function load() { throw new TypeError(\"bad option\"); }\n", { exit: 1, code: "RNN0610", match: "load() threw: TypeError: bad option" });
dataCase("syntax-error", "export function load( {\n", { exit: 1, code: "RNN0610", match: "cannot be loaded: SyntaxError" });
dataCase("not-examples", "export function load() { return { train: 5, test: [] }; }\n", { exit: 1, code: "RNN0610", match: "" });
dataCase("no-load", "export const x = 1;\n", { exit: 2, match: "exports no load() function" });
dataCase("nan-input", `${ex}\nexport function load() { return { train: [e([[NaN, 0.2]], [[0.5, 0.5]])], test: [e([[0.3, 0.4]], [[0.1, 0.1]])] }; }\n`, { exit: 1, code: "RNN0605", match: "not a finite number" });
dataCase("ragged-input", `${ex}\nexport function load() { return { train: [e([[0.1, 0.2], [0.3]], [[0.5, 0.5], [0, 0]])], test: [e([[0.3, 0.4]], [[0.1, 0.1]])] }; }\n`, { exit: 1, code: "RNN0605", match: 'example 0 of the training split has input "x" at step 1 that has 1 value where the model takes 2' });
dataCase("deep-input", `${ex}\nlet d = 0; for (let i = 0; i < 100000; i++) d = [d];\nexport function load() { return { train: [e([[0.1, d]], [[0.5, 0.5]])], test: [e([[0.3, 0.4]], [[0.1, 0.1]])] }; }\n`, { exit: 1, code: "RNN0605", match: "value [1], that is a list, not a number" });
dataCase("batch-of-130000", `${ex}\nconst one = e([[0.1, 0.2]], [[0.5, 0.5]]);\nexport function load() { return { train: Array.from({ length: 130000 }, () => one), test: [one] }; }\n`, { exit: 0, memoryMB: 900 });

// ── standard input (rnnc run --input -) ────────────────────────────────────────────────────────────────────────────
const stdinCase = (name, stdin, expect) => add({ class: "stdin", name, args: ["run", "{root}/stdlib/elman.rnn", "--dims", "I=3,H=4", "--input", "-"], stdin: stdin === "endless" ? "endless" : write(`stdin/${name}.txt`, stdin), ...expect });
stdinCase("valid", JSON.stringify({ x: [[[1, 2, 3]]] }), { exit: 0 });
stdinCase("endless", "endless", { exit: 1, code: "RNN0605", match: "standard input holds more than 64 MiB" });
stdinCase("not-utf8", Buffer.from([0x7b, 0xff, 0x7d]), { exit: 1, code: "RNN0605", match: "not UTF-8" });
stdinCase("deep", `{"x": ${"[".repeat(100000)}${"]".repeat(100000)}}`, { exit: 1, code: "RNN0605", match: "more than 16 axes" });
stdinCase("array", "[1, 2, 3]", { exit: 1, code: "RNN0605", match: "must hold a JSON object" });
stdinCase("empty", "", { exit: 1, code: "RNN0605", match: "not valid JSON" });

// ── specs ─────────────────────────────────────────────────────────────────────────────────────────────────────────
const specCase = (name, text, expect) => add({ class: "specs", name, args: ["check", `{c}/${write(`specs/${name}.rnn`, text)}`], ...expect });
specCase("valid", "cell C<H> {\n  input x: [H]\n  output y = x * x\n}\n", { exit: 0 });
specCase("long-chain", `cell C<H> {\n  input x: [H]\n  output y = ${Array(100000).fill("x").join(" + ")}\n}\n`, { exit: 1, code: "RNN0110", match: "this expression is longer than 16,384 tokens", memoryMB: 400 });
specCase("long-chain-at-limit", `cell C<H> {\n  input x: [H]\n  output y = ${Array(8000).fill("x").join(" + ")}\n}\n`, { exit: 1, code: "RNN0107", match: "more than 256 levels" });
specCase("nested-parens", `cell C<H> {\n  input x: [H]\n  output y = ${"(".repeat(20000)}x${")".repeat(20000)}\n}\n`, { exit: 1, code: "RNN0106", match: "nest more than 64 deep" });
specCase("binary", Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 37) & 0xff)), { exit: 1, match: "" });
specCase("import-device", "import { X } from \"/dev/zero\"\ncell C<H> {\n  input x: [H]\n  output y = x\n}\n", { exit: 1, code: "RNN0206", match: "is not a .rnn module" });
specCase("over-limit", `// ${"x".repeat(1 << 21)}\n`, { exit: 1, code: "RNN0109", match: "" });

// ── language server sessions: frames sent to rnnc lsp --stdio, then shutdown and exit ─────────────────────────────
const frame = (o) => { const b = JSON.stringify({ jsonrpc: "2.0", ...o }); return `Content-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`; };
const session = (name, messages) => {
  const init = frame({ id: 1, method: "initialize", params: { processId: null, rootUri: null, capabilities: {} } }) + frame({ method: "initialized", params: {} });
  const end = frame({ id: 999, method: "shutdown" }) + frame({ method: "exit" });
  add({ class: "lsp", name, args: ["lsp", "--stdio"], stdin: write(`lsp/${name}.txt`, init + messages.map(frame).join("") + end), exit: 0, lsp: true });
};
const open = (uri, text = "cell C<H> {\n  input x: [H]\n  output y = x\n}\n") => ({ method: "textDocument/didOpen", params: { textDocument: { uri, languageId: "rnn", version: 1, text } } });
const hover = (id, uri) => ({ id, method: "textDocument/hover", params: { textDocument: { uri }, position: { line: 0, character: 6 } } });
session("uri-with-host", [open("file://host/share/a.rnn"), hover(2, "file://host/share/a.rnn")]);
session("uri-untitled", [open("untitled:Untitled-1"), hover(2, "untitled:Untitled-1")]);
session("uri-http", [open("http://example.com/a.rnn"), hover(2, "http://example.com/a.rnn")]);
session("uri-garbage", [open("::::not a uri"), hover(2, "::::not a uri")]);
session("uri-percent", [open("file:///tmp/%E0%A4%A.rnn"), hover(2, "file:///tmp/%E0%A4%A.rnn")]);
session("change-unopened", [{ method: "textDocument/didChange", params: { textDocument: { uri: "file:///nowhere.rnn", version: 2 }, contentChanges: [{ text: "x" }] } }, hover(2, "file:///nowhere.rnn")]);
session("close-twice", [open("file:///tmp/a.rnn"), { method: "textDocument/didClose", params: { textDocument: { uri: "file:///tmp/a.rnn" } } }, { method: "textDocument/didClose", params: { textDocument: { uri: "file:///tmp/a.rnn" } } }, hover(2, "file:///tmp/a.rnn")]);
session("params-missing", [{ id: 2, method: "textDocument/hover" }, { id: 3, method: "textDocument/completion", params: null }, { method: "textDocument/didOpen", params: {} }]);

writeFileSync(join(out, "cases.json"), JSON.stringify(cases, null, 1) + "\n");
console.log(`wrote ${cases.length} cases to ${out}`);
