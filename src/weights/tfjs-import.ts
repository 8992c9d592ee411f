// tfjs-layers / Keras models saved by tfjs (model.json + weight shards) as the state dict PyTorch would have: each
// layer's kernels transposed and its gates put in PyTorch's order, so that one mapping (torch-import.ts) serves both.
import { RnncError } from "../diagnostics/errors.js";
import { transposed, type NamedTensor } from "./safetensors.js";

interface LayerJson { class_name: string; config: Record<string, unknown> & { name: string } }
interface ModelJson { modelTopology?: { config?: { layers?: LayerJson[] } | LayerJson[]; model_config?: { config?: { layers?: LayerJson[] } } }; weightsManifest?: { paths: string[]; weights: { name: string; shape: number[]; dtype: string; quantization?: unknown }[] }[] }

const bad = (source: string, why: string) => new RnncError("RNN0604", `${source} is not a tfjs-layers model rnnc can read: ${why}`, ["a tfjs-layers model is model.json (modelTopology, weightsManifest) with its weight files beside it, as tf.LayersModel.save writes them"]);

/** `readShard(path)` gives the bytes of a weight file named in the manifest (relative to model.json). */
export function readTfjsLayers(modelJson: string, readShard: (path: string) => Uint8Array, source: string): Map<string, NamedTensor> {
  let m: ModelJson;
  try {
    m = JSON.parse(modelJson) as ModelJson;
  } catch (e) {
    throw bad(source, `its JSON does not parse (${(e as Error).message})`);
  }
  const topo = m.modelTopology?.model_config?.config ?? m.modelTopology?.config;
  const layers = Array.isArray(topo) ? topo : topo?.layers;
  if (!Array.isArray(layers) || !m.weightsManifest) throw bad(source, "it has no layers or no weightsManifest");
  // Every weight, in manifest order, cut from its group's concatenated files.
  const weights = new Map<string, NamedTensor>();
  for (const group of m.weightsManifest) {
    const parts = group.paths.map(readShard);
    const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) { all.set(p, at); at += p.length; }
    let offset = 0;
    for (const w of group.weights) {
      if (w.dtype !== "float32" || w.quantization) throw bad(source, `weight ${w.name} is ${w.quantization ? "quantized" : w.dtype}; rnnc reads float32 weights`);
      const n = w.shape.reduce((a, b) => a * b, 1);
      if (offset + 4 * n > all.length) throw bad(source, `weight ${w.name} runs past the end of its weight files`);
      const view = new DataView(all.buffer, all.byteOffset + offset, 4 * n);
      weights.set(w.name, { shape: w.shape, data: Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i, true)) });
      offset += 4 * n;
    }
  }
  const out = new Map<string, NamedTensor>();
  const get = (layer: string, w: string) => {
    const t = [...weights].find(([k]) => k === `${layer}/${w}` || k.endsWith(`/${layer}/${w}`))?.[1];
    if (!t) throw bad(source, `layer ${layer} has no weight ${w}`);
    return t;
  };
  for (const l of layers) {
    const c = l.config, name = c.name;
    const act = (key: string, want: string) => {
      const v = String(c[key] ?? want);
      if (v !== want) throw new RnncError("RNN0603", `${source}: layer ${name} (${l.class_name}) uses ${key} = ${v}; the stdlib cells use ${want}`, [], `save the model with ${key}: "${want}"`);
    };
    switch (l.class_name) {
      case "Dense":
        out.set(`${name}.weight`, transposed(get(name, "kernel")));
        out.set(`${name}.bias`, get(name, "bias"));
        break;
      case "Embedding":
        out.set(`${name}.weight`, get(name, "embeddings"));
        break;
      case "LSTM": case "GRU": case "SimpleRNN": {
        act("activation", "tanh");
        if (l.class_name !== "SimpleRNN") act("recurrent_activation", "sigmoid");
        const k = get(name, "kernel"), r = get(name, "recurrent_kernel"), b = get(name, "bias");
        // Keras gates: LSTM i f c o (PyTorch's i f g o); GRU z r h (PyTorch's r z n).
        const order = l.class_name === "GRU" ? [1, 0, 2] : l.class_name === "LSTM" ? [0, 1, 2, 3] : [0];
        const H = r.shape[0]!;
        out.set(`${name}.weight_ih_l0`, transposed(gatesReordered(k, H, order)));
        out.set(`${name}.weight_hh_l0`, transposed(gatesReordered(r, H, order)));
        const resetAfter = l.class_name === "GRU" && c["reset_after"] === true;
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
        if ([...weights.keys()].some((k) => k.startsWith(`${name}/`))) throw bad(source, `layer ${name} is a ${l.class_name}, which rnnc does not import`);
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
