// Collects a cell's declarations into one symbol table, reporting duplicates, unknown dimensions and bad options.
import type * as A from "../ast/nodes.js";
import type { DiagnosticBag } from "../diagnostics/diagnostic.js";
import { closestNames } from "../diagnostics/suggest.js";
import { dimAdd, dimConst, dimMul, dimVar, type Dim, type Shape } from "../ir/dims.js";
import { builtins } from "../ir/ops.js";
import { declarationsOf } from "./declarations.js";

export type Sym =
  | { readonly kind: "dim"; readonly name: string; readonly span: A.Span }
  | { readonly kind: "option"; readonly name: string; readonly value: string | number; readonly span: A.Span }
  /** `memory`: the input is a whole sequence of that length, the same at every step (`input enc: [S, H]`, S no dim of the cell). */
  | { readonly kind: "input"; readonly name: string; readonly shape: Shape; readonly decl: A.InputDecl; readonly span: A.Span; readonly memory?: string }
  | { readonly kind: "state"; readonly name: string; readonly shape: Shape; readonly decl: A.StateDecl; readonly span: A.Span }
  | { readonly kind: "param"; readonly name: string; readonly shape: Shape; readonly decl: A.ParamDecl; readonly span: A.Span }
  | { readonly kind: "def"; readonly name: string; readonly value: A.Expr; readonly gate: boolean; readonly doc: string | undefined; readonly span: A.Span }
  | { readonly kind: "layer"; readonly name: string; readonly decl: A.LayerDecl; readonly span: A.Span }
  /** A declaration whose shape was wrong: already reported, so its uses stay silent. */
  | { readonly kind: "poisoned"; readonly name: string; readonly span: A.Span };

export type OptionValue = string | number;

const kindWord: Record<Sym["kind"], string> = {
  dim: "a dimension", option: "a cell option", input: "an input", state: "a state", param: "a param", def: "a value", poisoned: "a declaration", layer: "a layer",
};

export interface CellScope {
  readonly symbols: ReadonlyMap<string, Sym>;
  /** Equations assigning each state, in source order (more than one is an error reported here). */
  readonly stateAssignments: ReadonlyMap<string, { value: A.Expr; gate: boolean; doc: string | undefined; span: A.Span }>;
  readonly outputs: readonly A.OutputItem[];
}

/** Reads the value of a cell option: a function name or a number. */
export function optionValue(e: A.Expr): OptionValue | undefined {
  if (e.kind === "number") return e.value;
  if (e.kind === "neg" && e.operand.kind === "number") return -e.operand.value;
  if (e.kind === "name" && builtins.has(e.name.text)) return builtins.get(e.name.text)!.name;
  return undefined;
}

export function collectScope(cell: A.CellDecl, file: string, diags: DiagnosticBag, overrides: ReadonlyMap<string, OptionValue>): CellScope {
  const symbols = new Map<string, Sym>();
  const stateAssignments = new Map<string, { value: A.Expr; gate: boolean; doc: string | undefined; span: A.Span }>();

  const declare = (sym: Sym): void => {
    const prev = symbols.get(sym.name);
    if (prev) {
      diags.error("RNN0202", `\`${sym.name}\` is declared twice in cell \`${cell.name.text}\``, {
        file, span: sym.span, label: `declared again here as ${kindWord[sym.kind]}`,
        secondary: [{ file, span: prev.span, message: `first declared here as ${kindWord[prev.kind]}` }],
        help: { message: "give one of them another name; every name in a cell refers to exactly one thing" },
      });
      return;
    }
    symbols.set(sym.name, sym);
  };

  const decls = declarationsOf(cell);
  const dimNames = cell.dims.map((d) => d.name.text);
  // An input whose first axis is a name the cell does not declare is a whole sequence of that length (as a model's
  // input is a sequence): the step reads all of it, e.g. an encoder's outputs for attention.
  const memoryOf = (d: (typeof decls.names)[number]): string | undefined => {
    if (d.kind !== "input") return undefined;
    const first = d.decl.shape.dims[0];
    return first?.kind === "dimName" && !dimNames.includes(first.name.text) ? first.name.text : undefined;
  };
  const memories = new Map(decls.names.flatMap((d) => { const m = memoryOf(d); return m ? [[m, d.name.text] as const] : []; }));
  const shapeOf = (s: A.ShapeAst, memory?: string): Shape | undefined => {
    const dims = s.dims.map((d, axis) => {
      if (axis === 0 && memory !== undefined) return dimVar(memory);
      if (d.kind === "dimName" && memories.has(d.name.text)) {
        diags.error("RNN0205", `\`${d.name.text}\` is the length of the sequence \`${memories.get(d.name.text)}\`, which varies from batch to batch`, {
          file, span: d.span, label: "a sequence's length is known only when the cell runs",
          notes: [memory !== undefined ? "only the first axis of an input can be a sequence's length" : "params and states have sizes fixed when the cell is compiled"],
          help: { message: `use a dimension of the cell here; \`${d.name.text}\` can be the first axis of an input read whole, like \`input ${memories.get(d.name.text)}: [${d.name.text}, H]\`` },
        });
        return undefined;
      }
      return dimOf(d, dimNames, cell, file, diags);
    });
    return dims.every((d) => d !== undefined) ? (dims as Dim[]) : undefined;
  };
  for (const d of decls.names) {
    switch (d.kind) {
      case "dim": declare({ kind: "dim", name: d.name.text, span: d.name.span }); break;
      case "option": {
        const o = d.decl;
        const override = overrides.get(o.name.text);
        const value = override ?? optionValue(o.value);
        if (value === undefined) {
          const near = o.value.kind === "name" && o.value.name.text.length >= 3 ? closestNames(o.value.name.text, builtins.keys()) : [];
          diags.error("RNN0208", `the option \`${o.name.text}\` must be a function name or a number`, {
            file, span: o.value.span, label: "not a function name or a number",
            notes: ["cell options are fixed when the cell is compiled, for example `(act = tanh)` or `(forget_bias = 1.0)`"],
            help: near.length
              ? { message: `did you mean \`${near[0]}\`?`, edit: { file, span: o.value.span, text: near[0]! } }
              : { message: "for example `tanh`, `relu`, `sigmoid`, or a number such as `1.0`" },
          });
          declare(poisoned(o.name));
          break;
        }
        declare({ kind: "option", name: o.name.text, value, span: o.name.span });
        break;
      }
      case "input": case "state": case "param": {
        const memory = memoryOf(d);
        const shape = shapeOf(d.decl.shape, memory);
        declare(shape ? { kind: d.kind, name: d.name.text, shape, decl: d.decl, span: d.name.span, ...(memory ? { memory } : {}) } as Sym : poisoned(d.name));
        break;
      }
      case "layer": declare({ kind: "layer", name: d.name.text, decl: d.decl, span: d.name.span }); break;
      default: declare({ kind: "def", name: d.name.text, value: d.value, gate: d.kind === "gate", doc: d.doc, span: d.name.span });
    }
  }
  for (const a of decls.assignments) {
    const earlier = stateAssignments.get(a.name.text);
    if (earlier) {
      diags.error("RNN0402", `state \`${a.name.text}\` is assigned twice`, {
        file, span: a.name.span, label: "second assignment",
        secondary: [{ file, span: earlier.span, message: "first assigned here" }],
        notes: ["a state takes exactly one value per step, given by exactly one equation"],
        help: { message: `remove one of the equations, or give this one another name and combine them in a single equation for \`${a.name.text}\`` },
      });
      continue;
    }
    stateAssignments.set(a.name.text, { value: a.value, gate: a.gate, doc: a.doc, span: a.span });
  }
  const outputs = decls.outputs;
  return { symbols, stateAssignments, outputs };
}

const poisoned = (n: A.Name): Sym => ({ kind: "poisoned", name: n.text, span: n.span });

/** Evaluates a written dimension against the cell's dimension list. */
export function dimOf(d: A.DimExpr, dimNames: readonly string[], cell: { readonly name: A.Name; readonly kind: string }, file: string, diags: DiagnosticBag): Dim | undefined {
  switch (d.kind) {
    case "dimNumber":
      return dimConst(d.value);
    case "dimName": {
      if (dimNames.includes(d.name.text)) return dimVar(d.name.text);
      const near = closestNames(d.name.text, dimNames);
      const list = [...dimNames, d.name.text].join(", ");
      diags.error("RNN0205", `unresolved dimension \`${d.name.text}\` in ${cell.kind} \`${cell.name.text}\``, {
        file, span: d.span, label: "not a dimension of this cell",
        notes: [dimNames.length ? `the cell's dimensions are ${dimNames.join(", ")}` : "the cell declares no dimensions"],
        help: near.length
          ? { message: `did you mean \`${near[0]}\`?`, edit: { file, span: d.span, text: near[0]! } }
          : { message: `declare it with the others: \`${cell.kind} ${cell.name.text}<${list}>\`` },
      });
      return undefined;
    }
    case "dimBinary": {
      const l = dimOf(d.left, dimNames, cell, file, diags);
      const r = dimOf(d.right, dimNames, cell, file, diags);
      if (!l || !r) return undefined;
      return d.op === "*" ? dimMul(l, r) : dimAdd(l, r, d.op === "+" ? 1 : -1);
    }
  }
}
