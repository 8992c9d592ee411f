// The reference interpreter: runs a cell over a batch of sequences, one example and one step at a time.
import { RnncError } from "../diagnostics/errors.js";
import type { CellIR } from "../ir/ir.js";
import { concreteShape, type DimEnv } from "../runtime/dims.js";
import { CellStepper, withPrecision } from "./stepper.js";
import { index0, stack, type Precision, type Tensor } from "../runtime/tensor.js";
import type { CellRunInput, CellRunResult } from "../runtime/run-types.js";

export type { CellRunInput, CellRunResult };

/** `watchOf(b)`: what example b's stepper reports after every step (a trace's recorder), if anything. */
export function runCell(ir: CellIR, env: DimEnv, params: ReadonlyMap<string, Tensor>, input: CellRunInput, precision: Precision = "f32",
  watchOf?: (b: number) => ConstructorParameters<typeof CellStepper>[5]): CellRunResult {
  const p = precision;
  const [B, T] = batchAndTime(ir, env, input);
  const paramsP = new Map([...params].map(([k, t]) => [k, withPrecision(t, p)]));
  const outSeqs = new Map(ir.outputs.map((o) => [o.name, [] as Tensor[]]));
  const finals = new Map(ir.states.map((s) => [s.name, [] as Tensor[]]));
  for (let b = 0; b < B; b++) {
    const initial = new Map(Object.entries(input.initialStates ?? {}).map(([k, t]) => [k, index0(t, b, p)]));
    const stepper = new CellStepper(ir, env, paramsP, p, initial, watchOf?.(b));
    const xs = Object.entries(input.inputs).map(([k, t]) => [k, index0(t, b, p)] as const);
    const steps: Map<string, Tensor>[] = [];
    for (let t = 0; t < T; t++) steps.push(stepper.step(new Map(xs.map(([k, x]) => [k, index0(x, t, p)]))));
    for (const o of ir.outputs) {
      const shape = concreteShape(ir.nodes[o.node]!.shape, env, `output ${o.name}`);
      outSeqs.get(o.name)!.push(stack(steps.map((s) => s.get(o.name)!), shape, p));
    }
    for (const [k, v] of stepper.states()) finals.get(k)!.push(v);
  }
  const outputs: Record<string, Tensor> = {};
  for (const o of ir.outputs) {
    const shape = concreteShape(ir.nodes[o.node]!.shape, env, `output ${o.name}`);
    outputs[o.name] = stack(outSeqs.get(o.name)!, [T, ...shape], p);
  }
  const states: Record<string, Tensor> = {};
  for (const s of ir.states) states[s.name] = stack(finals.get(s.name)!, concreteShape(s.shape, env, `state ${s.name}`), p);
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
