// A model run on the interpreter that also records every named value of every layer's cell at every step: `rnnc trace`'s and `rnnc run --trace`'s numbers.
import type { CellIR, ModelIR, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import type { DimEnv } from "../runtime/dims.js";
import type { Precision, Tensor } from "../runtime/tensor.js";
import { ModelRunner, type ModelOutput, type ModelRunInput, type StepperFactory } from "./run-model.js";
import { runCell, type CellRunInput, type CellRunResult } from "./run-cell.js";
import { CellStepper } from "./stepper.js";

/** A value a cell names, as a trace records it. */
export interface TracedValue {
  readonly name: string;
  /** A gate (a sigmoid's output, between 0 and 1), a state at t, or another definition or output. */
  readonly kind: "gate" | "state" | "value" | "output";
  /** The file and source offset of its equation (an inlined layer's value: in that layer's cell's file). */
  readonly file: string;
  readonly start: number;
  readonly end: number;
}

/** One use of a layer on one example: a scan, map, apply or generate, with each traced value at every step. */
export interface TracedUse {
  readonly example: number;
  readonly layer: string;
  readonly cell: string;
  /** The model's construct (`scan`, `reverse scan`, `map`, `apply`, `generate`) and its node. */
  readonly construct: string;
  readonly node: NodeId;
  readonly values: readonly TracedValue[];
  /** steps[t][k]: value k at step t (in time order, also for a reverse scan). */
  readonly steps: readonly (readonly Tensor[])[];
}

/** Every value a trace of `cell` can record, in source order: its named values, those of layers inlined in it, its outputs. */
export function traceableValues(cell: CellIR): { readonly value: TracedValue; readonly node: NodeId }[] {
  const states = new Set(cell.states.map((s) => s.name));
  const out = new Map<string, { value: TracedValue; node: NodeId }>();
  const add = (name: string, node: NodeId, kind: TracedValue["kind"], file: string, span: { start: number; end: number }) => {
    if (!out.has(name) && node < cell.nodes.length) out.set(name, { value: { name, kind, file, start: span.start, end: span.end }, node });
  };
  const kindOf = (name: string, gate: boolean): TracedValue["kind"] => (gate ? "gate" : states.has(name) ? "state" : "value");
  for (const v of cell.values) add(v.name, v.node, kindOf(v.name, v.gate), cell.file, v.span);
  for (const x of cell.inlined ?? []) for (const v of x.values ?? []) add(v.name, v.node, kindOf(v.name, v.gate), v.file, v.span);
  for (const o of cell.outputs) add(o.name, o.node, "output", cell.file, o.span);
  return [...out.values()];
}

/**
 * Runs the model as runModel does (the same outputs) and records, for each use of a layer on each example, the values
 * `pick` keeps (all by default) at every step. Beam search is not traced (its hypotheses step copies of the layer).
 */
export function traceModel(ir: ModelIR, env: DimEnv, params: ReadonlyMap<string, Tensor>, input: ModelRunInput, p: Precision = "f32",
  pick: (layer: string, value: string) => boolean = () => true): { outputs: Record<string, ModelOutput>; uses: TracedUse[] } {
  const uses = new Map<string, { use: TracedUse; steps: Tensor[][] }>();
  // (a map makes a stepper per step: each layer's choice is made once)
  const chosenOf = new Map(ir.layers.map((l) => [l.name, traceableValues(l.ir).filter((x) => pick(l.name, x.value.name))]));
  const factory: StepperFactory = (l, lenv, lparams, lp, initial, use) => {
    const chosen = chosenOf.get(l.name)!;
    if (!use || !chosen.length) return new CellStepper(l.ir, lenv, lparams, lp, initial);
    const key = `${use.example}:${use.node}`;
    let record = uses.get(key);
    if (!record) {
      const n = ir.nodes[use.node]!;
      const construct = n.op === Op.Scan && n.attrs.reverse ? "reverse scan" : n.op;
      const steps: Tensor[][] = [];
      record = { use: { example: use.example, layer: l.name, cell: l.ir.name, construct, node: use.node, values: chosen.map((x) => x.value), steps }, steps };
      uses.set(key, record);
    }
    const into = record.steps;
    return new CellStepper(l.ir, lenv, lparams, lp, initial, { nodes: chosen.map((x) => x.node), onStep: (v) => into.push(chosen.map((x) => v[x.node]!)) });
  };
  const outputs = new ModelRunner(ir, env, params, p, factory).run(input);
  const list = [...uses.values()].map(({ use }) => (use.construct === "reverse scan" ? { ...use, steps: [...use.steps].reverse() } : use));
  list.sort((a, b) => a.example - b.example || a.node - b.node);
  return { outputs, uses: list };
}

/** A cell run over a batch (as runCell runs it) with the values `pick` keeps recorded at every step of each example. */
export function traceCell(ir: CellIR, env: DimEnv, params: ReadonlyMap<string, Tensor>, input: CellRunInput, p: Precision = "f32",
  pick: (layer: string, value: string) => boolean = () => true): { result: CellRunResult; uses: TracedUse[] } {
  const chosen = traceableValues(ir).filter((x) => pick(ir.name, x.value.name));
  const uses: TracedUse[] = [];
  const result = runCell(ir, env, params, input, p, (b) => {
    const steps: Tensor[][] = [];
    uses.push({ example: b, layer: ir.name, cell: ir.name, construct: "scan", node: -1, values: chosen.map((x) => x.value), steps });
    return { nodes: chosen.map((x) => x.node), onStep: (v) => steps.push(chosen.map((x) => v[x.node]!)) };
  });
  return { result, uses };
}
