// A .rnn spec for a tfjs-layers (Keras) Sequential model: its layers in order, sizes from the weights it holds
// (spec-writer.ts writes them as one model).
import type { NamedTensor } from "./safetensors.js";
import { cannotWrite, layerName, writeSpec, type DerivedSpec, type Step } from "./spec-writer.js";
import { parseTfjsModel } from "./tfjs-import.js";

const activations: Record<string, string | undefined> = { linear: undefined, softmax: "softmax", sigmoid: "sigmoid", tanh: "tanh", relu: "relu" };

/** `tensors` are the model's weights as readTfjsLayers gives them (a PyTorch-style state dict). */
export function specFromTfjs(modelJson: string, tensors: ReadonlyMap<string, NamedTensor>, source: string): DerivedSpec {
  const cannot = (why: string) => cannotWrite(source, why,
    "a spec is written for a Sequential model of Embedding, LSTM, GRU, SimpleRNN (forwards), Dense and Dropout layers");
  const { className, layers } = parseTfjsModel(modelJson, source);
  if (className !== undefined && className !== "Sequential") throw cannot(`it is a ${className} model, not a Sequential one`);
  /** A weight's shape (readTfjsLayers has checked each layer's weights' ranks and sizes). */
  const shape = (key: string) => {
    const s = tensors.get(key)?.shape;
    if (!s) throw cannot(`layer ${key.split(".")[0]} has no weights`);
    return s;
  };
  const used = new Set<string>();
  const steps: Step[] = [];
  let tokens = false;
  for (const l of layers) {
    const c = l.config;
    const name = layerName(c.name, l.class_name.toLowerCase(), used);
    switch (l.class_name) {
      case "InputLayer": case "Dropout": break;
      case "Embedding": {
        const [V, E] = shape(`${c.name}.weight`) as [number, number];
        if (steps.length) throw cannot(`Embedding ${c.name} is not the first layer`);
        tokens = true;
        steps.push({ layer: { kind: "Embedding", name, unit: c.name, V, E } });
        break;
      }
      case "LSTM": case "GRU": case "SimpleRNN": {
        if (c["go_backwards"] === true) throw cannot(`${c.name} runs backwards (its outputs come in reverse order)`);
        const [GH, I] = shape(`${c.name}.weight_ih_l0`) as [number, number];
        const G = l.class_name === "LSTM" ? 4 : l.class_name === "GRU" ? 3 : 1;
        const kind = l.class_name === "LSTM" ? "LSTM" : l.class_name === "GRU" ? (c["reset_after"] === true ? "GRU" : "GRUResetBefore") : "Elman";
        const act = l.class_name === "SimpleRNN" ? String(c["activation"] ?? "tanh") : undefined;
        if (act !== undefined && !["tanh", "relu", "sigmoid"].includes(act)) throw cannot(`SimpleRNN ${c.name} uses activation ${act}`);
        steps.push({ layer: { kind, name, unit: c.name, I, H: GH / G, direction: "forward", ...(act ? { act } : {}) } });
        if (c["return_sequences"] !== true) steps.push({ last: true });
        break;
      }
      case "Dense": {
        const [O, I] = shape(`${c.name}.weight`) as [number, number];
        const act = String(c["activation"] ?? "linear");
        if (!(act in activations)) throw cannot(`Dense ${c.name} uses activation ${act}`);
        steps.push({ layer: { kind: "Dense", name, unit: c.name, I, O, ...(activations[act] ? { act: activations[act] } : {}) } });
        break;
      }
      default: throw cannot(`layer ${c.name} is a ${l.class_name}`);
    }
  }
  return writeSpec(steps, tokens, source, cannot, "its layers");
}
