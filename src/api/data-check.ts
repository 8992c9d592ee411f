// A data module's examples checked against the model before the first step: inputs present and of their shapes, ids in range, targets that fit the output.
import { RnncError, UsageError } from "../diagnostics/errors.js";
import { describe } from "../diagnostics/describe.js";
import { closestNames } from "../diagnostics/suggest.js";
import { Op } from "../ir/ops.js";
import { evalDim } from "../ir/dims.js";
import type { ModelIR, ModelInputInfo } from "../ir/ir.js";
import { layerEnv, type DimEnv } from "../runtime/dims.js";
import { FLOAT32_MAX } from "../runtime/json-tensor.js";
import type { Example } from "./data.js";
import { ctcMinSteps } from "../runtime/ctc.js";
import { MAX_BEAM } from "../diagnostics/limits.js";


/** What the loss reads of the output: class ids below `classes` (cross-entropy), values of its shape (mse), or a list of labels (CTC). */
export type TargetKind = { readonly kind: "ids"; readonly classes: number } | { readonly kind: "values"; readonly shape: readonly number[] }
  | { readonly kind: "labels"; readonly classes: number; readonly blank: number };

/** One split of the examples, named as messages name it ("the training split"). */
export interface Split { readonly name: string; readonly examples: readonly Example[] }

/**
 * Every example of every split checked, the first problem reported with the example's index, the key and what was
 * expected (and how many other examples have a problem): a class id past the output's classes, a target sequence one
 * step short, a misnamed input key, a NaN, a ragged step. PyTorch stops at such data ("Target 2 is out of bounds");
 * training on it would give a number that means nothing.
 */
export function checkExamples(ir: ModelIR, env: DimEnv, output: string, target: TargetKind | undefined, splits: readonly Split[]): void {
  const bounds = tokenBounds(ir, env);
  const inputs = ir.inputs.map((inp) => ({ inp, shape: inp.shape.map((d) => evalDim(d, env)) }));
  const out = ir.outputs.find((o) => o.name === output);
  const outNode = out ? ir.nodes[out.node] : undefined;
  // The output's steps are those of the inputs with its time symbol (a generated sequence makes its own).
  const lengthFrom = outNode?.seq && outNode.op !== Op.Generate ? ir.inputs.find((i) => i.seq === outNode.seq) : undefined;
  for (const split of splits) {
    let first: RnncError | undefined, bad = 0;
    split.examples.forEach((e, k) => {
      const problem = exampleProblem(e, inputs, bounds, target, outNode?.seq !== undefined, lengthFrom);
      if (!problem) return;
      if (bad++ === 0) first = new RnncError("RNN0605", `example ${k} of ${split.name} ${problem.what}`, problem.note ? [problem.note] : [], problem.help);
    });
    if (first) throw bad > 1 ? new RnncError(first.code, first.message, [...first.notes, `${bad - 1} more example${bad > 2 ? "s" : ""} of ${split.name} ${bad > 2 ? "have" : "has"} a problem too`], first.help) : first;
  }
}

interface Problem { what: string; note?: string; help?: string }
type Shaped = { inp: ModelInputInfo; shape: readonly (number | undefined)[] };

function exampleProblem(e: Example, inputs: readonly Shaped[], bounds: ReadonlyMap<string, number>, target: TargetKind | undefined, seqOutput: boolean, lengthFrom: ModelInputInfo | undefined): Problem | undefined {
  const given = e.inputs;
  const lengths = new Map<string, number>();
  for (const { inp, shape } of inputs) {
    if (!Object.hasOwn(given, inp.name)) {
      const others = Object.keys(given).filter((k) => !inputs.some((i) => i.inp.name === k));
      const near = closestNames(inp.name, others);
      return { what: `has no input "${inp.name}"`, note: `its inputs are ${Object.keys(given).map((k) => `"${k}"`).join(", ") || "none"}; the model's are ${inputs.map((i) => `"${i.inp.name}"`).join(", ")}`, ...(near.length ? { help: `did you mean "${near[0]}"? the data module names the key` } : {}) };
    }
    const v = given[inp.name];
    const bound = bounds.get(inp.name);
    const elem = inp.dtype === "int" ? idChecker(bound) : valueChecker;
    if (inp.seq) {
      if (!Array.isArray(v) || v.length === 0) return { what: `gives input "${inp.name}" as ${Array.isArray(v) ? "an empty sequence" : describe(v)}; it is a sequence of steps of shape [${shape.join(", ")}]` };
      for (let t = 0; t < v.length; t++) {
        const p = shapeProblem(v[t], shape, elem);
        if (p) return { what: `has input "${inp.name}" at step ${t}${p}` };
      }
      const seen = lengths.get(inp.seq);
      if (seen !== undefined && seen !== v.length) return { what: `has inputs of ${seen} and ${v.length} steps where the model reads both as ${inp.seq} steps (input "${inp.name}")` };
      lengths.set(inp.seq, v.length);
    } else {
      const p = shapeProblem(v, shape, elem);
      if (p) return { what: `has input "${inp.name}"${p}` };
    }
  }
  if (!target) return undefined;
  if (!("target" in e) || e.target === undefined) return { what: "has no target" };
  const steps = lengthFrom ? lengths.get(lengthFrom.seq!) : undefined;
  if (target.kind === "labels") return labelsProblem(e.target, target, steps, lengthFrom);
  const check = target.kind === "ids" ? idChecker(target.classes, "class") : valueChecker;
  const shape = target.kind === "ids" ? [] : target.shape;
  if (seqOutput) {
    const t = e.target;
    if (!Array.isArray(t)) return { what: `has the target ${describe(t)}; the output is a sequence, so the target is one per step` };
    if (steps !== undefined && t.length !== steps)
      return { what: `has a target of ${t.length} steps for ${steps} steps of input "${lengthFrom!.name}"`, note: "the output has a step for each input step, and the loss reads one target per output step", help: t.length === steps - 1 ? "a language model's targets are its inputs shifted by one: give both the same length (inputs [x0 … x(n-2)], targets [x1 … x(n-1)])" : undefined };
    for (let s = 0; s < t.length; s++) {
      const p = shapeProblem(t[s], shape, check);
      if (p) return { what: `has a target at step ${s}${p}` };
    }
    return undefined;
  }
  const p = shapeProblem(e.target, shape, check);
  return p ? { what: `has a target${p}` } : undefined;
}

/** CTC's target: a list of class ids, none the blank, short enough to align to the example's steps. */
function labelsProblem(t: unknown, target: Extract<TargetKind, { kind: "labels" }>, steps: number | undefined, lengthFrom: ModelInputInfo | undefined): Problem | undefined {
  if (!Array.isArray(t)) return { what: `has the target ${describe(t)}; with --loss ctc a target is the example's list of labels (class ids)` };
  const check = idChecker(target.classes, "class");
  for (let i = 0; i < t.length; i++) {
    const bad = check(t[i]);
    if (bad) return { what: `has a target whose label ${i} ${bad}` };
    if (t[i] === target.blank) return { what: `has a target whose label ${i} is ${target.blank}, the blank`, note: "CTC's blank marks steps with no label; it cannot be one", help: "give the blank another class id (--blank), or leave it out of the labels" };
  }
  const need = ctcMinSteps(t as number[]);
  if (steps !== undefined && need > steps)
    return { what: `has a target of ${t.length} labels, which needs at least ${need} steps, and input "${lengthFrom!.name}" has ${steps}`, note: "CTC aligns the labels to the output's steps: one per label, and a blank between equal neighbours" };
  return undefined;
}

/**
 * Why a value is not of `shape` with elements passing `elem`, as " that is …" (with ", value [i][j]," first when the
 * problem is inside it), or undefined; walks iteratively.
 */
function shapeProblem(v: unknown, shape: readonly (number | undefined)[], elem: (x: unknown) => string | undefined): string | undefined {
  const where = (at: string) => (at ? `, value ${at},` : "");
  // A value of shape [] is a number; a one-element list is taken for a number too.
  if (shape.length === 0) {
    const bad = elem(Array.isArray(v) && v.length === 1 ? v[0] : v);
    return bad ? ` that ${bad}` : undefined;
  }
  const stack: { v: unknown; depth: number; at: string }[] = [{ v, depth: 0, at: "" }];
  while (stack.length) {
    const { v: x, depth, at } = stack.pop()!;
    if (depth === shape.length) {
      const bad = elem(x);
      if (bad) return `${where(at)} that ${bad}`;
      continue;
    }
    const want = shape[depth];
    if (!Array.isArray(x)) return `${where(at)} that is ${describe(x)}, not a list of ${want ?? "any number of"} values`;
    if (want !== undefined && x.length !== want) return `${where(at)} that has ${x.length} value${x.length === 1 ? "" : "s"} where the model takes ${want} (shape [${shape.join(", ")}])`;
    for (let i = x.length - 1; i >= 0; i--) stack.push({ v: x[i], depth: depth + 1, at: `${at}[${i}]` });
  }
  return undefined;
}

const valueChecker = (x: unknown): string | undefined =>
  typeof x !== "number" ? `is ${describe(x)}, not a number` : !Number.isFinite(x) ? `is ${x}, not a finite number` : Math.abs(x) > FLOAT32_MAX ? `is ${x}, beyond float32 (±3.4e38)` : undefined;

/** Whole numbers in [0, bound): token ids within their table, class ids within the output's classes. */
function idChecker(bound: number | undefined, what = "token id") {
  return (x: unknown): string | undefined => {
    if (typeof x !== "number" || !Number.isInteger(x)) return `is ${describe(x)}, not a ${what} (a whole number)`;
    if (x < 0 || (bound !== undefined && x >= bound)) return `is the ${what} ${x}, outside 0 … ${bound === undefined ? "" : bound - 1}${what === "class" ? ` (the output has ${bound} classes)` : ` (the table has ${bound} rows)`}`;
    return undefined;
  };
}

/** For each token-id input, the rows of the tables its layers look it up in (the smallest, when several). */
function tokenBounds(ir: ModelIR, env: DimEnv): Map<string, number> {
  const out = new Map<string, number>();
  const layers = new Map(ir.layers.map((l) => [l.name, l]));
  for (const inp of ir.inputs.filter((i) => i.dtype === "int")) {
    const node = ir.nodes.find((n) => n.op === Op.Input && n.attrs.name === inp.name);
    if (!node) continue;
    for (const n of ir.nodes) {
      const l = n.attrs.layer !== undefined ? layers.get(n.attrs.layer) : undefined;
      if (!l) continue;
      const le = layerEnv(l, env);
      n.args.forEach((a, k) => {
        if (a !== node.id) return;
        const cellInput = l.ir.inputs[k];
        const inNode = cellInput && l.ir.nodes.find((c) => c.op === Op.Input && c.attrs.name === cellInput.name);
        if (!inNode) return;
        for (const c of l.ir.nodes) {
          const rows = c.op === Op.Gather && c.args[1] === inNode.id ? evalDim(l.ir.nodes[c.args[0]!]!.shape[0]!, le)
            : c.op === Op.OneHot && c.args[0] === inNode.id && c.attrs.depth !== undefined ? evalDim(c.attrs.depth, le) : undefined;
          if (rows !== undefined) out.set(inp.name, Math.min(rows, out.get(inp.name) ?? Infinity));
        }
      });
    }
  }
  return out;
}

/** Refuses a name that is none of the model's outputs, listing them (`prefix` says what named it). */
export function assertOutput(ir: ModelIR, name: string, prefix = ""): void {
  if (!ir.outputs.some((x) => x.name === name)) throw new UsageError(`${prefix}model ${ir.name} has no output '${name}' (its outputs: ${ir.outputs.map((x) => x.name).join(", ")})`);
}

/** What `--loss` reads of the output: class ids below its last axis (cross-entropy), values of its shape (mse), or CTC's labels of a sequence of class scores. */
export function targetKindOf(ir: ModelIR, env: DimEnv, output: string, loss: "crossentropy" | "mse" | "ctc", blank = 0): TargetKind | undefined {
  const o = ir.outputs.find((x) => x.name === output);
  const node = o && ir.nodes[o.node];
  if (!node || node.op === Op.Generate || node.dtype === "int") return undefined;
  const shape = node.shape.map((d) => evalDim(d, env));
  if (shape.some((d) => d === undefined)) return undefined;
  if (loss === "mse") return { kind: "values", shape: shape as number[] };
  if (loss === "ctc") return node.seq && shape.length === 1 ? { kind: "labels", classes: shape[0]!, blank } : undefined;
  return shape.length === 1 ? { kind: "ids", classes: shape[0]! } : undefined;
}

/**
 * A CTC output's classes, the options that read it checked (training's and decoding's alike): `what` reads a sequence of
 * scores over classes ([T, C]), the blank is one of them, a beam keeps 1 … MAX_BEAM prefixes. `label` names options as the caller does.
 */
export function checkedCtc(ir: ModelIR, env: DimEnv, output: string, what: string, o: { readonly blank: number; readonly beam?: number }, label: (option: string) => string = (k) => k): Extract<TargetKind, { kind: "labels" }> {
  assertOutput(ir, output, `${what}: `);
  const kind = targetKindOf(ir, env, output, "ctc", o.blank);
  if (kind?.kind !== "labels") throw new UsageError(`${what} reads a sequence of scores over classes ([T, C]), and output '${output}' of model ${ir.name} is not one`);
  if (!(Number.isInteger(o.blank) && o.blank >= 0 && o.blank < kind.classes)) throw new UsageError(`${label("blank")} must be a class id of output '${output}', 0 … ${kind.classes - 1}, not ${o.blank}`);
  if (o.beam !== undefined && !(Number.isInteger(o.beam) && o.beam >= 1 && o.beam <= MAX_BEAM)) throw new UsageError(`${label("beam")} must be a whole number from 1 to ${MAX_BEAM}, not ${o.beam}`);
  return kind;
}
