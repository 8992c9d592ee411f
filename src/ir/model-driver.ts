// The model-level walk, written once: every node of a model handed to a backend by its construct, records of states kept here.
import type { ModelIR, Node, NodeId } from "./ir.js";
import { opInfo, type OpsIn } from "./ops.js";
import { Op } from "./ops.js";
import { reachable } from "./graph.js";

/** The sequence constructs of a model (the op table's "sequence" category). */
export type SequenceOp = OpsIn<"sequence">;

/** A record of states by name, in the layer's order: a scan's final states, or the values an `init = states(…)` gives. */
export type StatesOf<V> = ReadonlyMap<string, V>;

/** What a scan or generate gives: its sequence, and its final states beside it. */
export interface Scanned<V> { readonly seq: V; readonly finals: StatesOf<V> }

/**
 * What a backend does for each construct. `V` is its value: a single value or a sequence (records of states are the
 * driver's own, never a backend's). `init` holds a layer's starting states by name in its order, or is undefined for
 * the declared ones. Keyed by op, so the table of constructs below must name every sequence op.
 */
export interface Constructs<V> {
  /** A stateless layer on single values. */
  [Op.Apply](n: Node, xs: readonly V[]): V;
  /** A stateless layer at every step of sequences. */
  [Op.Map](n: Node, xs: readonly V[]): V;
  /** A layer over sequences carrying its states (n.attrs.reverse; lengths are the sequences' own). */
  [Op.Scan](n: Node, xs: readonly V[], init: StatesOf<V> | undefined): Scanned<V>;
  /**
   * A layer's output fed back as its next input: from `start` (a value; undefined for a token start) and `init`;
   * `wholes` are the sequences the layer's other inputs read whole, in their order.
   */
  [Op.Generate](n: Node, start: V | undefined, init: StatesOf<V> | undefined, wholes: readonly V[]): Scanned<V>;
  /** Each sequence's element at its own last step. */
  [Op.Last](n: Node, seq: V): V;
}

/** Sequence ops the driver does itself (records of states): no backend sees them. */
type DriverOwned = Op.Final | Op.States | Op.Field;
/** Every sequence op is a backend construct or the driver's own: adding one to the op table without both is a type error here. */
const constructsAreTotal: [Exclude<SequenceOp, keyof Constructs<unknown> | DriverOwned>] extends [never] ? true : never = true;
void constructsAreTotal;

export interface ModelBackend<V> extends Constructs<V> {
  /** A model input (n.attrs.name): a single value, or a sequence when n.seq is set. */
  input(n: Node): V;
  /** A scalar constant between layers (n.attrs.value). */
  constant(n: Node): V;
  /** Any op of the table's other categories, on single values or on each step of sequences (n.seq tells which). */
  pointwise(n: Node, args: readonly V[]): V;
}

/** A node's value in the walk: a backend's, or a record of states. */
export type Driven<V> = { readonly kind: "value"; readonly v: V } | { readonly kind: "states"; readonly states: StatesOf<V> };

/** Runs the model's nodes (or those `only` these roots need) through a backend, in order; each node's value by id. */
export function driveModel<V>(ir: ModelIR, backend: ModelBackend<V>, only?: readonly NodeId[]): Driven<V>[] {
  const out: Driven<V>[] = [];
  /** Each scan's and generate's final states, by node: `final` reads its argument's. */
  const finals: (StatesOf<V> | undefined)[] = [];
  const value = (id: NodeId): V => {
    const d = out[id]!;
    if (d.kind !== "value") throw new Error(`internal: node ${id} is a record of states where a value was expected`);
    return d.v;
  };
  const record = (id: NodeId): StatesOf<V> => {
    const d = out[id]!;
    if (d.kind !== "states") throw new Error(`internal: node ${id} is a value where a record of states was expected`);
    return d.states;
  };
  const layerStates = new Map(ir.layers.map((l) => [l.name, l.ir.states.map((s) => s.name)]));
  const layerInputs = new Map(ir.layers.map((l) => [l.name, l.ir.inputs.length]));
  /** An `init = …` argument as starting states: a record's values in order, or one value for the first state. */
  const initOf = (n: Node, arg: NodeId | undefined): StatesOf<V> | undefined => {
    if (arg === undefined) return undefined;
    const names = layerStates.get(n.attrs.layer!)!;
    const d = out[arg]!;
    if (d.kind === "value") return new Map([[names[0]!, d.v]]);
    const given = [...d.states.values()];
    return new Map(names.map((name, k) => [name, given[k]!]));
  };
  const scanned = (n: Node, r: Scanned<V>): Driven<V> => {
    finals[n.id] = r.finals;
    return { kind: "value", v: r.seq };
  };
  const nodes = only ? reachable(ir.nodes, only) : ir.nodes;
  for (const n of nodes) {
    const nIn = n.attrs.layer !== undefined ? layerInputs.get(n.attrs.layer)! : 0;
    const val = (v: V): Driven<V> => ({ kind: "value", v });
    switch (n.op) {
      case Op.Input: out[n.id] = val(backend.input(n)); break;
      case Op.Const: out[n.id] = val(backend.constant(n)); break;
      case Op.Apply: out[n.id] = val(backend[Op.Apply](n, n.args.slice(0, nIn).map(value))); break;
      case Op.Map: out[n.id] = val(backend[Op.Map](n, n.args.slice(0, nIn).map(value))); break;
      case Op.Scan:
        out[n.id] = scanned(n, backend[Op.Scan](n, n.args.slice(0, nIn).map(value), initOf(n, n.attrs.hasInit ? n.args[nIn] : undefined)));
        break;
      case Op.Generate: {
        const init = initOf(n, n.attrs.hasInit ? n.args[0] : undefined);
        const wholes = layerInputs.get(n.attrs.layer!)! - 1;
        const given = n.args.slice(0, n.args.length - wholes);
        const startArg = given[n.attrs.hasInit ? 1 : 0];
        out[n.id] = scanned(n, backend[Op.Generate](n, n.dtype === "int" || startArg === undefined ? undefined : value(startArg), init, n.args.slice(given.length).map(value)));
        break;
      }
      case Op.Last: out[n.id] = val(backend[Op.Last](n, value(n.args[0]!))); break;
      case Op.Final: {
        const f = finals[n.args[0]!];
        if (!f) throw new Error(`internal: final of node ${n.args[0]}, which is not a scan or generate`);
        out[n.id] = { kind: "states", states: f };
        break;
      }
      case Op.States: out[n.id] = { kind: "states", states: new Map(n.attrs.names!.map((name, k) => [name, value(n.args[k]!)])) }; break;
      case Op.Field: {
        const f = record(n.args[0]!).get(n.attrs.name!);
        if (f === undefined) throw new Error(`internal: no state ${n.attrs.name} in the record of node ${n.args[0]}`);
        out[n.id] = val(f);
        break;
      }
      default: {
        const op: Exclude<Op, SequenceOp> = n.op; // a sequence op without its case above is a type error here
        if (opInfo[op].category === "leaf") throw new Error(`internal: a model-level ${op}`);
        out[n.id] = val(backend.pointwise(n, n.args.map(value)));
      }
    }
  }
  return out;
}

/** A driven node's backend value (an output that is a record of states has none). */
export function drivenValue<V>(d: Driven<V>): V {
  if (d.kind !== "value") throw new Error("internal: a record of states where a value was expected");
  return d.v;
}

/**
 * What a backend does for each construct's gradient, given its output's gradient (undefined: none reaches it) and,
 * for a scan, its final states'. It returns its inputs' gradients (undefined where none flows, or for token ids).
 */
export interface ConstructGradients<G> {
  [Op.Apply](n: Node, dy: G): readonly (G | undefined)[];
  [Op.Map](n: Node, dy: G): readonly (G | undefined)[];
  /** The scan's inputs' gradients and its given initial states' by the layer's state names. */
  [Op.Scan](n: Node, dy: G | undefined, dFinals: StatesOf<G>): { readonly dxs: readonly (G | undefined)[]; readonly dInit: StatesOf<G> };
  [Op.Generate](n: Node): never;
  [Op.Last](n: Node, dy: G): G;
}

export interface GradientBackend<G> extends ConstructGradients<G> {
  /** Any op of the table's other categories: its arguments' gradients. */
  pointwise(n: Node, dy: G): readonly (G | undefined)[];
  /** a + b, where the walk owns `a` (it may be written over). */
  add(a: G, b: G): G;
}

/**
 * Backpropagation through the model, the forward walk above in reverse: from gradients of some nodes' values
 * (`seeds`, a loss's), every construct's backend gradient over the nodes those seeds' roots read. Gradients into the
 * model's inputs and constants are dropped (a trainer's gradients are its params', which the backend keeps).
 */
export function backpropagate<G>(ir: ModelIR, backend: GradientBackend<G>, seeds: ReadonlyMap<NodeId, G>): void {
  const dv: (G | undefined)[] = [];
  /** Gradients of records of states (final, states), and of each scan's final states, by state name. */
  const dr: Map<string, G>[] = [];
  const addValue = (id: NodeId, g: G | undefined) => {
    if (g !== undefined) dv[id] = dv[id] === undefined ? g : backend.add(dv[id]!, g);
  };
  const addState = (id: NodeId, name: string, g: G | undefined) => {
    if (g === undefined) return;
    const m = (dr[id] ??= new Map());
    const had = m.get(name);
    m.set(name, had === undefined ? g : backend.add(had, g));
  };
  for (const [id, g] of seeds) addValue(id, g);
  const isRecord = (id: NodeId) => ir.nodes[id]!.op === Op.Final || ir.nodes[id]!.op === Op.States;
  const layerStates = new Map(ir.layers.map((l) => [l.name, l.ir.states.map((s) => s.name)]));
  const layerInputs = new Map(ir.layers.map((l) => [l.name, l.ir.inputs.length]));
  /** A layer's initial states' gradients onto its `init = …` argument: a record's states in order, or the one value. */
  const intoInit = (n: Node, arg: NodeId, dInit: StatesOf<G>) => {
    const names = layerStates.get(n.attrs.layer!)!;
    if (!isRecord(arg)) return addValue(arg, dInit.get(names[0]!));
    const given = recordNames(ir, arg);
    names.forEach((name, k) => addState(arg, given[k]!, dInit.get(name)));
  };
  const nodes = reachable(ir.nodes, [...seeds.keys()]);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    const dy = dv[n.id];
    const nIn = n.attrs.layer !== undefined ? layerInputs.get(n.attrs.layer)! : 0;
    switch (n.op) {
      case Op.Input: case Op.Const: break;
      case Op.Apply: case Op.Map:
        if (dy !== undefined) backend[n.op](n, dy).forEach((g, k) => k < nIn && addValue(n.args[k]!, g));
        break;
      case Op.Scan: {
        const dFinals = dr[n.id] ?? new Map<string, G>();
        if (dy === undefined && dFinals.size === 0) break;
        const r = backend[Op.Scan](n, dy, dFinals);
        r.dxs.forEach((g, k) => addValue(n.args[k]!, g));
        if (n.attrs.hasInit) intoInit(n, n.args[nIn]!, r.dInit);
        break;
      }
      case Op.Generate:
        if (dy !== undefined || dr[n.id]?.size) backend[Op.Generate](n);
        break;
      case Op.Last: if (dy !== undefined) addValue(n.args[0]!, backend[Op.Last](n, dy)); break;
      case Op.Final: for (const [name, g] of dr[n.id] ?? []) addState(n.args[0]!, name, g); break;
      case Op.States: for (const [name, g] of dr[n.id] ?? []) addValue(n.args[n.attrs.names!.indexOf(name)]!, g); break;
      case Op.Field: addState(n.args[0]!, n.attrs.name!, dy); break;
      default: {
        const op: Exclude<Op, SequenceOp> = n.op; // a sequence op without its case above is a type error here
        if (opInfo[op].category === "leaf") throw new Error(`internal: a model-level ${op}`);
        if (dy !== undefined) backend.pointwise(n, dy).forEach((g, k) => addValue(n.args[k]!, g));
      }
    }
  }
}

/** The state names of a record node: a final's are its layer's states, a states node's its own. */
function recordNames(ir: ModelIR, id: NodeId): readonly string[] {
  const n = ir.nodes[id]!;
  if (n.op === Op.States) return n.attrs.names!;
  const of = ir.nodes[n.args[0]!]!;
  return ir.layers.find((l) => l.name === of.attrs.layer)!.ir.states.map((s) => s.name);
}
