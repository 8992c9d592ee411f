// A whole model over a batch on the fused kernels: scans, maps and applies as fused scans, the rest over all rows at once.
import { RnncError } from "../diagnostics/errors.js";
import type { CellIR, ModelIR, Node, NodeId } from "../ir/ir.js";
import { driveModel, type Driven, type ModelBackend, type Scanned, type StatesOf } from "../ir/model-driver.js";
import { Op, opInfo } from "../ir/ops.js";
import { optimize } from "../passes/pipeline.js";
import { concreteShape, layerEnv, type DimEnv } from "../runtime/dims.js";
import type { ModelOutput, ModelRunInput } from "../runtime/run-types.js";
import { sizeOf, type Tensor } from "../runtime/tensor.js";
import { validateModelInputs } from "../runtime/validate-inputs.js";
import { batchRows, evalRows, sharedRows } from "./batched.js";
import { FusedScan, fusedUnsupported, type Tape } from "./scan.js";
import { copyFloats, SpareArrays } from "./scan-buffers.js";
import { pointwiseCell } from "./pointwise-cell.js";

/** A layer's fused call in a training forward pass: what its backward pass needs. */
export interface LayerCall { readonly kernel: FusedScan; readonly params: ReadonlyMap<string, Float32Array>; readonly tape: Tape }

export interface DriveOptions {
  /** Only these nodes (and what they read). */
  readonly only?: readonly NodeId[];
  /** Keep each layer's tape for a backward pass (into `calls`), and compute the input gradients it will need. */
  readonly training?: boolean;
}

/** A value for the whole batch: single values [B·size], sequences time-major [T·B·size] with each example's length. */
export type BatchValue =
  | { readonly kind: "one"; readonly data: Float32Array; readonly shape: readonly number[] }
  | { readonly kind: "seq"; readonly data: Float32Array; readonly shape: readonly number[]; readonly T: number; readonly lengths: readonly number[] };

/** Why a model (or these of its nodes) cannot run batched here (the caller then runs it an example at a time), or undefined when it can. */
export function batchedUnsupported(ir: ModelIR, nodes: readonly Node[] = ir.nodes): string | undefined {
  for (const n of nodes) {
    if (n.op === Op.Generate) return "it generates (each example feeds its own outputs back)";
    if (n.op === Op.Scan || n.op === Op.Map || n.op === Op.Apply) {
      const why = fusedUnsupported(ir.layers.find((l) => l.name === n.attrs.layer)!.ir);
      if (why) return `layer ${n.attrs.layer}: ${why}`;
    }
    if (!["sequence", "leaf"].includes(opInfo[n.op].category) && n.args.some((a) => ir.nodes[a]!.seq) && n.args.some((a) => !ir.nodes[a]!.seq && ir.nodes[a]!.batched))
      return "an op mixes a sequence with a single value";
  }
  return undefined;
}

export class BatchedModelRunner {
  private readonly kernels = new Map<string, FusedScan>();
  /** Each layer's cell after the passes, shared by its kernels. */
  private readonly cells = new Map<string, CellIR>();
  private readonly params = new Map<string, Map<string, Float32Array>>();
  /**
   * Arrays of the sequences of a batch that is done with (an inference call's once its outputs are copied out, a
   * training step's once its gradients are taken): the next batch's, not new memory (a fresh megabyte costs about a
   * millisecond of page faults on this kind of machine).
   */
  readonly arrays = new SpareArrays();

  /** `shared`: float32 params are used where they are (a trainer updates them in place), else copied. */
  constructor(readonly ir: ModelIR, private readonly env: DimEnv, params: ReadonlyMap<string, Tensor>, shared = false) {
    for (const l of ir.layers) {
      const prefix = `${l.name}.`;
      this.params.set(l.name, new Map([...params].filter(([k]) => k.startsWith(prefix))
        .map(([k, t]) => [k.slice(prefix.length), shared && t.data instanceof Float32Array ? t.data : Float32Array.from(t.data)])));
    }
  }

  /**
   * A layer's kernel, one per set of input gradients wanted (undefined: a forward pass alone) and per length of the
   * sequences it reads whole (`lengths`: by the cell's length symbol, a dim of the kernel).
   */
  private kernel(layer: string, inputGradients?: readonly boolean[], lengths: ReadonlyMap<string, number> = new Map()): FusedScan {
    const key = `${layer}\u0000${inputGradients?.map(Number).join("") ?? "-"}\u0000${[...lengths].map(([k, v]) => `${k}=${v}`).join(",")}`;
    let k = this.kernels.get(key);
    if (!k) {
      const l = this.ir.layers.find((x) => x.name === layer)!;
      let cell = this.cells.get(layer);
      if (!cell) this.cells.set(layer, (cell = optimize(l.ir)));
      this.kernels.set(key, (k = new FusedScan(cell, new Map([...layerEnv(l, this.env), ...lengths]), inputGradients)));
    }
    return k;
  }

  /** Every node's value for the batch (or those `only` needs); with `training`, each layer's call by node for a backward pass. */
  drive(input: ModelRunInput, opts: DriveOptions = {}): { values: Driven<BatchValue>[]; batch: number; calls: Map<NodeId, LayerCall> } {
    const B = validateModelInputs(this.ir, this.env, input.inputs, input.lengths);
    const calls = new Map<NodeId, LayerCall>();
    const values = driveModel(this.ir, this.backend(input, B, opts.training ? calls : undefined), opts.only);
    return { values, batch: B, calls };
  }

  /** The same outputs as the interpreter's ModelRunner (float32), for the whole batch at once (`outputs`: only these, and what they read). */
  run(input: ModelRunInput, outputs?: readonly string[]): Record<string, ModelOutput> {
    const { ir } = this;
    const wanted = ir.outputs.filter((o) => !outputs || outputs.includes(o.name));
    const { values: v, batch: B } = this.drive(input, outputs ? { only: wanted.map((o) => o.node) } : {});
    const out: Record<string, ModelOutput> = {};
    for (const o of wanted) {
      const d = v[o.node]!;
      let res: ModelOutput;
      if (d.kind === "states") res = { states: Object.fromEntries([...d.states].map(([k, s]) => [k, { shape: [B, ...s.shape], data: s.data }])) };
      else if (d.v.kind === "one") res = { tensor: { shape: [B, ...d.v.shape], data: d.v.data } };
      else {
        // As long as the longest example (the interpreter's convention), zero past each length.
        const val = d.v;
        const T = Math.max(0, ...val.lengths);
        res = { tensor: { shape: [B, T, ...val.shape], data: batchMajor(val.data.subarray(0, T * B * sizeOf(val.shape)), T, B) }, lengths: [...val.lengths] };
      }
      Object.defineProperty(out, o.name, { value: res, enumerable: true, writable: true, configurable: true });
    }
    // The call's time-major sequences are copied into the outputs above: their arrays serve the next call (no new
    // memory for each: on this machine a fresh megabyte costs about a millisecond of page faults).
    this.recycle(v, new Set<unknown>(Object.values(out).flatMap((r) => [...(r.tensor ? [r.tensor.data] : []), ...Object.values(r.states ?? {}).map((s) => s.data)])));
    return out;
  }

  /** A batch's sequences (but those in `keep`) are dead: their arrays serve the next batch. */
  recycle(values: readonly (Driven<BatchValue> | undefined)[], keep: ReadonlySet<unknown> = new Set()): void {
    for (const d of values) if (d && d.kind !== "states" && d.v.kind === "seq" && !keep.has(d.v.data)) this.arrays.give(d.v.data);
  }

  private shape(n: Node, what: string): number[] {
    return concreteShape(n.shape, this.env, what);
  }

  /** The constructs over the whole batch: sequences stay time-major from the input to the output. */
  private backend(input: ModelRunInput, B: number, calls?: Map<NodeId, LayerCall>): ModelBackend<BatchValue> {
    return {
      input: (n) => {
        const t = input.inputs[n.attrs.name!]!;
        const shape = this.shape(n, `input ${n.attrs.name}`);
        if (!n.seq) return { kind: "one", data: new Float32Array(t.data), shape }; // a copy: outputs may be it
        const T = t.shape[1]!;
        const lengths = input.lengths?.[n.attrs.name!] ?? Array(B).fill(T);
        const tm = timeMajor(t.data, B, T, this.arrays.take(t.data.length)); // a copy: the caller's is left as it was
        return { kind: "seq", data: lengths.some((l) => l !== T) ? zeroPadding(tm, T, B, lengths) : tm, shape, T, lengths };
      },
      constant: (n) => ({ kind: "one", data: repeat(Float32Array.of(n.attrs.value!), B), shape: [] }),
      pointwise: (n, args) => {
        // Training: the op as a one-op cell on the fused kernels, whose backward pass then gives its gradient.
        if (calls) return this.pointwiseLayer(n, args, B, calls);
        // A model-level op: over all rows (time-major steps, or the batch), padding zeroed again after.
        const seq = args.find((a) => a.kind === "seq");
        const R = seq ? seq.T * B : B;
        const rows = n.args.map((a, k) => {
          const arg = this.ir.nodes[a]!;
          if (arg.op === Op.Const) return sharedRows(Float32Array.of(arg.attrs.value!), []);
          return batchRows(args[k]!.data, args[k]!.shape, R);
        });
        const r = evalRows(n, rows, this.env, R);
        const shape = this.shape(n, "a value");
        const data = r.shared ? repeat(r.data, R) : r.data;
        return seq ? { kind: "seq", data: zeroPadding(data, seq.T, B, seq.lengths), shape, T: seq.T, lengths: seq.lengths } : { kind: "one", data, shape };
      },
      [Op.Apply]: (n, xs) => this.layer(n, xs, undefined, B, calls).seq,
      [Op.Map]: (n, xs) => this.layer(n, xs, undefined, B, calls).seq,
      [Op.Scan]: (n, xs, init) => this.layer(n, xs, init, B, calls),
      [Op.Generate]: () => { throw new Error("internal: generate on the batched runner (see batchedUnsupported)"); },
      [Op.Last]: (_n, s) => {
        if (s.kind !== "seq") throw new Error("internal: last of a single value");
        if (s.lengths.some((l) => l === 0)) throw new RnncError("RNN0605", "`last` of an empty sequence: a length is 0", ["every sequence needs at least one step"]);
        const size = sizeOf(s.shape);
        const data = new Float32Array(B * size);
        for (let b = 0; b < B; b++) data.set(s.data.subarray(((s.lengths[b]! - 1) * B + b) * size, ((s.lengths[b]! - 1) * B + b + 1) * size), b * size);
        return { kind: "one", data, shape: s.shape };
      },
    };
  }

  /** Kernels of model-level ops (their one-op cells), by node. */
  private readonly opKernels = new Map<NodeId, FusedScan>();

  /** A model-level op for training: its one-op cell over every step (or once), its tape kept for the gradient. */
  private pointwiseLayer(n: Node, args: readonly BatchValue[], B: number, calls: Map<NodeId, LayerCall>): BatchValue {
    let k = this.opKernels.get(n.id);
    if (!k) this.opKernels.set(n.id, (k = new FusedScan(pointwiseCell(this.ir, n), this.env)));
    const xs = args.filter((_, j) => this.ir.nodes[n.args[j]!]!.op !== Op.Const);
    const seq = xs.find((a) => a.kind === "seq");
    const T = seq?.kind === "seq" ? seq.T : 1;
    const lengths = seq?.kind === "seq" ? seq.lengths : undefined;
    const out = k.forward(new Map(), { T, B, xs: xs.map((x) => x.data), buffers: this.arrays, ...(lengths && lengths.some((l) => l !== T) ? { lengths } : {}) }, true);
    calls.set(n.id, { kernel: k, params: new Map(), tape: out.tape });
    const shape = this.shape(n, "a value");
    return lengths ? { kind: "seq", data: out.ys[0]!, shape, T, lengths } : { kind: "one", data: out.ys[0]!, shape };
  }

  /** A layer over the batch: a scan with its states, a map or apply as a scan of a stateless cell. */
  private layer(n: Node, xs: readonly BatchValue[], init: StatesOf<BatchValue> | undefined, B: number, calls?: Map<NodeId, LayerCall>): Scanned<BatchValue> {
    const layer = n.attrs.layer!;
    // Sequences read whole (attention): given as they are with their lengths; their length is a dim of the kernel.
    const inputs = this.ir.layers.find((l) => l.name === layer)!.ir.inputs;
    const wholes = inputs.map((inp, j) => {
      const x = xs[j]!;
      if (inp.memory === undefined) return undefined;
      if (x.kind !== "seq") throw new Error(`internal: input ${inp.name} is read whole but is no sequence`);
      return { S: x.T, lengths: x.lengths, symbol: inp.memory, seq: this.ir.nodes[n.args[j]!]!.seq };
    });
    const spans = new Map(wholes.flatMap((w) => (w ? [[w.symbol, w.S] as const] : [])));
    // Training: no gradient flows into the model's own input data, so its products are left out of the backward pass.
    const k = calls ? this.kernel(layer, xs.map((_, j) => this.ir.nodes[n.args[j]!]!.op !== Op.Input), spans) : this.kernel(layer, undefined, spans);
    const cell = k.cell;
    const first = xs[inputs.findIndex((i) => i.memory === undefined)]!;
    const T = first.kind === "seq" ? first.T : 1;
    const lengths = first.kind === "seq" ? first.lengths : undefined;
    const start = new Map([...(init ?? [])].map(([name, d]) => [name, d.data]));
    const out = k.forward(this.params.get(layer)!, {
      T, B, xs: xs.map((x) => x.data), ...(start.size ? { init: start } : {}), ...(n.attrs.reverse ? { reverse: true } : {}),
      ...(lengths && lengths.some((l) => l !== T) ? { lengths } : {}),
      ...(spans.size ? { wholes: wholes.map((w) => w && { S: w.S, lengths: w.lengths }) } : {}),
      buffers: this.arrays,
    }, calls !== undefined);
    if (calls) calls.set(n.id, { kernel: k, params: this.params.get(layer)!, tape: out.tape });
    // An output over a sequence read whole (attention weights) is as long as that sequence's longest example.
    const shape = concreteShape(n.shape, new Map([...this.env, ...wholes.flatMap((w) => (w?.seq ? [[w.seq, w.S] as const] : []))]), "a layer's output");
    const finals = new Map(cell.states.map((s) => [s.name, { kind: "one" as const, data: out.finals.get(s.name)!, shape: concreteShape(s.shape, k.env, `state ${s.name}`) }]));
    return { seq: n.op === Op.Apply ? { kind: "one", data: out.ys[0]!, shape } : { kind: "seq", data: out.ys[0]!, shape, T, lengths: lengths! }, finals };
  }
}

/** [B, T, size] (batch first) → [T, B, size], into `o` (a new array unless given). */
function timeMajor(a: Float32Array | Float64Array, B: number, T: number, o: Float32Array = new Float32Array(a.length)): Float32Array {
  const size = a.length / (B * T || 1);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) copyFloats(a, (b * T + t) * size, o, (t * B + b) * size, size);
  return o;
}

/** [T, B, size] → [B, T, size], as a new array. */
function batchMajor(a: Float32Array, T: number, B: number): Float32Array {
  const size = a.length / (B * T || 1);
  const o = new Float32Array(a.length);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) copyFloats(a, (t * B + b) * size, o, (b * T + t) * size, size);
  return o;
}

/** Zeroes every step at or past an example's length (time-major), in place. */
function zeroPadding(a: Float32Array, T: number, B: number, lengths: readonly number[]): Float32Array {
  const size = a.length / (B * T || 1);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) if (t >= lengths[b]!) a.fill(0, (t * B + b) * size, (t * B + b + 1) * size);
  return a;
}

function repeat(x: Float32Array, R: number): Float32Array {
  const o = new Float32Array(R * x.length);
  for (let r = 0; r < R; r++) o.set(x, r * x.length);
  return o;
}
