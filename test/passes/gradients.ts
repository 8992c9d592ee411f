// Gradient checks of a cell's step: the VJP's gradients against central differences of the float64 interpreter.
import { CellStepper, evalNode } from "../../src/interp/stepper.js";
import type { CellIR } from "../../src/ir/ir.js";
import { concreteShape, type DimEnv } from "../../src/runtime/dims.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { alloc, type Tensor } from "../../src/runtime/tensor.js";
import { gradName, savedName, stepVjp } from "../../src/passes/vjp.js";
import { Op } from "../../src/ir/ops.js";

type Values = Map<string, Tensor>;

/** Values for a cell's leaves: floats uniform in [-1, 1), ints (token ids) in [0, rows), rows the smallest dim. */
export function randomValues(infos: readonly { name: string; shape: CellIR["inputs"][number]["shape"]; dtype?: "float" | "int" }[], env: DimEnv, seed: number): Values {
  const rng = mulberry32(seed);
  const rows = Math.min(...env.values());
  return new Map(infos.map((i) => {
    const t = alloc(concreteShape(i.shape, env, i.name), "f64");
    for (let k = 0; k < t.data.length; k++) t.data[k] = i.dtype === "int" ? Math.floor(rng() * rows) : 2 * rng() - 1;
    return [i.name, t];
  }));
}

function run(ir: CellIR, env: DimEnv, params: Values, inputs: Values): Map<string, Tensor> {
  return new CellStepper(ir, env, params, "f64").step(inputs);
}

/** The largest relative error ‖fd − vjp‖ / max(‖fd‖, ‖vjp‖, 1e-6) over the gradients of every input and param, by name. */
export function gradientErrors(cell: CellIR, env: DimEnv, seed: number): Map<string, number> {
  const { step, vjp, saved: savedIds } = stepVjp(cell);
  const params = randomValues(step.params, env, seed);
  const inputs = randomValues(step.inputs, env, seed + 1);
  // L = Σ ⟨seed_o, o⟩ over every output of the step (outputs and new states).
  const seeds = randomValues(step.outputs.map((o) => ({ name: gradName(o.name), shape: step.nodes[o.node]!.shape })), env, seed + 2);
  const loss = (): number => {
    const out = run(step, env, params, inputs);
    let s = 0;
    for (const o of step.outputs) {
      const y = out.get(o.name)!.data;
      const w = seeds.get(gradName(o.name))!.data;
      for (let k = 0; k < y.length; k++) s += y[k]! * w[k]!;
    }
    return s;
  };
  // The forward values the VJP reads, from one evaluation of every node of the step.
  const values: (Tensor | undefined)[] = [];
  for (const n of step.nodes) values[n.id] = evalNode(n, values, env, "f64", (leaf) => (leaf.op === Op.Param ? params : inputs).get(leaf.attrs.name!)!);
  const saved = new Map(savedIds.map((id) => [savedName(id), values[id]!]));
  const analytic = run(vjp, env, params, new Map([...inputs, ...saved, ...seeds]));
  const errors = new Map<string, number>();
  const wrt = [...step.inputs.filter((i) => i.dtype === "float").map((i) => [i.name, inputs] as const), ...step.params.map((p) => [p.name, params] as const)];
  for (const [name, holder] of wrt) {
    const t = holder.get(name)!;
    const fd = new Float64Array(t.data.length);
    const h = 1e-6;
    for (let k = 0; k < t.data.length; k++) {
      const x = t.data[k]!;
      t.data[k] = x + h;
      const up = loss();
      t.data[k] = x - h;
      const down = loss();
      t.data[k] = x;
      fd[k] = (up - down) / (2 * h);
    }
    const an = analytic.get(gradName(name))!.data;
    let diff = 0, nf = 0, na = 0;
    for (let k = 0; k < fd.length; k++) {
      diff += (fd[k]! - an[k]!) ** 2;
      nf += fd[k]! ** 2;
      na += an[k]! ** 2;
    }
    errors.set(name, Math.sqrt(diff) / Math.max(Math.sqrt(nf), Math.sqrt(na), 1e-6));
  }
  return errors;
}
