// A .rnn spec for an ONNX model from another exporter: the layers on its data path (embedding, recurrent ops, dense
// layers and their activations), in order (spec-writer.ts writes them as one model).
import { unitKeyOf, type NodeJson, type TensorJson } from "./onnx-import.js";
import { dimsOf } from "./onnx-tensors.js";
import { cannotWrite, layerName, writeSpec, type DerivedSpec, type Step } from "./spec-writer.js";

const cannot = (source: string, why: string) => cannotWrite(source, why,
  "a spec is written for a chain of layers from one input: Gather (embedding), LSTM, GRU, RNN, Gemm or MatMul+Add (dense) with Softmax, Sigmoid, Tanh or Relu after it, and the last step of a sequence (Gather of index -1)");

/** Ops that only move data around between layers (layouts, casts, dropout at inference). */
const plumbing = new Set(["Transpose", "Squeeze", "Unsqueeze", "Reshape", "Identity", "Cast", "Flatten", "Dropout"]);
const activations: Record<string, string> = { Softmax: "softmax", Sigmoid: "sigmoid", Tanh: "tanh", Relu: "relu" };
const rnnActs: Record<string, string> = { Tanh: "tanh", Relu: "relu", Sigmoid: "sigmoid" };

/** `model` is the decoded ModelProto. */
export function specFromOnnx(model: Record<string, unknown>, source: string): DerivedSpec {
  const graph = model["graph"] as { node?: NodeJson[]; initializer?: TensorJson[]; input?: { name: string; type?: { tensor_type?: { elem_type?: number } } }[]; output?: { name: string }[] } | undefined;
  const nodes = graph?.node ?? [];
  const inits = new Map((graph?.initializer ?? []).map((t) => [t.name, t]));
  const inputs = (graph?.input ?? []).filter((i) => !inits.has(i.name));
  if (inputs.length !== 1) throw cannot(source, `it has ${inputs.length} inputs (${inputs.map((i) => i.name).join(", ") || "none"}); rnnc writes a spec for one`);
  const outputs = new Set((graph?.output ?? []).map((o) => o.name));
  /** An initializer's dims (none for a name that is not one), each a whole number ≥ 1 or the shape is refused. */
  const dims = (name: string) => {
    const t = inits.get(name);
    if (t) dimsOf(t, source); // a claim past what a tensor holds is RNN0606, as wherever weights are read
    const d = (t?.dims ?? []).map(Number);
    if (d.some((x) => !Number.isInteger(x) || x < 1 || x > 2 ** 26)) throw cannot(source, `initializer ${name} has dims [${d.join(", ")}]`);
    return d;
  };
  const constantOf = (name: string): number | undefined => {
    const init = inits.get(name);
    const node = nodes.find((n) => n.op_type === "Constant" && n.output?.[0] === name);
    const t = init ?? (node?.attribute?.find((a) => a.name === "value") as { t?: TensorJson } | undefined)?.t;
    if (!t || (t.dims ?? []).reduce((a, b) => a * Number(b), 1) !== 1) return undefined;
    if (t.int64_data?.length) return Number(t.int64_data[0]);
    if (t.raw_data?.length === 8) return Number(new DataView(t.raw_data.buffer, t.raw_data.byteOffset, 8).getBigInt64(0, true));
    if (t.raw_data?.length === 4) return new DataView(t.raw_data.buffer, t.raw_data.byteOffset, 4).getInt32(0, true);
    return undefined;
  };
  const tokens = [6, 7].includes(inputs[0]!.type?.tensor_type?.elem_type ?? 1);
  const used = new Set<string>();
  const nameOf = (n: NodeJson, fallback: string): string => layerName((n.name ?? "").split("/").filter(Boolean)[0] ?? "", fallback, used);

  const steps: Step[] = [];
  let current = inputs[0]!.name;
  for (let guard = 0; ; guard++) {
    if (guard > nodes.length) throw cannot(source, "its data path runs in a cycle");
    const readers = nodes.filter((n) => n.op_type !== "Shape" && n.input?.includes(current));
    if (!readers.length) {
      if (!outputs.has(current)) throw cannot(source, `${current} leads nowhere`);
      break;
    }
    if (readers.length > 1) throw cannot(source, `${current} is read by ${readers.length} nodes (${readers.map((r) => r.name || r.op_type).join(", ")}): the graph branches`);
    const n = readers[0]!;
    const k = nodes.indexOf(n);
    const ins = n.input ?? [];
    const out = n.output?.[0] ?? "";
    const attr = (a: string) => n.attribute?.find((x) => x.name === a);
    if (plumbing.has(n.op_type)) {
      current = out;
    } else if (n.op_type === "Gather" && ins[1] === current && dims(ins[0]!).length === 2) {
      const [V, E] = dims(ins[0]!) as [number, number];
      steps.push({ layer: { kind: "Embedding", name: nameOf(n, "embed"), unit: unitKeyOf(n, k), V, E } });
      current = out;
    } else if (n.op_type === "Gather" && ins[0] === current && constantOf(ins[1]!) === -1) {
      steps.push({ last: true });
      current = out;
    } else if ((n.op_type === "LSTM" || n.op_type === "GRU" || n.op_type === "RNN") && ins[0] === current && dims(ins[1]!).length === 3 && dims(ins[2]!).length === 3
      && [...dims(ins[1]!), ...dims(ins[2]!)].every((d) => Number.isInteger(d) && d >= 1)) {
      const [, , I] = dims(ins[1]!) as [number, number, number];
      const H = Number(attr("hidden_size")?.i ?? dims(ins[2]!)[2]);
      const kind = n.op_type === "LSTM" ? "LSTM" : n.op_type === "GRU" ? (attr("linear_before_reset")?.i ? "GRU" : "GRUResetBefore") : "Elman";
      const direction = attr("direction")?.s ? new TextDecoder().decode(attr("direction")!.s) : "forward";
      const acts = (attr("activations") as { strings?: Uint8Array[] } | undefined)?.strings?.map((s) => new TextDecoder().decode(s));
      if (n.op_type === "RNN" && acts && !rnnActs[acts[0]!]) throw cannot(source, `RNN node ${n.name} uses ${acts[0]}`);
      if (n.op_type !== "RNN" && acts && acts.some((a, i) => a !== ["Sigmoid", "Tanh", "Tanh"][i % 3])) throw cannot(source, `${n.op_type} node ${n.name} uses activations ${acts.join(", ")}; the stdlib cells use Sigmoid, Tanh, Tanh`);
      if (ins.slice(5).some((i) => i && !nodes.some((p) => p.output?.includes(i)) && !inits.has(i))) throw cannot(source, `${n.op_type} node ${n.name} takes its initial states from a graph input`);
      steps.push({ layer: { kind, name: nameOf(n, kind.toLowerCase()), unit: unitKeyOf(n, k), I, H, direction, ...(n.op_type === "RNN" && acts ? { act: rnnActs[acts[0]!]! } : {}) } });
      current = n.output?.[0] ?? "";
    } else if (n.op_type === "Gemm" && ins[0] === current && dims(ins[1]!).length === 2) {
      const [a, b] = dims(ins[1]!) as [number, number];
      const [O, I] = attr("transB")?.i ? [a, b] : [b, a];
      steps.push({ layer: { kind: "Dense", name: nameOf(n, "dense"), unit: unitKeyOf(n, k), I, O } });
      current = out;
    } else if (n.op_type === "MatMul" && ins[0] === current && dims(ins[1]!).length === 2) {
      const [I, O] = dims(ins[1]!) as [number, number];
      steps.push({ layer: { kind: "Dense", name: nameOf(n, "dense"), unit: unitKeyOf(n, k), I, O } });
      const add = nodes.filter((x) => x.input?.includes(out));
      current = add.length === 1 && add[0]!.op_type === "Add" && add[0]!.input!.some((i) => dims(i).length === 1) ? add[0]!.output![0]! : out;
    } else if (activations[n.op_type]) {
      const prev = steps[steps.length - 1];
      if (!prev || !("layer" in prev) || prev.layer.kind !== "Dense" || prev.layer.act) throw cannot(source, `${n.op_type} node ${n.name || k} does not follow a dense layer`);
      const axis = attr("axis")?.i;
      if (n.op_type === "Softmax" && axis !== undefined && axis !== -1 && axis !== 1) throw cannot(source, `Softmax node ${n.name} is over axis ${axis}, not the last`);
      prev.layer.act = activations[n.op_type];
      current = out;
    } else throw cannot(source, `node ${n.name || k} (${n.op_type}) is not a layer rnnc knows`);
  }
  return writeSpec(steps, tokens, source, (why) => cannot(source, why));
}

