// A graph under construction: nodes in order, initializers shared with every subgraph (Scan bodies read them by name).
import type { Tensor } from "../../runtime/tensor.js";
import { transposed as transposedMatrix } from "../../weights/safetensors.js";
import { graphProblems, type OnnxModelJson } from "./check.js";
import { DType, encodeModel, IR_VERSION, OPSET, type NodeSpec, type TensorSpec, type ValueInfo } from "./proto.js";

/** What every graph of one model shares: initializers, fresh names, the model's weights. */
export interface SharedState {
  readonly inits: TensorSpec[];
  readonly weights: ReadonlyMap<string, Tensor>;
  counter: number;
  /** Initializers already made for a weight (possibly transposed), by `layer.param` and form. */
  readonly madeWeights: Map<string, string>;
  /** Where each param's values sit (written into the model's metadata, so that `rnnc import` reads them back exactly). */
  readonly placements: Map<string, Placement>;
  /** Every value name given out so far in any graph of the model: the user's (reserved first), then generated ones. */
  readonly taken: Set<string>;
}

/** A param's values: `size` floats of initializer `init` from `offset`, stored transposed (a matrix) or not. */
export interface Placement { readonly init: string; readonly offset: number; readonly transposed: boolean; readonly shape?: readonly number[] }

/** A fresh shared state for one exported model. */
export const sharedState = (weights: ReadonlyMap<string, Tensor>): SharedState => ({ inits: [], weights, counter: 0, madeWeights: new Map(), placements: new Map(), taken: new Set() });

export class OnnxGraph {
  readonly nodes: NodeSpec[] = [];
  constructor(readonly shared: SharedState) {}

  /** A generated name no other value of the model has (the user's names are reserved before any is made). */
  fresh(hint: string): string {
    const base = hint.replace(/[^\w.]/g, "_");
    let name: string;
    do name = `${base}_${this.shared.counter++}`; while (this.shared.taken.has(name));
    this.shared.taken.add(name);
    return name;
  }

  /** Reserves names the graph's interface must have exactly (the model's inputs and outputs), before anything is generated. */
  reserve(names: Iterable<string>): void {
    for (const n of names) this.shared.taken.add(n);
  }

  /** `want` for an interface value rnnc adds (`x_lengths`, a state input), or `want_2`, `want_3` … if a name the user chose is already it. */
  unique(want: string): string {
    let name = want;
    for (let k = 2; this.shared.taken.has(name); k++) name = `${want}_${k}`;
    this.shared.taken.add(name);
    return name;
  }

  /** Adds a node; returns its outputs' names (fresh ones, or `names`). */
  node(op: string, inputs: string[], outputs: number | string[] = 1, attributes: object[] = []): string[] {
    const output = typeof outputs === "number" ? Array.from({ length: outputs }, () => this.fresh(op.toLowerCase())) : outputs;
    this.nodes.push({ op_type: op, input: inputs, output, name: this.fresh(`n_${op}`), attribute: attributes });
    return output;
  }

  init(hint: string, dims: number[], data: ArrayLike<number>, type: number = DType.FLOAT): string {
    const name = this.fresh(hint);
    this.shared.inits.push(type === DType.FLOAT ? { name, dims, data_type: type, float_data: Array.from(data) } : { name, dims, data_type: type, int64_data: Array.from(data) });
    return name;
  }

  /** The batch size of a batch-first value, as an int64 [1]. */
  batch(x: string): string {
    return this.node("Slice", [this.node("Shape", [x])[0]!, this.ints([0]), this.ints([1])])[0]!;
  }

  /** The model around this (top-level) graph, encoded: rnnc's header, and where every param went (for `rnnc import`). */
  encode(graph: { name: string; input: ValueInfo[]; output: ValueInfo[] }, doc: string, producerVersion: string): Uint8Array {
    // Every model rnnc writes passes the checker's rules first (order, names defined once, typed interface): a file
    // another tool would refuse is never written.
    const full = { ...graph, node: this.nodes, initializer: this.shared.inits };
    const problems = graphProblems({ graph: full } as unknown as OnnxModelJson, { unusedInitializers: false });
    if (problems.length) throw new Error(`internal: the exported model breaks ONNX's rules: ${problems.slice(0, 5).join("; ")}`);
    return encodeModel({
      ir_version: IR_VERSION,
      opset_import: [{ domain: "", version: OPSET }],
      producer_name: "rnnc",
      producer_version: producerVersion,
      doc_string: doc,
      metadata_props: [{ key: "rnnc.params", value: JSON.stringify(Object.fromEntries(this.shared.placements)) }],
      graph: full,
    });
  }

  /** A scalar or a list of int64s (axes, shapes, starts …). */
  ints(values: readonly number[], scalar = false): string {
    return this.init("i", scalar ? [] : [values.length], values, DType.INT64);
  }

  weight(layer: string, param: string): Tensor {
    const t = this.shared.weights.get(`${layer}.${param}`);
    if (!t) throw new Error(`internal: no weight ${layer}.${param}`);
    return t;
  }

  /** A weight as an initializer (made once per form); `transposed` swaps the two axes of a matrix. */
  weightInit(layer: string, param: string, transposed = false): string {
    const key = `${layer}.${param}${transposed ? "ᵀ" : ""}`;
    const known = this.shared.madeWeights.get(key);
    if (known) return known;
    const t = this.weight(layer, param);
    const stored = transposed ? transposedMatrix({ shape: t.shape, data: t.data as Float32Array }) : { shape: t.shape, data: t.data };
    const name = this.init(key, [...stored.shape], stored.data);
    this.shared.madeWeights.set(key, name);
    this.place(`${layer}.${param}`, { init: name, offset: 0, transposed });
    return name;
  }

  /** Records where a param's values went (the first place is kept). */
  place(param: string, where: Placement): void {
    // With the param's own shape, so that an import checks shapes, not only that enough values are there.
    const shape = this.shared.weights.get(param)?.shape;
    if (!this.shared.placements.has(param)) this.shared.placements.set(param, shape ? { ...where, shape: [...shape] } : where);
  }
}
