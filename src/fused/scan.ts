// A scan as one fused kernel: all T steps for the whole batch forward, and backpropagation through time with the VJP.
import { evalDim } from "../ir/dims.js";
import { reachable, usersOf } from "../ir/graph.js";
import type { CellIR, Node, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { gradName, newStateName, readName, savedName, stepVjp, type StepVjp } from "../passes/vjp.js";
import type { DimEnv } from "../runtime/dims.js";
import { sizeOf } from "../runtime/tensor.js";
import { batchRows, type Rows } from "./batched.js";
import { planStages, runStages, type Stage } from "./loops.js";
import { scanHelper, splitBackward, splitForward, splits } from "./parallel.js";
import type { ScanGradients, ScanKernel, ScanOutput, ScanRun, Tape } from "./types.js";

export type { ScanGradients, ScanOutput, ScanRun, Tape } from "./types.js";
import { sumOverRows } from "./param-grads.js";
import { beginFixedScope } from "./gemm.js";
import { sameArrays, sameWeights, seen, type WeightsSeen } from "./weight-versions.js";
import { blockOf, OwnArrays, rowsAt, Slots, viewOf, type Place } from "./slots.js";
import { carryRows, longestFirst, nonIncreasing, paddingCarries, runningRows, sortedForward, sortedGradients } from "./length-order.js";
import { StateHistory } from "./state-history.js";
import { pinTape, unpinTape } from "./tape-arena.js";
import { addInto, inPlace, keep, placeAt, SpareArrays, spread } from "./scan-buffers.js";
import { explicitMasks } from "../passes/explicit-masks.js";
import { perSequenceNodes } from "../ir/whole-inputs.js";
import { isMaskInput, timeFirst, wholeInputs } from "./whole-inputs.js";
import { staticValues } from "./statics.js";

/** Where an input of the VJP comes from in the forward pass's tape or the upstream gradients. */
type LeafSource =
  | { readonly kind: "input"; readonly k: number }
  | { readonly kind: "read"; readonly state: string; readonly lag: number }
  | { readonly kind: "saved"; readonly id: NodeId }
  | { readonly kind: "seedOutput"; readonly k: number }
  | { readonly kind: "seedState"; readonly state: string };

/** Why a cell cannot run fused, or undefined when it can. */
export function fusedUnsupported(cell: CellIR): string | undefined {
  for (const s of cell.states) if (cell.nodes[s.init]!.op !== Op.Const) return `state ${s.name} starts from a value computed from params`;
  return undefined;
}

export class FusedScan implements ScanKernel {
  /** The cell as run: its masked reductions over a sequence read whole written with the mask, an input (explicit-masks.ts). */
  readonly cell: CellIR;
  /** How many inputs the caller gives (the cell's own; the masks after them are the kernel's). */
  private readonly givenInputs: number;
  readonly g: StepVjp;
  private readonly sizes: Map<string, number>;
  /** Step nodes by stage: shared (params, constants), hoisted (inputs only: all steps at once), recurrent (per step). */
  private readonly hoisted: Node[] = [];
  /** Per sequence: nodes reading only inputs read whole (and params), computed once for the B rows before the steps. */
  private readonly perSequence: Node[] = [];
  /** The per-sequence values by id (those nodes and the whole inputs): each step reads its rows, not a block of them. */
  private readonly perSequenceIds = new Set<NodeId>();
  private readonly perSequenceStages: Stage[];
  private readonly recurrent: Node[] = [];
  /** Values from outside the step loop (inputs, hoisted, static) that each step reads. */
  private readonly perStepViews: NodeId[];
  private readonly perStepVjp: Node[];
  /** The recurrent nodes and the per-step VJP as stages (elementwise runs fused into loops). */
  private readonly forwardStages: Stage[];
  /** The same without the values only the backward pass reads (a forward pass alone). */
  private readonly inferenceStages: Stage[];
  /** The hoisted nodes as stages, run once over all T·B rows. */
  private readonly hoistedStages: Stage[];
  private readonly backwardStages: Stage[];
  /** Recurrent values the VJP reads, copied out every step. */
  private readonly recurrentSaved: NodeId[];
  private readonly stackIds: NodeId[];
  /** Where each input of the VJP comes from, resolved once. */
  private readonly vjpLeaves: { readonly id: NodeId; readonly shape: number[]; readonly from: LeafSource }[];
  /** The VJP outputs that carry the recurrence (gradients of state reads) and those of the cell's float inputs. */
  private readonly readGrads: { readonly node: NodeId; readonly state: string; readonly lag: number }[];
  private readonly inputGrads: { readonly node: NodeId; readonly k: number }[];
  /** Elements per example of each cell output. */
  private readonly outputSizes: number[];
  /** Buffers of earlier calls' tapes, reused (allocating them anew each call made ~6% of a training step collection). */
  private readonly spare = new SpareArrays();
  /** The values computed from params alone in the last call, and which params they came from. */
  private lastStatics: { params: WeightsSeen; values: Map<string, Rows> } | undefined;
  /** Arrays of the values computed from params, the last update's first (two updates' worth, used in turn). */
  private staticArrays: [OwnArrays<string>, OwnArrays<string>] = [new OwnArrays(), new OwnArrays()];
  /** The param gradients' work arrays, from one backward pass to the next. */
  private readonly gradArrays = new OwnArrays();
  /** Each pinned tape's token for giving its region back when it is collected unread (tape-arena.ts). */
  private readonly pinOwners = new WeakMap<Tape, object>();
  /** Tapes whose buffers went back to the spares. */
  private readonly released = new WeakSet<Tape>();

  /**
   * `inputGradients[k]`: whether the gradient of cell input k is wanted (default: every float input's). A scan of a
   * model's own input data needs none, and its backward pass then leaves out those products (dx = dgates · W_x).
   */
  constructor(given: CellIR, readonly env: DimEnv, readonly inputGradients?: readonly boolean[]) {
    const why = fusedUnsupported(given);
    if (why) throw new Error(`internal: fused scan of an unsupported cell: ${why}`);
    const cell = (this.cell = explicitMasks(given));
    this.givenInputs = cell.inputs.filter((i) => !isMaskInput(i)).length;
    this.g = stepVjp(cell);
    const { step, vjp } = this.g;
    const size = (shape: CellIR["inputs"][number]["shape"]) => sizeOf(shape.map((d) => evalDim(d, env)!));
    this.sizes = new Map([...cell.states.map((s) => [s.name, size(s.shape)] as const), ...step.inputs.map((i) => [i.name, size(i.shape)] as const)]);
    const readNames = new Set(this.g.reads.map((r) => readName(r.state, r.lag)));
    const fixed = perSequenceNodes(cell, step.nodes);
    const perSeq = step.nodes.map((n) => n.batched && fixed.has(n.id));
    // A value of the steps that reads a per-sequence one runs per step (the hoisted values' rows are T·B, not B).
    const isRecurrent: boolean[] = [];
    for (const n of step.nodes)
      isRecurrent[n.id] = (n.op === Op.Input && readNames.has(n.attrs.name!)) || n.args.some((a) => isRecurrent[a]) || (!perSeq[n.id] && n.args.some((a) => perSeq[a]));
    // A slice of a hoisted value read only by the step is taken there (a fused loop reads it in place, by offset),
    // not copied out for all steps at once.
    const readers = usersOf(step.nodes);
    const outputIds = new Set(step.outputs.map((o) => o.node));
    for (const n of step.nodes)
      if (!isRecurrent[n.id] && !perSeq[n.id] && n.batched && n.op === Op.Slice && !outputIds.has(n.id) && (readers.get(n.id) ?? []).every((u) => isRecurrent[u.id])) isRecurrent[n.id] = true;
    for (const n of step.nodes) if (n.op !== Op.Input && n.batched) (perSeq[n.id] ? this.perSequence : isRecurrent[n.id] ? this.recurrent : this.hoisted).push(n);
    for (const n of step.nodes) if (perSeq[n.id]) this.perSequenceIds.add(n.id);
    const views = new Set<NodeId>();
    for (const n of this.recurrent) for (const a of n.args) if (!isRecurrent[a]) views.add(a);
    for (const o of step.outputs) if (!isRecurrent[o.node]) views.add(o.node);
    this.perStepViews = [...views].sort((a, b) => a - b);
    this.outputSizes = cell.outputs.map((_, k) => sizeOf(this.shapeOf(step.nodes[step.outputs[k]!.node]!)));

    const gradOutput = (name: string) => vjp.outputs.find((o) => o.name === gradName(name))!.node;
    this.readGrads = this.g.reads.map((r) => ({ node: gradOutput(readName(r.state, r.lag)), state: r.state, lag: r.lag }));
    // A mask's gradient is never wanted (it is no model value).
    const wanted = (k: number) => !isMaskInput(cell.inputs[k]!) && inputGradients?.[k] !== false;
    this.inputGrads = cell.inputs.flatMap((inp, k) => (inp.dtype === "float" && wanted(k) ? [{ node: gradOutput(inp.name), k }] : []));
    const unwanted = new Set(cell.inputs.flatMap((inp, k) => (inp.dtype === "float" && !wanted(k) ? [gradOutput(inp.name)] : [])));
    const stateSeed = new Map(cell.states.map((st) => [gradName(newStateName(st.name)), st.name]));
    const outputSeed = new Map(cell.outputs.map((o, k) => [gradName(o.name), k]));
    this.vjpLeaves = vjp.nodes.filter((n) => n.op === Op.Input).map((n) => {
      const name = n.attrs.name!;
      const k = cell.inputs.findIndex((i) => i.name === name);
      const read = this.g.reads.find((r) => readName(r.state, r.lag) === name);
      const savedId = this.g.saved.find((id) => savedName(id) === name);
      const from: LeafSource = k >= 0 ? { kind: "input", k } : read ? { kind: "read", state: read.state, lag: read.lag }
        : savedId !== undefined ? { kind: "saved", id: savedId }
        : outputSeed.has(name) ? { kind: "seedOutput", k: outputSeed.get(name)! } : { kind: "seedState", state: stateSeed.get(name)! };
      return { id: n.id, shape: this.shapeOf(n), from };
    });
    const perStepRoots = [...this.inputGrads, ...this.readGrads].map((x) => x.node);
    this.perStepVjp = reachable(vjp.nodes, perStepRoots);
    const inPerStep = new Set(this.perStepVjp.map((n) => n.id));
    const late = reachable(vjp.nodes, vjp.outputs.filter((o) => !perStepRoots.includes(o.node) && !unwanted.has(o.node)).map((o) => o.node)).filter((n) => !inPerStep.has(n.id));
    // Per-example values the parameter gradients read, kept for every step and summed over all rows at the end.
    const stack = new Set<NodeId>();
    for (const n of late) for (const a of n.args) if (vjp.nodes[a]!.batched && (inPerStep.has(a) || vjp.nodes[a]!.op === Op.Input)) stack.add(a);
    for (const n of late) if (n.op === Op.Input && n.batched) stack.add(n.id);
    // A param gradient that is itself a per-step value (a bias's is the gradient of the sum it is added to).
    for (const o of vjp.outputs) if (!perStepRoots.includes(o.node) && !unwanted.has(o.node) && vjp.nodes[o.node]!.batched && !late.some((n) => n.id === o.node)) stack.add(o.node);
    this.stackIds = [...stack].sort((a, b) => a - b);
    const inRecurrent = new Set(this.recurrent.map((n) => n.id));
    this.recurrentSaved = this.g.saved.filter((id) => inRecurrent.has(id));
    this.perSequenceStages = planStages(this.perSequence, step.nodes, env, [...this.perStepViews, ...this.g.saved, ...this.hoisted.flatMap((n) => n.args)]);
    this.hoistedStages = planStages(this.hoisted, step.nodes, env, [...this.perStepViews, ...this.g.saved]);
    this.forwardStages = planStages(this.recurrent, step.nodes, env, [...step.outputs.map((o) => o.node), ...this.recurrentSaved]);
    this.inferenceStages = planStages(this.recurrent, step.nodes, env, step.outputs.map((o) => o.node));
    const perStepComputed = this.perStepVjp.filter((n) => n.batched && n.op !== Op.Input);
    this.backwardStages = planStages(perStepComputed, vjp.nodes, env, [...perStepRoots, ...this.stackIds]);
  }

  /** Each node's shape in this kernel's dims, evaluated once. */
  private readonly shapes = new Map<Node, number[]>();
  private shapeOf(n: Node): number[] {
    let s = this.shapes.get(n);
    if (!s) this.shapes.set(n, (s = n.shape.map((d) => evalDim(d, this.env)!)));
    return s;
  }

  /** The fused loops whose last run was in JS rather than WebAssembly SIMD, each with its ops and why (for --explain). */
  loopsInJs(): string[] {
    return [this.perSequenceStages, this.hoistedStages, this.forwardStages, this.inferenceStages, this.backwardStages].flat().flatMap((st) =>
      st.kind === "loop" && st.loop.path === "js" ? [`a loop of ${[...new Set(st.loop.members.map((m) => m.node.op))].join(", ")} runs in JS: ${st.loop.whyJs}`] : []);
  }

  /**
   * All T steps; `training: false` keeps none of the values only the backward pass needs (its tape has no `saved`).
   * With a helper thread installed, a large enough batch is split between it and this thread.
   */
  forward(params: ReadonlyMap<string, Float32Array>, run: ScanRun, training = true): ScanOutput {
    // Rows longest first, so that each step computes only the rows still running (a prefix); put back after.
    const order = longestFirst(run.lengths);
    if (order) return sortedForward(run, order, (r) => this.forward(params, r, training), run.buffers ?? this.spare);
    const h = scanHelper();
    if (h && splits(run)) return splitForward(this, h, params, run, training, (r) => this.forwardRows(params, r, training));
    return this.forwardRows(params, run, training);
  }

  private forwardRows(params: ReadonlyMap<string, Float32Array>, run: ScanRun, training: boolean): ScanOutput {
    beginFixedScope();
    const { step, saved: savedIds } = this.g;
    const { T, B } = run;
    if (run.lengths && !nonIncreasing(run.lengths)) throw new Error("internal: a fused scan's rows not longest first (see forward)");
    // A training pass's tape (the states' history and the per-step saved values), pinned before anything else is taken.
    const owner = {};
    const pinned = training ? pinTape(owner, this.cell.states.map((st) => ({ name: st.name, size: this.sizes.get(st.name)! })),
      this.recurrentSaved.map((id) => ({ id, size: sizeOf(this.shapeOf(step.nodes[id]!)) })), T, B) : undefined;
    const v: Rows[] = [];
    // Values computed from params alone: kept from the last call while the params are the same (see weight-versions.ts).
    // The same arrays written since (the fused trainer's updates): computed again into the arrays of the update before
    // last (a tape of the last update may still be read), so no new memory each update.
    if (!sameWeights(this.lastStatics?.params, params)) {
      const inPlace = sameArrays(this.lastStatics?.params, params);
      this.staticArrays = inPlace ? [this.staticArrays[1], this.staticArrays[0]] : [new OwnArrays(), new OwnArrays()];
      this.lastStatics = { params: seen(params), values: new Map() };
    }
    const statics = this.lastStatics!.values;
    staticValues(params, step.nodes.filter((n) => !n.batched), v, statics, this.env, (n) => this.shapeOf(n), this.staticArrays[0]);
    const inputIndex = new Map(this.cell.inputs.map((inp, k) => [inp.name, k]));
    const wholeXs = wholeInputs(this.cell, run);
    // Hoisted: every step at once, rows in time order; per sequence: once, a row per example.
    const whole: Rows[] = [...v];
    for (const n of step.nodes) if (n.op === Op.Input && inputIndex.has(n.attrs.name!)) {
      const k = inputIndex.get(n.attrs.name!)!;
      whole[n.id] = wholeXs.has(k) ? batchRows(wholeXs.get(k)!, this.shapeOf(n), B) : batchRows(run.xs[k]!, this.shapeOf(n), T * B);
    }
    runStages(this.perSequenceStages, whole, B, this.env, new Slots());
    runStages(this.hoistedStages, whole, T * B, this.env, new Slots());
    const init = new Map(this.cell.states.map((s) => {
      const size = this.sizes.get(s.name)!;
      const given = run.init?.get(s.name);
      return [s.name, given ?? new Float32Array(B * size).fill(this.cell.nodes[s.init]!.attrs.value!)] as const;
    }));
    const recurrentSaved = new Set(training ? this.recurrentSaved : []);
    const saved = new Map<NodeId, { data: Place; hoisted: boolean; perSequence?: boolean }>();
    if (training) for (const id of savedIds) saved.set(id, recurrentSaved.has(id) ? { data: pinned?.saved.get(id) ?? this.spare.take(T * B * sizeOf(this.shapeOf(step.nodes[id]!))), hoisted: false } : { data: keep(whole[id]!), hoisted: true, perSequence: this.perSequenceIds.has(id) });
    // Outputs into the caller's spare arrays where it gave some (zeroed where rows stop early: those stay 0).
    const ys = this.outputSizes.map((n) => (run.buffers ?? this.spare).take(T * B * n, run.lengths !== undefined));
    // The states' values at every step live in the kernel memory for the call: read and written there in place.
    const history = new StateHistory(this.cell.states.map((st) => ({ name: st.name, size: this.sizes.get(st.name)! })), T, B, init, pinned?.history);
    const readNodes = step.nodes.filter((n) => n.op === Op.Input && !inputIndex.has(n.attrs.name!));
    const readOf = new Map(this.g.reads.map((r) => [readName(r.state, r.lag), r]));
    const newState = this.cell.states.map((_, k) => step.outputs[this.cell.outputs.length + k]!.node);
    // Each new state is written straight into its step's block (a node that is two states' is copied to the second),
    // and so is each saved value of a pinned tape (unless it is a state's): where, and how many floats a row.
    const binds = [
      ...this.cell.states.flatMap((st, k) => (newState.indexOf(newState[k]!) === k ? [{ id: newState[k]!, at: (s: number) => history.place(st.name, s), size: this.sizes.get(st.name)! }] : [])),
      ...[...recurrentSaved].flatMap((id) => {
        const at = saved.get(id)!.data, size = sizeOf(this.shapeOf(step.nodes[id]!));
        return typeof at === "number" && !newState.includes(id) ? [{ id, at: (s: number) => at + s * B * size, size }] : [];
      }),
    ];

    // Each step's outputs (and saved values not written in place) are copied out before the next step writes over them.
    const pool = new Slots();
    const cur: Rows[] = [];
    for (let s = 0; s < T; s++) {
      const t = run.reverse ? T - 1 - s : s;
      // The rows computed: rows come longest first, so only those still running (the rest keep their states, output 0).
      const R = runningRows(run.lengths, B, t);
      for (const id of this.perStepViews) cur[id] = whole[id]!.shared ? whole[id]! : blockOf(whole[id]!, this.perSequenceIds.has(id) ? 0 : t, B, R);
      for (const n of readNodes) {
        const r = readOf.get(n.attrs.name!)!;
        cur[n.id] = history.read(r.state, s - r.lag, R, this.shapeOf(n));
      }
      for (const b of binds) pool.bind(b.id, b.at(s), R * b.size);
      if (R > 0) runStages(training ? this.forwardStages : this.inferenceStages, cur, R, this.env, pool);
      this.cell.states.forEach((st, k) => history.write(st.name, s, R, R > 0 ? cur[newState[k]!] : undefined));
      if (R > 0) ys.forEach((y, k) => {
        const size = y.length / (T * B);
        y.set(spread(cur[step.outputs[k]!.node]!, R).subarray(0, R * size), t * B * size);
      });
      if (R > 0) for (const id of recurrentSaved) {
        const size = sizeOf(cur[id]!.shape), at = placeAt(saved.get(id)!.data, s * B * size);
        if (!inPlace(cur[id]!, at)) viewOf(at, R * size).set(spread(cur[id]!, R).subarray(0, R * size));
      }
    }
    const finals = new Map(this.cell.states.map((st) => [st.name, T > 0 ? history.copyOf(st.name, T - 1) : new Float32Array(init.get(st.name)!)]));
    const tape: Tape = { run, history: !training ? new Map() : pinned ? history.places() : history.arrays(this.spare), init, saved, ...(wholeXs.size ? { wholeXs } : {}), ...(training ? { statics } : {}), ...(pinned ? { pinned: pinned.at } : {}) };
    if (pinned) this.pinOwners.set(tape, owner);
    if (!training) this.release(tape); // no backward pass will read it
    return { ys, finals, tape };
  }

  /** Gradients of inputs, initial states and params; `borrow`: params' may be the kernel's, valid until its next call. */
  backward(params: ReadonlyMap<string, Float32Array>, tape: Tape, dys: readonly (Float32Array | undefined)[], dFinals: ReadonlyMap<string, Float32Array>, borrow = false): ScanGradients {
    if (tape.sorted) return sortedGradients(tape, dys, dFinals, (t, d, f) => this.backward(params, t, d, f, borrow), this.spare);
    if (!tape.split) return this.backwardRows(params, tape, dys, dFinals, borrow);
    const h = scanHelper();
    if (!h) throw new Error("internal: a split forward pass's gradient asked for after its helper thread was removed");
    return splitBackward(this, h, params, tape.split, tape.run, dys, dFinals, (t, d, f) => this.backwardRows(params, t, d, f));
  }

  private backwardRows(params: ReadonlyMap<string, Float32Array>, tape: Tape, dys: readonly (Float32Array | undefined)[], dFinals: ReadonlyMap<string, Float32Array>, borrow = false): ScanGradients {
    beginFixedScope();
    const { vjp } = this.g;
    const { run } = tape;
    const { T, B } = run;
    const v: Rows[] = [];
    if (this.released.has(tape)) throw new Error("internal: a fused scan's tape read by a second backward pass (or one of a forward pass not for training)");
    staticValues(params, vjp.nodes.filter((n) => !n.batched), v, tape.statics ?? new Map(), this.env, (n) => this.shapeOf(n));
    const dState = new Map(this.cell.states.map((s) => [s.name, this.spare.take(T * B * this.sizes.get(s.name)!, true)]));
    const dInit = new Map(this.cell.states.map((s) => [s.name, new Float32Array(B * this.sizes.get(s.name)!)]));
    const dAt = (name: string, s: number): Float32Array => {
      const size = this.sizes.get(name)!;
      return s < 0 ? dInit.get(name)! : dState.get(name)!.subarray(s * B * size, (s + 1) * B * size);
    };
    const reached = new Set<string>(); // the state gradients written so far (the rest are still zero)
    for (const [name, d] of dFinals) if (T > 0) {
      addInto(dAt(name, T - 1), d);
      reached.add(`${name}@${T - 1}`);
    }
    const wholeXs = tape.wholeXs ?? new Map<number, Float32Array>();
    // An input read whole gets the sum of every step's gradient, a row per example (time-major again at the end).
    const dxs: (Float32Array | undefined)[] = this.cell.inputs.map((inp, k) => (this.inputGrads.some((g) => g.k === k) ? this.spare.take((wholeXs.has(k) ? 1 : T) * B * this.sizes.get(inp.name)!, true) : undefined));
    // Values the parameter gradients read, one block per step, kept in the kernel memory while there is room: the
    // backward loops write each step's block in place and the sums' products read them where they are.
    // Rows longest first: each step's block holds only the rows that ran (every row of every step otherwise), so the
    // sums over rows add no padding.
    const ran = Array.from({ length: T }, (_, s) => runningRows(run.lengths, B, run.reverse ? T - 1 - s : s));
    const rowsBefore: number[] = []; // rows of the steps processed before step s (from the last step down)
    let total = 0;
    for (let s = T - 1; s >= 0; s--) { rowsBefore[s] = total; total += ran[s]!; }
    const kept = new Slots();
    const stacks = new Map(this.stackIds.map((id) => {
      const size = sizeOf(this.shapeOf(vjp.nodes[id]!)); // floats per row
      return [id, { size, place: kept.place(id, total * size) }] as const;
    }));
    // An output no gradient flows into (its upstream gradient left out) seeds zeros, one buffer for every step.
    const noGradient = this.outputSizes.map((n, k) => (dys[k] ? undefined : new Float32Array(B * n)));
    /** A leaf's first R rows at step s (time t), read where the tape keeps it. */
    const leafValue = (from: LeafSource, shape: readonly number[], s: number, t: number, R: number): Rows => {
      const size = sizeOf(shape);
      /** Rows `block`·B … `block`·B + R of a value in blocks of B rows, read where it is. */
      const rows = (p: Place, block: number) => rowsAt(placeAt(p, block * B * size), R * size, shape, false, R);
      switch (from.kind) {
        case "input": return wholeXs.has(from.k) ? rows(wholeXs.get(from.k)!, 0) : rows(run.xs[from.k]!, t);
        case "read": return s - from.lag < 0 ? rows(tape.init.get(from.state)!, 0) : rows(tape.history.get(from.state)!, s - from.lag);
        case "saved": {
          const sv = tape.saved.get(from.id)!;
          return rows(sv.data, sv.perSequence ? 0 : sv.hoisted ? t : s);
        }
      }
      // A seed: the gradient of an output or of a new state (rows longest first: padded steps are past R, none seeded).
      return from.kind === "seedState" ? rows(dState.get(from.state)!, s) : rows(dys[from.k] ?? noGradient[from.k]!, dys[from.k] ? t : 0);
    };
    const pool = new Slots();
    const cur: Rows[] = [...v];
    for (let s = T - 1; s >= 0; s--) {
      const t = run.reverse ? T - 1 - s : s;
      const R = ran[s]!; // the rows that ran at this step (see forwardRows)
      for (const l of this.vjpLeaves) cur[l.id] = leafValue(l.from, l.shape, s, t, R);
      for (const [id, st] of stacks) pool.bind(id, placeAt(st.place, rowsBefore[s]! * st.size), R * st.size);
      if (R > 0) {
        runStages(this.backwardStages, cur, R, this.env, pool);
        for (const { node, k } of this.inputGrads)
          if (wholeXs.has(k)) addInto(dxs[k]!, spread(cur[node]!, R));
          else dxs[k]!.set(spread(cur[node]!, R), t * B * this.sizes.get(this.cell.inputs[k]!.name)!);
        for (const { node, state, lag } of this.readGrads) {
          // The first gradient to reach a step's state is written, the rest added (most states have one read, at
          // t-1); rows past R are left as they are (zero, or what a later step's padding handed on).
          const into = dAt(state, s - lag), slot = `${state}@${Math.max(s - lag, -1)}`; // every step before the first is the initial state
          if (reached.has(slot)) addInto(into, spread(cur[node]!, R));
          else into.set(spread(cur[node]!, R));
          reached.add(slot);
        }
      }
      // Padded steps keep a row's state: its gradient passes through them unchanged, handed on once per row.
      for (const [from, to, b0, b1] of paddingCarries(run, s, ran)) carryRows(this.cell.states.map((st) => [this.sizes.get(st.name)!, dAt(st.name, from), dAt(st.name, to)]), b0, b1);
      for (const [id, st] of stacks) {
        const at = placeAt(st.place, rowsBefore[s]! * st.size);
        if (R > 0 && !inPlace(cur[id]!, at)) viewOf(at, R * st.size).set(spread(cur[id]!, R)); // a value no loop wrote (an input of the VJP)
      }
    }
    // Parameter gradients: summed over every row that ran at once (outer products as one large product each).
    const rowsOf = (id: NodeId): Rows | undefined => {
      const st = stacks.get(id);
      return st ? rowsAt(st.place, total * st.size, this.shapeOf(vjp.nodes[id]!), false, total) : v[id];
    };
    const sums = sumOverRows(vjp.nodes, this.cell.params.map((p) => vjp.outputs.find((x) => x.name === gradName(p.name))!.node), rowsOf, this.env, total, this.gradArrays, borrow);
    const dParams = new Map(this.cell.params.map((p, k) => [p.name, sums[k]!] as const));
    for (const d of dState.values()) this.spare.give(d);
    this.release(tape);
    // The caller's inputs only (the masks come after them).
    return { dxs: dxs.slice(0, this.givenInputs).map((d, k) => (d && wholeXs.has(k) ? timeFirst(d, run.wholes![k]!.S, B) : d)), dInit, dParams };
  }

  /** A tape no backward pass will read (a gradient not taken): its buffers and pinned region given back now, not when collected. */
  discard(tape: Tape): void {
    if (tape.sorted) return this.discard(tape.sorted.tape);
    const local = tape.split?.local ?? tape;
    if (!this.released.has(local)) this.release(local);
  }

  /** A tape no backward pass will read again: its buffers go back to the spares for the next call. */
  private release(tape: Tape): void {
    this.released.add(tape);
    for (const h of tape.history.values()) if (typeof h !== "number") this.spare.give(h);
    for (const sv of tape.saved.values()) if (!sv.hoisted && typeof sv.data !== "number") this.spare.give(sv.data);
    if (tape.pinned !== undefined) unpinTape(this.pinOwners.get(tape)!, tape.pinned);
  }
}
