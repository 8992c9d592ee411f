// tfjs-layers / Keras models saved by tfjs (model.json + weight shards) as the state dict PyTorch would have: each
// layer's kernels transposed and its gates put in PyTorch's order, so that one mapping (torch-import.ts) serves both.
import { RnncError } from "../diagnostics/errors.js";
import { transposed, type NamedTensor } from "./safetensors.js";
import { checkFinite, claimedElements, type ReadOptions } from "./bounds.js";
import { describe } from "../diagnostics/describe.js";

export interface LayerJson { class_name: string; config: Record<string, unknown> & { name: string } }

const bad = (source: string, why: string) => new RnncError("RNN0604", `${source} is not a tfjs-layers model rnnc can read: ${why}`, ["a tfjs-layers model is model.json (modelTopology, weightsManifest) with its weight files beside it, as tf.LayersModel.save writes them"]);
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** A model.json's topology and manifest, every field the importers read checked for its type. */
export interface TfjsModel {
  /** The topology's class (Sequential, Functional, …), when it says. */
  readonly className: string | undefined;
  readonly layers: readonly LayerJson[];
  readonly groups: readonly { paths: readonly string[]; weights: readonly { name: string; shape: readonly number[]; n: number }[] }[];
}

/** Parses and checks a model.json (no weight file is read). */
export function parseTfjsModel(modelJson: string, source: string): TfjsModel {
  let m: unknown;
  try {
    m = JSON.parse(modelJson);
  } catch (e) {
    throw bad(source, `its JSON does not parse (${(e as Error).message})`);
  }
  if (!isObject(m)) throw bad(source, "its top level is not an object");
  const topology = isObject(m["modelTopology"]) ? m["modelTopology"] : undefined;
  const inner = topology && isObject(topology["model_config"]) ? topology["model_config"] : topology;
  const cfg = inner?.["config"];
  const layers: unknown = Array.isArray(cfg) ? cfg : isObject(cfg) ? cfg["layers"] : undefined;
  if (!Array.isArray(layers) || !Array.isArray(m["weightsManifest"])) throw bad(source, "it has no layers or no weightsManifest");
  layers.forEach((l, k) => {
    if (!isObject(l) || typeof l["class_name"] !== "string" || !isObject(l["config"]) || typeof l["config"]["name"] !== "string") throw bad(source, `layer ${k} is not an object with a "class_name" and a "config" with a "name"`);
  });
  const groups = (m["weightsManifest"] as unknown[]).map((g, k) => {
    if (!isObject(g) || !Array.isArray(g["paths"]) || !g["paths"].every((p) => typeof p === "string") || !Array.isArray(g["weights"])) throw bad(source, `weightsManifest[${k}] is not an object with a list of "paths" and a list of "weights"`);
    const weights = (g["weights"] as unknown[]).map((w, j) => {
      if (!isObject(w) || typeof w["name"] !== "string") throw bad(source, `weightsManifest[${k}].weights[${j}] is not an object with a "name"`);
      const name = w["name"];
      if (w["dtype"] !== "float32" || w["quantization"] !== undefined) throw bad(source, `weight ${name} is ${w["quantization"] !== undefined ? "quantized" : describe(w["dtype"])}; rnnc reads float32 weights`);
      const n = claimedElements(w["shape"], `weight ${name}`, (why) => bad(source, why));
      return { name, shape: w["shape"] as number[], n };
    });
    return { paths: g["paths"] as string[], weights };
  });
  const className = inner?.["class_name"];
  return { className: typeof className === "string" ? className : undefined, layers: layers as LayerJson[], groups };
}

/**
 * `readShard(path)` gives the bytes of a weight file named in the manifest (relative to model.json; the CLI reads it
 * confined to the model's folder). Each group's files are read only after its weights' claimed sizes are summed, and
 * must hold exactly those bytes.
 */
export function readTfjsLayers(modelJson: string, readShard: (path: string) => Uint8Array, source: string, opts: ReadOptions = {}): Map<string, NamedTensor> {
  const { layers, groups } = parseTfjsModel(modelJson, source);
  // Every weight, in manifest order, cut from its group's concatenated files.
  const weights = new Map<string, NamedTensor>();
  for (const group of groups) {
    const need = group.weights.reduce((a, w) => a + 4 * w.n, 0);
    const parts: Uint8Array[] = [];
    let have = 0;
    for (const p of group.paths) {
      const bytes = readShard(p);
      have += bytes.length;
      if (have > need) throw bad(source, `its weight files hold more than the ${need.toLocaleString("en-US")} bytes its weights take (at '${p}')`);
      parts.push(bytes);
    }
    if (have < need) throw bad(source, `its weights take ${need.toLocaleString("en-US")} bytes and their files hold ${have.toLocaleString("en-US")}`);
    let part = 0, at = 0;
    /** The next `count` bytes across the group's files, in order. */
    const take = (count: number): Uint8Array => {
      while (part < parts.length && at === parts[part]!.length) { part++; at = 0; }
      const p = parts[part];
      if (p && at + count <= p.length) { at += count; return p.subarray(at - count, at); }
      const out = new Uint8Array(count);
      for (let filled = 0; filled < count;) {
        const q = parts[part]!, k = Math.min(count - filled, q.length - at);
        out.set(q.subarray(at, at + k), filled);
        filled += k; at += k;
        if (at === q.length) { part++; at = 0; }
      }
      return out;
    };
    for (const w of group.weights) {
      const raw = take(4 * w.n);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const data = new Float32Array(w.n);
      for (let i = 0; i < w.n; i++) data[i] = view.getFloat32(4 * i, true);
      checkFinite(data, `weight ${w.name}`, source, opts);
      if (!weights.has(w.name)) weights.set(w.name, { shape: w.shape, data });
    }
  }
  // A layer's weight `layer/w` is named so, or with scopes before it (`model/layer/w`): looked up by its last two parts.
  const byLastTwo = new Map<string, NamedTensor>();
  const owners = new Set<string>();
  for (const [k, t] of weights) {
    const parts = k.split("/");
    const key = parts.slice(-2).join("/");
    if (parts.length >= 2 && !byLastTwo.has(key)) byLastTwo.set(key, t);
    if (parts.length >= 2) owners.add(parts[0]!);
  }
  const out = new Map<string, NamedTensor>();
  const get = (layer: string, w: string, rank: number) => {
    const t = byLastTwo.get(`${layer}/${w}`);
    if (!t) throw bad(source, `layer ${layer} has no weight ${w}`);
    if (t.shape.length !== rank) throw bad(source, `weight ${layer}/${w} has the shape [${t.shape.join(", ")}]; a ${rank}-axis tensor was expected`);
    return t;
  };
  for (const l of layers) {
    const c = l.config, name = c.name;
    const act = (key: string, want: string) => {
      const v = String(c[key] ?? want);
      if (v !== want) throw new RnncError("RNN0603", `${source}: layer ${name} (${l.class_name}) uses ${key} = ${v}; the stdlib cells use ${want}`, [], `save the model with ${key}: "${want}"`);
    };
    switch (l.class_name) {
      case "Dense": {
        const k = get(name, "kernel", 2), b = get(name, "bias", 1);
        if (b.shape[0] !== k.shape[1]) throw bad(source, `layer ${name}'s bias has ${b.shape[0]} values for a kernel of ${k.shape[1]} columns`);
        out.set(`${name}.weight`, transposed(k));
        out.set(`${name}.bias`, b);
        break;
      }
      case "Embedding":
        out.set(`${name}.weight`, get(name, "embeddings", 2));
        break;
      case "LSTM": case "GRU": case "SimpleRNN": {
        act("activation", "tanh");
        if (l.class_name !== "SimpleRNN") act("recurrent_activation", "sigmoid");
        const resetAfter = l.class_name === "GRU" && c["reset_after"] === true;
        const k = get(name, "kernel", 2), r = get(name, "recurrent_kernel", 2), b = get(name, "bias", resetAfter ? 2 : 1);
        // Keras gates: LSTM i f c o (PyTorch's i f g o); GRU z r h (PyTorch's r z n).
        const order = l.class_name === "GRU" ? [1, 0, 2] : l.class_name === "LSTM" ? [0, 1, 2, 3] : [0];
        const H = r.shape[0]!, GH = order.length * H;
        const fits = H > 0 && r.shape[1] === GH && k.shape[1] === GH && (resetAfter ? b.shape[0] === 2 && b.shape[1] === GH : b.shape[0] === GH);
        if (!fits) throw bad(source, `layer ${name} (${l.class_name}) has a kernel [${k.shape.join(", ")}], a recurrent kernel [${r.shape.join(", ")}] and a bias [${b.shape.join(", ")}], which do not fit together (the recurrent kernel is [H, ${order.length}·H])`);
        out.set(`${name}.weight_ih_l0`, transposed(gatesReordered(k, H, order)));
        out.set(`${name}.weight_hh_l0`, transposed(gatesReordered(r, H, order)));
        if (resetAfter) {
          out.set(`${name}.bias_ih_l0`, gatesReordered({ shape: [1, 3 * H], data: b.data.subarray(0, 3 * H) }, H, order));
          out.set(`${name}.bias_hh_l0`, gatesReordered({ shape: [1, 3 * H], data: b.data.subarray(3 * H) }, H, order));
        } else {
          out.set(`${name}.bias_ih_l0`, gatesReordered({ shape: [1, b.data.length], data: b.data }, H, order));
          if (l.class_name === "GRU") out.set(`${name}.reset_before_l0`, { shape: [0], data: new Float32Array(0) });
        }
        break;
      }
      case "InputLayer": case "Dropout": case "Activation": case "Flatten": break;
      default:
        if (owners.has(name)) throw bad(source, `layer ${name} is a ${l.class_name}, which rnnc does not import`);
    }
  }
  return out;
}

/** A [rows, G·H] matrix with its column blocks of H in another order (the flattened result has the same shape). */
function gatesReordered(t: NamedTensor, H: number, order: readonly number[]): NamedTensor {
  const rows = t.shape.length === 2 ? t.shape[0]! : 1, cols = t.data.length / rows;
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < rows; i++) order.forEach((src, dst) => out.set(t.data.subarray(i * cols + src * H, i * cols + (src + 1) * H), i * cols + dst * H));
  return { shape: t.shape.length === 2 ? t.shape : [t.data.length], data: out };
}
