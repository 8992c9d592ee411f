// The reference interpreter: runs a cell over a batch of sequences, one example and one step at a time.
import { RnncError } from "../errors.js";
import { evalDim } from "../ir/dims.js";
import type { CellIR, Node, NodeId } from "../ir/ir.js";
import { Op, binaryOps, unaryOps } from "../ir/ops.js";
import { concreteShape, type DimEnv } from "./instantiate.js";
import { binary, concat0, gather, lastAxis, matmul, slice0, unary } from "./kernels.js";
import { alloc, index0, stack, type Precision, type Tensor } from "./tensor.js";

export interface CellRunInput {
  /** One tensor per cell input, shaped [batch, time, ...input shape]. */
  readonly inputs: Readonly<Record<string, Tensor>>;
  /** Optional starting value per state, [batch, ...state shape]; it fills every earlier step the cell reads. */
  readonly initialStates?: Readonly<Record<string, Tensor>>;
  /** Number of steps, for a cell without inputs. */
  readonly steps?: number;
}

export interface CellRunResult {
  /** Per output: [batch, time, ...shape]. */
  readonly outputs: Record<string, Tensor>;
  /** Per state, its value after the last step: [batch, ...shape]. */
  readonly states: Record<string, Tensor>;
}

/** Nodes reachable from `roots`, in node (topological) order. */
export function reachable(nodes: readonly Node[], roots: readonly NodeId[]): Node[] {
  const seen = new Set<NodeId>();
  const visit = (id: NodeId): void => {
    if (seen.has(id)) return;
    seen.add(id);
    for (const a of nodes[id]!.args) visit(a);
  };
  roots.forEach(visit);
  return nodes.filter((n) => seen.has(n.id));
}

function evalNode(n: Node, v: (Tensor | undefined)[], env: DimEnv, p: Precision, leaf: (n: Node) => Tensor): Tensor {
  const a = n.args.map((i) => v[i]!);
  if (n.op === Op.Input || n.op === Op.Param || n.op === Op.StateRead) return leaf(n);
  if (n.op === Op.Const) {
    const t = alloc([], p);
    t.data[0] = n.attrs.value!;
    return t;
  }
  if (unaryOps.has(n.op)) return unary(n.op, a[0]!, p);
  if (binaryOps.has(n.op)) return binary(n.op, a[0]!, a[1]!, p);
  switch (n.op) {
    case Op.MatMul: return matmul(a[0]!, a[1]!, p);
    case Op.Concat: return concat0(a, p);
    case Op.Gather: return gather(a[0]!, a[1]!, p);
    case Op.Slice: return slice0(a[0]!, evalDim(n.attrs.start!, env)!, evalDim(n.attrs.end!, env)!, p);
    case Op.Softmax: case Op.LogSoftmax: case Op.Sum: case Op.Mean: return lastAxis(n.op, a[0]!, p);
    default: throw new Error(`internal: no kernel for ${n.op}`);
  }
}

/** Broadcasts a tensor to `shape` (an initial value given as a scalar fills the state). */
function fillTo(t: Tensor, shape: readonly number[], p: Precision): Tensor {
  const out = alloc(shape, p);
  return binary(Op.Add, out, t, p);
}

export function runCell(ir: CellIR, env: DimEnv, params: ReadonlyMap<string, Tensor>, input: CellRunInput, precision: Precision = "f32"): CellRunResult {
  const p = precision;
  const batch = batchAndTime(ir, env, input);
  const [B, T] = batch;
  const stepNodes = reachable(ir.nodes, [...ir.outputs.map((o) => o.node), ...ir.states.map((s) => s.update)]);
  const initNodes = reachable(ir.nodes, ir.states.map((s) => s.init));
  const stateShapes = new Map(ir.states.map((s) => [s.name, concreteShape(s.shape, env, `state ${s.name}`)]));
  const paramsP = new Map([...params].map(([k, t]) => [k, t.data instanceof (p === "f64" ? Float64Array : Float32Array) ? t : { shape: t.shape, data: p === "f64" ? Float64Array.from(t.data) : Float32Array.from(t.data) }]));

  const outSeqs: Record<string, Tensor[][]> = Object.fromEntries(ir.outputs.map((o) => [o.name, []]));
  const finals: Record<string, Tensor[]> = Object.fromEntries(ir.states.map((s) => [s.name, []]));

  for (let b = 0; b < B; b++) {
    // history[name][k-1] is the state k steps back.
    const history = new Map<string, Tensor[]>();
    const initVals: (Tensor | undefined)[] = [];
    for (const n of initNodes) initVals[n.id] = evalNode(n, initVals, env, p, (leaf) => paramsP.get(leaf.attrs.name!)!);
    for (const s of ir.states) {
      const shape = stateShapes.get(s.name)!;
      const given = input.initialStates?.[s.name];
      const start = given ? index0(given, b, p) : fillTo(initVals[s.init]!, shape, p);
      history.set(s.name, Array.from({ length: Math.max(1, s.maxLag) }, () => start));
    }
    const perStep: Record<string, Tensor[]> = Object.fromEntries(ir.outputs.map((o) => [o.name, []]));
    const xs = Object.fromEntries(Object.entries(input.inputs).map(([k, t]) => [k, index0(t, b, p)]));
    for (let t = 0; t < T; t++) {
      const v: (Tensor | undefined)[] = [];
      const leaf = (n: Node): Tensor => {
        if (n.op === Op.Param) return paramsP.get(n.attrs.name!)!;
        if (n.op === Op.Input) return index0(xs[n.attrs.name!]!, t, p);
        return history.get(n.attrs.name!)![n.attrs.lag! - 1]!;
      };
      for (const n of stepNodes) v[n.id] = evalNode(n, v, env, p, leaf);
      for (const o of ir.outputs) perStep[o.name]!.push(v[o.node]!);
      for (const s of ir.states) {
        const h = history.get(s.name)!;
        h.unshift(v[s.update]!);
        h.length = Math.max(1, s.maxLag);
      }
    }
    for (const o of ir.outputs) outSeqs[o.name]!.push(perStep[o.name]!);
    for (const s of ir.states) finals[s.name]!.push(history.get(s.name)![0]!);
  }

  const outputs: Record<string, Tensor> = {};
  for (const o of ir.outputs) {
    const shape = concreteShape(ir.nodes[o.node]!.shape, env, `output ${o.name}`);
    outputs[o.name] = stack(outSeqs[o.name]!.map((steps) => stack(steps, shape, p)), [T, ...shape], p);
  }
  const states: Record<string, Tensor> = {};
  for (const s of ir.states) states[s.name] = stack(finals[s.name]!, stateShapes.get(s.name)!, p);
  return { outputs, states };
}

/** Checks every input and initial state against the cell's shapes; returns [batch, time]. */
function batchAndTime(ir: CellIR, env: DimEnv, input: CellRunInput): [number, number] {
  let B: number | undefined;
  let T: number | undefined = ir.inputs.length ? undefined : input.steps;
  const show = (s: readonly number[]) => `[${s.join(", ")}]`;
  for (const k of Object.keys(input.inputs))
    if (!ir.inputs.some((i) => i.name === k))
      throw new RnncError("RNN0605", `cell \`${ir.name}\` has no input \`${k}\``, [`its inputs are ${ir.inputs.map((i) => i.name).join(", ") || "none"}`]);
  for (const inp of ir.inputs) {
    const t = input.inputs[inp.name];
    const shape = concreteShape(inp.shape, env, `input ${inp.name}`);
    if (!t) throw new RnncError("RNN0605", `missing input \`${inp.name}\``, [`cell \`${ir.name}\` needs \`${inp.name}\` shaped [batch, time, ${shape.join(", ")}]`]);
    const ok = t.shape.length === shape.length + 2 && shape.every((d, i) => t.shape[i + 2] === d) && (B === undefined || t.shape[0] === B) && (T === undefined || t.shape[1] === T);
    if (!ok) {
      throw new RnncError("RNN0605", `input \`${inp.name}\` has shape ${show(t.shape)}, expected [${B ?? "batch"}, ${T ?? "time"}, ${shape.join(", ")}]`,
        ["inputs are nested arrays, batch first, then time, then the input's own shape; every input shares batch and time"]);
    }
    B = t.shape[0];
    T = t.shape[1];
  }
  for (const [k, t] of Object.entries(input.initialStates ?? {})) {
    const s = ir.states.find((x) => x.name === k);
    if (!s) throw new RnncError("RNN0605", `cell \`${ir.name}\` has no state \`${k}\``, [`its states are ${ir.states.map((x) => x.name).join(", ") || "none"}`]);
    const shape = concreteShape(s.shape, env, `state ${k}`);
    B ??= t.shape[0];
    if (t.shape.length !== shape.length + 1 || t.shape[0] !== B || !shape.every((d, i) => t.shape[i + 1] === d))
      throw new RnncError("RNN0605", `initial state \`${k}\` has shape ${show(t.shape)}, expected [${B}, ${shape.join(", ")}]`);
  }
  if (T === undefined) throw new RnncError("RNN0605", `cell \`${ir.name}\` has no inputs, so the number of steps must be given`);
  return [B ?? 1, T];
}
