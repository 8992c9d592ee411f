// A .rnn spec for an ONNX model from another exporter: the values its graph computes from its input, followed node by
// node (embeddings, recurrent ops with every output, direction, layout, peepholes, initial states, activations and clip,
// in cells of the spec's own where the stdlib's do not compute them (onnx-cells.ts), dense layers and their
// activations, the last step), and every graph output named as the model's output (spec-writer.ts writes it).
import { unitKeyOf, type NodeJson, type TensorJson } from "./onnx-import.js";
import { dimsOf, initializerFloats } from "./onnx-tensors.js";
import { activationsWithParams, gruCell, lstmCell, rnnCell, unwritable } from "./onnx-cells.js";
import { cannotWrite, layerName, writeModel, type DerivedSpec, type Layer } from "./spec-writer.js";

const cannot = (source: string, why: string) => cannotWrite(source, why,
  "a spec is written for graphs of Gather (embedding), LSTM, GRU, RNN (any direction and layout, their outputs Y, Y_h and Y_c, initial states and sequence_lens as graph inputs, peepholes, clip and every activation but ThresholdedRelu), Gemm or MatMul+Add (dense) with Softmax, Sigmoid, Tanh or Relu after it, and the last step of a sequence (Gather of index -1)");

/** Ops that only move data around between layers (layouts, casts, dropout at inference). */
const plumbing = new Set(["Transpose", "Squeeze", "Unsqueeze", "Reshape", "Identity", "Cast", "Flatten", "Dropout"]);
/** Ops whose output is zeros where their first input is. */
const zeroKeeping = new Set([...plumbing, "Expand", "Tile"]);
const activations: Record<string, string> = { Softmax: "softmax", Sigmoid: "sigmoid", Tanh: "tanh", Relu: "relu" };
/** ONNX's activation functions for an RNN op that rnnc's functions compute (HardSigmoid and Elu at their default alpha and beta). */
const rnnActs: Record<string, { readonly name: string; readonly alpha?: number; readonly beta?: number }> = {
  Tanh: { name: "tanh" }, Relu: { name: "relu" }, Sigmoid: { name: "sigmoid" }, Softsign: { name: "softsign" }, Softplus: { name: "softplus" },
  HardSigmoid: { name: "hard_sigmoid", alpha: 0.2, beta: 0.5 }, Elu: { name: "elu", alpha: 1 },
};
/** The activations of the stdlib cells, per direction: LSTM f, g, h; GRU f, g. */
const cellActs: Record<string, readonly string[]> = { LSTM: ["Sigmoid", "Tanh", "Tanh"], GRU: ["Sigmoid", "Tanh"], RNN: ["Tanh"] };

type Graph = { node?: NodeJson[]; initializer?: TensorJson[]; input?: { name: string; type?: { tensor_type?: { elem_type?: number } } }[]; output?: { name: string }[] };
type Attr = NonNullable<NodeJson["attribute"]>[number] & { f?: number; floats?: number[]; strings?: Uint8Array[] };
/** A value the model computes: its expression, whether it is a sequence, and for a recurrent op's Y_h or Y_c its directions. */
interface Value { readonly expr: string; readonly seq: boolean; readonly width?: number; readonly directions?: number; readonly dense?: Layer & { kind: "Dense" } }

/** `model` is the decoded ModelProto. */
export function specFromOnnx(model: Record<string, unknown>, source: string): DerivedSpec {
  const graph = model["graph"] as Graph | undefined;
  const nodes = graph?.node ?? [];
  const inits = new Map((graph?.initializer ?? []).map((t) => [t.name, t]));
  const graphInputs = (graph?.input ?? []).filter((i) => !inits.has(i.name));
  const decode = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);
  /** An initializer's dims (none for a name that is not one), each a whole number ≥ 1 or the shape is refused. */
  const dims = (name: string | undefined) => {
    const t = name ? inits.get(name) : undefined;
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
  // Who reads each value (shape arithmetic aside), found once: a graph of many nodes is walked in linear time.
  const consumers = new Map<string, NodeJson[]>();
  for (const n of nodes) if (n.op_type !== "Shape") for (const i of new Set(n.input ?? [])) (consumers.get(i) ?? consumers.set(i, []).get(i)!).push(n);
  const readers = (name: string): readonly NodeJson[] => consumers.get(name) ?? [];
  const producer = new Map(nodes.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
  /** Whether a value is zeros whatever the input: an initializer or Constant of zeros, ConstantOfShape of 0, or one moved around or broadcast (PyTorch exports its zero h0 as Expand(Constant 0, shape)). */
  const isZero = (name: string, depth = 0): boolean => {
    const t = inits.get(name);
    if (t) return !initializerFloats(t, source).some((z) => z !== 0);
    const p = producer.get(name);
    const value = (p?.attribute?.find((a) => a.name === "value") as { t?: TensorJson } | undefined)?.t;
    if (p?.op_type === "Constant") return value !== undefined && !initializerFloats(value, source).some((z) => z !== 0);
    if (p?.op_type === "ConstantOfShape") return value === undefined || !initializerFloats(value, source).some((z) => z !== 0);
    return depth < 16 && p !== undefined && zeroKeeping.has(p.op_type) && isZero(p.input?.[0] ?? "", depth + 1);
  };
  const recurrent = (n: NodeJson) => n.op_type === "LSTM" || n.op_type === "GRU" || n.op_type === "RNN";

  // The graph's inputs: the data, and those only a recurrent op reads as its sequence_lens (4) or initial states (5, 6).
  const roleOf = (name: string) => {
    const r = readers(name);
    const at = r.flatMap((n) => (recurrent(n) ? (n.input ?? []).flatMap((x, k) => (x === name ? [k] : [])) : [0]));
    return at.length && at.every((k) => k === 4) ? "lengths" : at.length && at.every((k) => k === 5 || k === 6) ? "state" : "data";
  };
  const data = graphInputs.filter((i) => roleOf(i.name) === "data");
  if (data.length !== 1) throw cannot(source, `it has ${data.length} data inputs (${data.map((i) => i.name).join(", ") || "none"}); rnnc writes a spec for one`);
  const used = new Set<string>();
  /** The model's name for a graph's input or output: its own where it is an identifier, else `fallback` (`input.1` → x, `340` → y). */
  const ident = (onnxName: string, fallback: string) => layerName(/^[A-Za-z_]\w*$/.test(onnxName) ? onnxName : "", fallback, used);
  const input = data[0]!;
  const tokens = [6, 7].includes(input.type?.tensor_type?.elem_type ?? 1);
  const x = ident(input.name, "x");
  const nameOf = (n: NodeJson, fallback: string): string => layerName((n.name ?? "").split("/").filter(Boolean)[0] ?? "", fallback, used);

  const values = new Map<string, Value>([[input.name, { expr: x, seq: true }]]);
  const layers: Layer[] = [];
  const defs: { name: string; expr: string }[] = [];
  const stateInputs: { name: string; type: string }[] = [];
  /** The cells the spec declares itself, for recurrent ops the stdlib cells do not compute. */
  const ownCells: { name: string; text: string }[] = [];
  const notes: string[] = [];
  const taken = new Set<NodeJson>();
  let inputWidth: number | undefined = tokens ? 0 : undefined;
  /** A layer of input width `width` reads `v`: the data input takes its width from the first such layer, and every other value must have it. */
  const reads = (v: Value, width: number, what: string, from: string) => {
    if (v.expr === x && inputWidth === undefined) inputWidth = width;
    const has = v.expr === x ? inputWidth : v.width;
    if (has !== undefined && has !== width) throw cannot(source, `${what} takes values of width ${width}, and ${from} has width ${has}`);
  };
  const apply = (l: Layer, v: Value): string => (v.seq ? `map(${l.name}, ${v.expr})` : `${l.name}(${v.expr})`);

  nodes.forEach((n, k) => {
    const ins = n.input ?? [];
    const v = ins.map((i) => values.get(i));
    if (n.op_type === "Shape" || taken.has(n) || !v.some(Boolean)) return;
    const what = `node ${n.name || k} (${n.op_type})`;
    const attr = (a: string) => n.attribute?.find((x) => x.name === a) as Attr | undefined;
    const out = n.output?.[0] ?? "";
    if (plumbing.has(n.op_type) && v[0]) {
      values.set(out, { ...v[0], dense: undefined });
    } else if (n.op_type === "Gather" && v[1] && !v[0] && dims(ins[0]).length === 2) {
      const [V, E] = dims(ins[0]) as [number, number];
      const l: Layer = { kind: "Embedding", name: nameOf(n, "embed"), unit: unitKeyOf(n, k), V, E };
      layers.push(l);
      values.set(out, { expr: apply(l, v[1]), seq: v[1].seq, width: E });
    } else if (n.op_type === "Gather" && v[0] && !v[1] && v[0].seq && constantOf(ins[1]!) === -1) {
      values.set(out, { expr: `last(${v[0].expr})`, seq: false });
    } else if (n.op_type === "Gather" && v[0] && !v[1] && v[0].directions === 1 && [0, -1].includes(constantOf(ins[1]!) ?? NaN)) {
      values.set(out, { ...v[0], directions: undefined }); // PyTorch's h_n[-1] of one layer and direction: the state itself
    } else if (recurrent(n) && v[0] && ins.slice(1).every((i, j) => !values.has(i) || j === 4 || j === 5)) {
      recurrentNode(n, k, v[0], what, attr);
    } else if ((n.op_type === "Gemm" || n.op_type === "MatMul") && v[0] && !v[1] && dims(ins[1]).length === 2) {
      // A dense layer: Gemm (weight [O, I] with transB), or MatMul by [I, O] and the Add of its bias after it.
      const [a, b] = dims(ins[1]) as [number, number];
      const [O, I] = n.op_type === "MatMul" || !attr("transB")?.i ? [b, a] : [a, b];
      const l = { kind: "Dense" as const, name: nameOf(n, "dense"), unit: unitKeyOf(n, k), I, O };
      layers.push(l);
      reads(v[0], I, what, ins[0]!);
      const add = n.op_type === "MatMul" ? readers(out) : [];
      const bias = add.length === 1 && add[0]!.op_type === "Add" && add[0]!.input!.some((i) => dims(i).length === 1) ? add[0]! : undefined;
      if (bias) taken.add(bias);
      values.set(bias ? bias.output![0]! : out, { expr: apply(l, v[0]), seq: v[0].seq, width: O, dense: l });
    } else if (activations[n.op_type] && v[0]) {
      const dense = v[0].dense;
      if (!dense || dense.act || readers(ins[0]!).length !== 1) throw cannot(source, `${what} does not follow a dense layer whose output nothing else reads`);
      const axis = attr("axis")?.i;
      if (n.op_type === "Softmax" && axis !== undefined && axis !== -1 && axis !== 1) throw cannot(source, `Softmax node ${n.name} is over axis ${axis}, not the last`);
      dense.act = activations[n.op_type];
      values.set(out, { ...v[0], dense: undefined });
    } else throw cannot(source, `${what} reads ${ins.filter((i) => values.has(i)).join(", ")}, and it is not a layer rnnc knows`);
  });

  function recurrentNode(n: NodeJson, k: number, xv: Value, what: string, attr: (a: string) => Attr | undefined) {
    const ins = n.input ?? [];
    const [W, R] = [dims(ins[1]), dims(ins[2])];
    if (W.length !== 3 || R.length !== 3) throw cannot(source, `${what} takes W and R from ${ins[1]} and ${ins[2]}, which are not initializers of 3 dims`);
    if (!xv.seq) throw cannot(source, `${what} runs over ${ins[0]}, which is not a sequence`);
    const I = W[2]!, H = Number(attr("hidden_size")?.i ?? R[2]), D = W[0]!;
    const G = n.op_type === "LSTM" ? 4 : n.op_type === "GRU" ? 3 : 1;
    if (H !== R[2] || W[1] !== G * H || R[1] !== G * H || R[0] !== D) throw cannot(source, `${what} has hidden_size ${H}, W [${W.join(", ")}] and R [${R.join(", ")}], which do not fit together: W is [directions, ${G}·H, I], R [directions, ${G}·H, H]`);
    const direction = decode(attr("direction")?.s) ?? "forward";
    if (!["forward", "reverse", "bidirectional"].includes(direction) || D !== (direction === "bidirectional" ? 2 : 1)) throw cannot(source, `${what} has direction "${direction}" and ${D} directions of weights`);
    const layout = Number(attr("layout")?.i ?? 0);
    if (layout !== 0 && layout !== 1) throw cannot(source, `${what} has layout ${layout}`);
    const refuse = (name: string, why: string) => cannot(source, `${what}: its attribute ${name} ${why}, which rnnc's cells have no equation for`);
    if (attr("input_forget")?.i) throw refuse("input_forget", "= 1 couples the input and forget gates");
    const clip = attr("clip")?.f;
    if (clip !== undefined && !(clip > 0 && Number.isFinite(clip))) throw cannot(source, `${what} has clip ${clip}; a clip is a positive number`);
    // Activations, one list for both directions (LSTM f, g, h; GRU f, g; RNN f), alpha and beta taken by those that use them.
    const per = cellActs[n.op_type]?.length ?? 1;
    const named = attr("activations")?.strings?.map((x) => decode(x)!);
    if (named && named.length !== per * D && named.length !== per) throw cannot(source, `${what} names ${named.length} activations; a ${direction} ${n.op_type} takes ${per * D}`);
    const given = named ? (named.length === per * D ? named : Array.from({ length: per * D }, (_, j) => named[j % per]!)) : Array.from({ length: per * D }, (_, j) => (cellActs[n.op_type] ?? ["Tanh"])[j % per]!);
    const [alphas, betas] = [attr("activation_alpha")?.floats ?? [], attr("activation_beta")?.floats ?? []];
    if ([...alphas, ...betas].some((v) => !Number.isFinite(v))) throw cannot(source, `${what} has an activation_alpha or activation_beta that is not a finite number`);
    const acts = activationsWithParams(given, alphas, betas);
    const bad = unwritable(acts);
    if (bad) throw refuse("activations", `names ${bad}`);
    const peephole = n.op_type === "LSTM" && Boolean(ins[7]);
    if (peephole && dims(ins[7]).length !== 2) throw cannot(source, `${what} takes its peepholes P from ${ins[7]}, which is not an initializer of 2 dims`);
    const linearBeforeReset = Boolean(attr("linear_before_reset")?.i);
    const kind = n.op_type === "LSTM" ? (peephole ? "PeepholeLSTM" : "LSTM") : n.op_type === "GRU" ? (linearBeforeReset ? "GRU" : "GRUResetBefore") : "Elman";
    // Each direction: the stdlib cell where it computes the node (an RNN's activation as Elman's `act`), else a cell of
    // the spec's own with the same params (onnx-cells.ts).
    const direction_ = (d: number): { cell?: string; act?: string } => {
      const mine = acts.slice(d * per, (d + 1) * per);
      const stdlib = cellActs[n.op_type];
      if (clip === undefined && stdlib && mine.every((f, j) => f.name === stdlib[j])) return {};
      const simple = n.op_type === "RNN" && clip === undefined ? rnnActs[mine[0]!.name] : undefined;
      if (simple && (simple.alpha === undefined || simple.alpha === mine[0]!.alpha) && (simple.beta === undefined || simple.beta === mine[0]!.beta)) return { act: simple.name };
      const text = (cellName: string) => (n.op_type === "LSTM" ? lstmCell(cellName, mine, clip, peephole) : n.op_type === "GRU" ? gruCell(cellName, mine, clip, linearBeforeReset) : rnnCell(cellName, mine[0]!, clip));
      const known = ownCells.find((c) => c.text === text(c.name));
      if (known) return { cell: known.name };
      const cellName = layerName(`Onnx${kind}`, `Onnx${kind}`, used);
      ownCells.push({ name: cellName, text: text(cellName) });
      return { cell: cellName };
    };
    const fwd = direction_(0), bwd = D === 2 ? direction_(1) : {};
    const l: Layer = { kind, name: nameOf(n, n.op_type.toLowerCase()), unit: unitKeyOf(n, k), I, H, direction,
      ...(fwd.act ? { act: fwd.act } : {}), ...(bwd.act ? { actBwd: bwd.act } : {}), ...(fwd.cell ? { cell: fwd.cell } : {}), ...(bwd.cell ? { cellBwd: bwd.cell } : {}) };
    layers.push(l);
    reads(xv, I, what, ins[0]!);
    // sequence_lens: the lengths of the data's sequences (rnnc's lengths); a fixed tensor of them is no model.
    if (ins[4]) {
      if (roleOf(ins[4]) !== "lengths" || !graphInputs.some((i) => i.name === ins[4])) throw cannot(source, `${what} takes sequence_lens from ${ins[4]}, which is not a graph input`);
      notes.push(`Its input ${ins[4]}${ins[4] === "sequence_lens" ? "" : " (sequence_lens)"} is given as the lengths of ${x}: "lengths": {"${x}": [per example]}.`);
    }
    // Initial states: graph inputs become model inputs ([H] per example, one per direction); a value the graph computes
    // from its data (an encoder's Y_h starting a decoder) is that value; zeros are the default. Anything else is refused,
    // not taken for zeros.
    const states = ["h", "c"].slice(0, n.op_type === "LSTM" ? 2 : 1).map((s, j) => {
      const from = ins[5 + j];
      if (!from) return undefined;
      const computed = values.get(from);
      if (computed) {
        if (D !== 1 || computed.seq || (computed.directions ?? 1) !== 1 || computed.width !== H)
          throw cannot(source, `${what} starts its state ${s} from ${from}, which is not one direction's [${H}] state per example`);
        return [computed.expr];
      }
      if (graphInputs.some((i) => i.name === from)) {
        const names = D === 2 ? [ident(`${from}_fwd`, `${s}0_fwd`), ident(`${from}_bwd`, `${s}0_bwd`)] : [ident(from, `${s}0`)];
        for (const name of names) stateInputs.push({ name, type: `[${H}]` });
        notes.push(`Its input ${from} [directions, batch, ${H}] is given per example as ${names.join(" and ")}: [${H}].`);
        return names;
      }
      if (!isZero(from)) throw cannot(source, `${what} starts its state ${s} from ${from}${producer.get(from) ? ` (computed by ${producer.get(from)!.op_type})` : ""}, which is not zeros, a graph input or a state the graph computes; rnnc starts a layer from one of those`);
      return undefined;
    });
    const init = (d: number) => {
      if (!states.some(Boolean)) return undefined;
      const given = states.map((s, j) => `${["h", "c"][j]} = ${s ? s[d]! : `${(states.find(Boolean) as string[])[d]!} * 0`}`);
      return `states(${given.join(", ")})`;
    };
    const seqName = ident(`${l.name}_seq`, "seq");
    const expr = direction === "bidirectional"
      ? `bidirectional(${l.name}_fwd, ${l.name}_bwd, ${xv.expr}${init(0) ? `, init_fwd = ${init(0)}, init_bwd = ${init(1)}` : ""})`
      : `scan(${l.name}, ${xv.expr}${direction === "reverse" ? ", reverse = true" : ""}${init(0) ? `, init = ${init(0)}` : ""})`;
    defs.push({ name: seqName, expr });
    const [y, yh, yc] = n.output ?? [];
    if (y) values.set(y, { expr: seqName, seq: true, width: D * H });
    if (yh) values.set(yh, { expr: `final(${seqName}).h`, seq: false, width: D * H, directions: D });
    if (yc) values.set(yc, { expr: `final(${seqName}).c`, seq: false, width: D * H, directions: D });
  }

  if (!layers.length) throw cannot(source, "no layer was found between its input and its outputs");
  const outputs = (graph?.output ?? []).map((o) => {
    const v = values.get(o.name);
    if (!v) throw cannot(source, `its output ${o.name || "(unnamed)"} is not computed from its input ${input.name} by the layers rnnc reads`);
    const name = ident(o.name, "y");
    if (name !== o.name) notes.push(`The graph's output ${o.name} is the model's ${name}.`);
    return { name, expr: v.expr };
  });
  if (!outputs.length) throw cannot(source, "its graph has no outputs");
  if (inputWidth === undefined) throw cannot(source, `its input ${input.name} is read by no layer`);
  if (tokens !== (layers[0]!.kind === "Embedding")) throw cannot(source, tokens ? "its input is token ids but its first layer is not an embedding" : "its first layer is an embedding of a float input");
  notes.unshift(`Batch is implicit: the graph's ${input.name} is the model's ${x}, ${tokens ? "[T] token ids" : `[T, ${inputWidth}]`} per example (either ONNX layout); a recurrent op's Y is [T, directions·H] per example and its Y_h, Y_c [directions·H], directions joined forward first.`);
  return writeModel({ inputs: [{ name: x, type: tokens ? "[T] int" : `[T, ${inputWidth}]` }, ...stateInputs], layers, defs, outputs, notes, cells: ownCells.map((c) => c.text) }, source, "the values its graph computes, node by node");
}
