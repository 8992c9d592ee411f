// Layers: instances of cells inside a cell or a model; finding the cell, binding and inferring its dimensions, applying it.
import type * as A from "../ast/nodes.js";
import type { Diagnostic, DiagnosticBag } from "../diagnostics/diagnostic.js";
import { closestNames, quoteList } from "../diagnostics/suggest.js";
import { dimAsName, dimConst, dimToString, dimVar, shapeEquals, shapeToString, type Dim, type Shape } from "../ir/dims.js";
import type { CellIR, NodeId } from "../ir/ir.js";
import { builtins, Op } from "../ir/ops.js";
import type { NodeBuilder } from "../ir/builder.js";
import { inlineCell, substShape, type InlineSink } from "./inline.js";
import { dimOf, optionValue, type OptionValue } from "./scope.js";

export interface FoundCell {
  readonly decl: A.CellDecl;
  readonly file: string;
  readonly text: string;
}

/** How elaboration reaches other cells: the compiler implements it (per-file scopes, a cache, a recursion guard). */
export interface CellLibrary {
  /** The cell visible as `name` from `fromFile`, or why not. */
  find(name: string, fromFile: string): FoundCell | "model" | undefined;
  visibleCells(fromFile: string): string[];
  /** The cells the standard library declares (for "add the import" help). */
  stdlibCells(): readonly string[];
  /** The cell's IR with these options, or undefined when it has errors (reported where it is declared) or contains itself. */
  elaborate(found: FoundCell, options: ReadonlyMap<string, OptionValue>): CellIR | undefined | "recursive";
  /** The errors that made `elaborate` give undefined for this cell and these options (empty if none). */
  errors(found: FoundCell, options: ReadonlyMap<string, OptionValue>): readonly Diagnostic[];
  /** Runs `f` while `decl` counts as being elaborated, so that a layer of the same cell inside it is found recursive. */
  guard<T>(decl: A.CellDecl, f: () => T): T;
}

export interface LayerContext {
  readonly file: string;
  readonly owner: { readonly name: A.Name; readonly kind: string };
  readonly ownerDims: readonly string[];
  readonly diags: DiagnosticBag;
  readonly lib: CellLibrary;
  /** The enclosing cell's options, by name: a layer's option may take one's value (`LSTM<E, H>(dropout = p)`). */
  readonly ownerOptions?: ReadonlyMap<string, OptionValue>;
}

/** A layer with its cell elaborated; dimensions written `_` are bound on first application. */
export class LayerInstance {
  applications = 0;
  constructor(
    readonly decl: A.LayerDecl,
    readonly ir: CellIR,
    /** Inner dim name → outer dim (undefined while still to be inferred). */
    readonly subst: Map<string, Dim | undefined>,
  ) {}

  get recurrent(): boolean {
    return this.ir.states.length > 0;
  }

  /** `Dense<H, C>` as the user wrote it, for messages. */
  get label(): string {
    return `${this.decl.cell.text}<${this.ir.dims.map((d) => this.subst.get(d.name) ? dimText(this.subst.get(d.name)!) : "_").join(", ")}>`;
  }
}

const dimText = (d: Dim) => shapeToString([d]).slice(1, -1);

export function instantiateLayer(decl: A.LayerDecl, ctx: LayerContext): LayerInstance | undefined {
  const { file, diags } = ctx;
  const found = ctx.lib.find(decl.cell.text, file);
  if (found === undefined || found === "model") {
    const near = closestNames(decl.cell.text, ctx.lib.visibleCells(file));
    diags.error("RNN0708", found === "model" ? `\`${decl.cell.text}\` is a model, and a layer must be a cell` : `cannot find cell \`${decl.cell.text}\``, {
      file, span: decl.cell.span, label: found === "model" ? "a model" : "no cell has this name here",
      notes: [found === "model" ? "a model composes layers; put the reusable part in a cell" : 'cells come from this file or an import such as `import { LSTM } from "std"`'],
      // A standard library cell not imported: the import that brings it, as a fix at the top of the file.
      ...(found === undefined && ctx.lib.stdlibCells().includes(decl.cell.text)
        ? { help: { message: `\`${decl.cell.text}\` is in the standard library: add \`import { ${decl.cell.text} } from "std"\``, edit: { file, span: { start: 0, end: 0 }, text: `import { ${decl.cell.text} } from "std"\n` } } }
        : near.length ? { help: { message: `did you mean \`${near[0]}\`?`, edit: { file, span: decl.cell.span, text: near[0]! } } } : {}),
    });
    return undefined;
  }
  const options = new Map<string, OptionValue>();
  let bad = false;
  for (const o of decl.options) {
    const known = found.decl.options.some((x) => x.name.text === o.name.text);
    const forwarded = o.value.kind === "name" ? ctx.ownerOptions?.get(o.value.name.text) : undefined;
    const value = forwarded ?? optionValue(o.value);
    if (!known || value === undefined) {
      bad = true;
      const names = found.decl.options.map((x) => x.name.text);
      // A misspelt option name, or a misspelt function as its value (`act = sofmax`): the nearest of each.
      // (A name of one or two letters is a typo of nothing in particular: any builtin of that length is one edit away.)
      const near = known ? (o.value.kind === "name" && o.value.name.text.length >= 3 ? closestNames(o.value.name.text, builtins.keys()) : []) : closestNames(o.name.text, names);
      const fixAt = known ? o.value.span : o.name.span;
      diags.error("RNN0208", known ? `the option \`${o.name.text}\` must be a function name or a number` : `cell \`${found.decl.name.text}\` has no option \`${o.name.text}\``, {
        file, span: known ? o.value.span : o.name.span, label: known ? "not a function name or a number" : "unknown option",
        notes: [names.length ? `its options are ${names.join(", ")}` : `\`${found.decl.name.text}\` declares no options`],
        ...(near.length ? { help: { message: `did you mean \`${near[0]}\`?`, edit: { file, span: fixAt, text: near[0]! } } }
          : known && ctx.ownerOptions?.size ? { help: { message: `give a number, a function name, or an option of the enclosing cell: ${quoteList([...ctx.ownerOptions.keys()])}` } } : {}),
      });
      continue;
    }
    options.set(o.name.text, value);
  }
  const inner = ctx.lib.elaborate(found, options);
  if (inner === "recursive") {
    diags.error("RNN0710", `cell \`${found.decl.name.text}\` contains itself`, {
      file, span: decl.cell.span, label: "this layer is the cell being defined, or one that contains it",
      notes: ["a cell's layers are inlined into it, so a cell cannot contain itself; recurrence goes through states (`h[t-1]`)"],
    });
    return undefined;
  }
  if (!inner && found.file !== file) {
    // A cell from another file with errors: those are reported there, so say here why this layer is missing.
    const first = ctx.lib.errors(found, options).find((d) => d.severity === "error");
    diags.error("RNN0712", `cell \`${found.decl.name.text}\` cannot be used: it has errors`, {
      file, span: decl.cell.span, label: `declared in ${found.file}, which has errors`,
      notes: first ? [`${found.file}: ${first.message}`] : [],
      help: { message: `fix the errors in ${found.file} first (rnnc check ${found.file} lists them)` },
    });
  }
  if (!inner || bad) return undefined;
  const want = inner.dims;
  const given = decl.dims;
  const required = want.filter((d) => d.default === undefined).length;
  if (given.length > want.length || given.length < required) {
    const sig = `${inner.name}<${want.map((d) => (d.default === undefined ? d.name : `${d.name} = ${d.default}`)).join(", ")}>`;
    diags.error("RNN0303", `\`${inner.name}\` takes ${required === want.length ? want.length : `${required} to ${want.length}`} dimensions but was given ${given.length}`, {
      file, span: decl.dimsSpan ?? decl.cell.span, label: `${given.length} given`,
      notes: [`the cell is declared \`${sig}\``],
      help: { message: "write `_` for a dimension to infer it from the layer's input" },
    });
    return undefined;
  }
  const subst = new Map<string, Dim | undefined>();
  for (let i = 0; i < want.length; i++) {
    const g = given[i];
    if (g === undefined) subst.set(want[i]!.name, dimConst(want[i]!.default!));
    else if (g === "infer") subst.set(want[i]!.name, undefined);
    else {
      const d = dimOf(g, ctx.ownerDims, ctx.owner, file, diags);
      if (!d) return undefined;
      subst.set(want[i]!.name, d);
    }
  }
  return new LayerInstance(decl, inner, subst);
}

/**
 * The shapes a layer's inputs take once its dims are bound (undefined while a dim is still unknown): per step, so an
 * input read whole (a sequence given at once) without its length axis.
 */
export function layerInputShape(inst: LayerInstance, k: number): Shape | undefined {
  const input = inst.ir.inputs[k]!;
  const out = substShape((input.memory !== undefined ? input.shape.slice(1) : input.shape).map((d) => d), inst.subst);
  return out.every((d) => d !== undefined) ? out : undefined;
}

/**
 * Checks a layer's arguments (per-step shapes in models): count, `_` dims bound from the arguments' shapes, shapes
 * and element types; from input `from` on (generate feeds the first itself). False after reporting why not.
 */
export function bindLayer(inst: LayerInstance, call: A.Expr, argExprs: readonly A.Expr[], args: readonly NodeId[], b: NodeBuilder, ctx: LayerContext, from = 0): boolean {
  const { file, diags } = ctx;
  const ir = inst.ir;
  const name = inst.decl.name.text;
  if (from === 0 && args.length !== ir.inputs.length) {
    diags.error("RNN0303", `layer \`${name}\` takes ${ir.inputs.length} input${ir.inputs.length === 1 ? "" : "s"} but was given ${args.length}`, {
      file, span: call.span, label: `${args.length} given`,
      notes: [`${inst.label} has inputs ${ir.inputs.map((i) => `${i.name}: ${shapeToString(i.shape)}`).join(", ") || "none"}`],
    });
    return false;
  }
  // Bind dimensions written `_` from the first use.
  ir.inputs.forEach((input, k) => {
    if (k < from) return;
    const argShape = b.shape(args[k]!);
    (input.memory !== undefined ? input.shape.slice(1) : input.shape).forEach((d, axis) => {
      const v = dimAsName(d);
      if (v !== undefined && inst.subst.has(v) && inst.subst.get(v) === undefined && argShape[axis]) inst.subst.set(v, argShape[axis]);
    });
  });
  for (let k = from; k < ir.inputs.length; k++) {
    const input = ir.inputs[k]!;
    const want = layerInputShape(inst, k);
    const node = b.nodes[args[k]!]!;
    const typeOk = input.dtype === node.dtype;
    if (input.memory !== undefined && ctx.owner.kind === "cell") {
      // Inside a cell: the argument is a sequence that cell reads whole, [S', …]; the layer's length is S'.
      const lengthOf = node.shape[0] && input.shape.length === node.shape.length ? dimAsName(node.shape[0]) : undefined;
      const bound = inst.subst.get(input.memory);
      const perPosition = layerInputShape(inst, k);
      if (lengthOf === undefined || ctx.ownerDims.includes(lengthOf) || (bound && !shapeEquals([bound], [node.shape[0]!])) || !perPosition || !shapeEquals(perPosition, node.shape.slice(1)) || node.dtype !== input.dtype) {
        diags.error("RNN0704", `layer \`${name}\` reads \`${input.name}\` whole, a sequence ${shapeToString(input.shape)}, but is given ${shapeToString(node.shape)}`, {
          file, span: argExprs[k]!.span, label: `this has shape ${shapeToString(node.shape)}`,
          secondary: [{ file, span: inst.decl.span, message: `\`${name}\` is ${inst.label}` }],
          notes: ["inside a cell, give it a sequence the cell itself reads whole, such as its own `input enc: [S, H]`"],
        });
        return false;
      }
      inst.subst.set(input.memory, node.shape[0]!);
      continue;
    }
    if (input.memory !== undefined && !node.seq) {
      diags.error("RNN0702", `layer \`${name}\` reads \`${input.name}\` whole, a sequence (${shapeToString(input.shape)}), but is given a single value`, {
        file, span: argExprs[k]!.span, label: `shape ${shapeToString(node.shape)}, no time axis`,
        secondary: [{ file, span: inst.decl.span, message: `\`${name}\` is ${inst.label}` }],
        notes: [`\`${input.name}\`'s first axis, ${input.memory}, is the length of a sequence the model gives, such as an encoder's outputs \`scan(encoder, xs)\``],
        help: { message: "pass a sequence here" },
      });
      return false;
    }
    if (input.memory !== undefined) {
      // The cell's length symbol stands for this sequence's (an output [S] of attention weights is one over its steps).
      const bound = inst.subst.get(input.memory);
      const seq = dimVar(node.seq!);
      if (bound && !shapeEquals([bound], [seq])) {
        diags.error("RNN0707", `layer \`${name}\` reads two sequences of length ${input.memory}, but is given sequences of lengths ${dimToString(bound)} and ${node.seq}`, {
          file, span: argExprs[k]!.span, label: `a sequence of length ${node.seq}`,
          notes: [`inputs read whole with the same first axis (${input.memory}) are positions of one sequence`],
        });
        return false;
      }
      inst.subst.set(input.memory, seq);
    }
    if (node.op === Op.Final) {
      // `final(…)` is a record of states, not one value (its "shape" [] says nothing useful).
      diags.error("RNN0704", `layer \`${name}\` expects \`${input.name}\`: one value, but is given \`final(…)\`, the record of a scan's final states`, {
        file, span: argExprs[k]!.span, label: "a record of states (each state one value)",
        secondary: [{ file, span: inst.decl.span, message: `\`${name}\` is ${inst.label}` }],
        notes: ["`final(s)` holds every state of the scan at its last step (an LSTM's h and c); `last(s)` is the scan's output at its last step"],
        help: { message: "take the last output, `last(…)`, or one state, such as `final(…).h`" },
      });
      return false;
    }
    if (!want || !shapeEquals(want, node.shape) || !typeOk) {
      const wantText = want ? shapeToString(want) : shapeToString(input.shape);
      diags.error("RNN0704", `layer \`${name}\` expects \`${input.name}\`: ${wantText}${input.dtype === "int" ? " int" : ""}, but is given ${shapeToString(node.shape)}${node.dtype === "int" ? " int" : ""}`, {
        file, span: argExprs[k]!.span, label: `this has shape ${shapeToString(node.shape)}${node.dtype === "int" ? " int" : ""}`,
        secondary: [{ file, span: inst.decl.span, message: `\`${name}\` is ${inst.label}` }],
        notes: !typeOk ? [input.dtype === "int" ? "this input takes integer token ids" : "this input takes floats, not token ids"]
          : ["a layer's dimensions are fixed where it is declared; every use must agree with them"],
        help: { message: !typeOk ? (input.dtype === "int" ? "token ids come from an `int` input, such as `input tokens: [T] int`" : "map token ids to vectors first, with an Embedding layer")
          : want ? "declare the layer with dimensions that fit, or write `_` to infer them from the input" : "give the layer's dimensions explicitly" },
      });
      return false;
    }
  }
  const unbound = ir.dims.filter((d) => inst.subst.get(d.name) === undefined).map((d) => d.name);
  if (unbound.length) {
    diags.error("RNN0711", `cannot infer dimension${unbound.length > 1 ? "s" : ""} ${unbound.join(", ")} of layer \`${name}\``, {
      file, span: inst.decl.span, label: `${inst.label}: ${unbound.join(", ")} not fixed by the input`,
      notes: ["`_` infers a dimension from the shape of the layer's input; output sizes must be written"],
      help: { message: `write the dimension${unbound.length > 1 ? "s" : ""} in \`${inst.decl.cell.text}<…>\`` },
    });
    return false;
  }
  return true;
}

/** Applies a layer inside a cell: binds it, then inlines its step. Returns its outputs by name. */
export function applyLayer(
  inst: LayerInstance, call: A.Expr, argExprs: readonly A.Expr[], args: readonly NodeId[], b: NodeBuilder, sink: InlineSink, ctx: LayerContext,
): Map<string, NodeId> | undefined {
  if (!bindLayer(inst, call, argExprs, args, b, ctx)) return undefined;
  const { file, diags } = ctx;
  const name = inst.decl.name.text;
  if (inst.recurrent && inst.applications > 0) {
    diags.error("RNN0710", `recurrent layer \`${name}\` is applied twice in one step`, {
      file, span: call.span, label: "second application",
      notes: ["a recurrent layer has one state per step; two applications would each need their own"],
      help: { message: `declare a second layer (\`layer ${name}2 = ${inst.label}\`) for a separate recurrence` },
    });
    return undefined;
  }
  inst.applications++;
  return inlineCell(inst.ir, name, inst.subst, args, b, sink, call.span);
}

/** The output a call of a layer yields: its first declared output. */
export function firstOutput(ir: CellIR, outputs: ReadonlyMap<string, NodeId>): NodeId {
  return outputs.get(ir.outputs[0]!.name)!;
}
