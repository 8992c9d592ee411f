// What every name in a file means: declarations and their uses, from the AST and the resolved imports (for navigation, rename, hover).
import type * as A from "../ast/nodes.js";
import type { CheckResult } from "../compiler.js";
import { evalDim, shapeToString, type Shape } from "../ir/dims.js";
import type { CellIR, ModelIR } from "../ir/ir.js";
import { builtins } from "../ir/ops.js";
import { randomFunctions } from "../elaborate/random-ops.js";
import { initializers } from "../ir/initializers.js";
import { constructs } from "../elaborate/constructs.js";
import { declarationsOf } from "../elaborate/declarations.js";

/** What each sequence construct of models does, for hover and completion: from the constructs table. */
export const constructDocs: Readonly<Record<string, string>> = Object.fromEntries([...constructs.values()].map((c) => [c.name, `${c.use}: ${c.doc}`]));

export type DefKind = "cell" | "model" | "dim" | "option" | "input" | "state" | "param" | "layer" | "value" | "gate" | "output";

/** A declared name. `container` is the cell or model it belongs to (none for cells and models). */
export interface Def {
  readonly name: string;
  readonly kind: DefKind;
  readonly file: string;
  readonly span: A.Span;
  /** The whole declaration (for document symbols and folding). */
  readonly declSpan: A.Span;
  readonly container: string | undefined;
  readonly doc: string | undefined;
}

/** A use of a name: a declaration here or elsewhere, or a builtin function or initializer. */
export interface Use {
  readonly span: A.Span;
  readonly def: Def | undefined;
  readonly builtin?: "function" | "initializer" | "construct";
  readonly name: string;
}

export interface FileSymbols {
  readonly defs: readonly Def[];
  readonly uses: readonly Use[];
}

/** Walks every expression (and dimension expression) below `e`. */
function walkExpr(e: A.Expr, f: (e: A.Expr) => void, dims: (d: A.DimExpr) => void): void {
  f(e);
  switch (e.kind) {
    case "call": e.args.forEach((a) => walkExpr(a, f, dims)); e.named.forEach((n) => walkExpr(n.value, f, dims)); break;
    case "binary": walkExpr(e.left, f, dims); walkExpr(e.right, f, dims); break;
    case "neg": walkExpr(e.operand, f, dims); break;
    case "lag": walkExpr(e.target, f, dims); break;
    case "slice": walkExpr(e.target, f, dims); if (e.start) walkDim(e.start, dims); if (e.end) walkDim(e.end, dims); break;
    case "paren": walkExpr(e.inner, f, dims); break;
    case "field": walkExpr(e.target, f, dims); break;
    default: break;
  }
}

function walkDim(d: A.DimExpr, f: (d: A.DimExpr) => void): void {
  f(d);
  if (d.kind === "dimBinary") { walkDim(d.left, f); walkDim(d.right, f); }
}

/** Declarations and uses of one parsed file; names of other files' cells resolve through `visible`. */
export function fileSymbols(result: CheckResult, defsOf: (file: string) => readonly Def[]): FileSymbols {
  const file = result.file;
  const module = result.parsed!.module;
  const defs: Def[] = [];
  const uses: Use[] = [];
  const top = new Map<string, Def>();
  for (const d of module.decls) {
    const def: Def = { name: d.name.text, kind: d.kind, file, span: d.name.span, declSpan: d.span, container: undefined, doc: d.doc };
    defs.push(def);
    if (!top.has(def.name)) top.set(def.name, def);
  }
  /** A cell or model by name, as seen from this file: its own, or imported (then found in the other file's defs). */
  const topLevel = (name: string): Def | undefined => {
    const v = result.visible.get(name);
    if (!v) return top.get(name);
    if (v.file === file) return top.get(name);
    return defsOf(v.file).find((d) => d.container === undefined && d.name === name);
  };
  for (const imp of module.imports) for (const n of imp.names) uses.push({ span: n.span, def: topLevel(n.text), name: n.text });

  for (const d of module.decls) {
    const local = new Map<string, Def>();
    const add = (name: A.Name, kind: DefKind, declSpan: A.Span, doc?: string) => {
      const def: Def = { name: name.text, kind, file, span: name.span, declSpan, container: d.name.text, doc };
      defs.push(def);
      if (!local.has(name.text)) local.set(name.text, def);
      return def;
    };
    // The elaborators' own declaration list; an equation naming an earlier declaration is a use of it, not a new name.
    for (const x of declarationsOf(d).names)
      if (!(local.has(x.name.text) && (x.kind === "value" || x.kind === "gate" || x.kind === "output"))) add(x.name, x.kind, x.span, x.doc);
    const nameUse = (n: A.Name) => {
      const def = local.get(n.text) ?? topLevel(n.text);
      const builtin = def ? undefined : builtins.has(n.text) || randomFunctions.has(n.text) ? "function" as const : d.kind === "model" && constructs.has(n.text) ? "construct" as const : undefined;
      uses.push({ span: n.span, def, name: n.text, ...(builtin ? { builtin } : {}) });
    };
    const dimUse = (x: A.DimExpr) => { if (x.kind === "dimName") nameUse(x.name); };
    const expr = (e: A.Expr) => walkExpr(e, (x) => {
      if (x.kind === "name") nameUse(x.name);
      if (x.kind === "call") nameUse(x.callee);
    }, dimUse);
    const shape = (s: A.ShapeAst) => s.dims.forEach((x) => walkDim(x, dimUse));
    if (d.kind === "cell") d.options.forEach((o) => expr(o.value));
    for (const item of d.items) {
      switch (item.kind) {
        case "input": shape(item.shape); break;
        case "state": shape(item.shape); if (item.init) expr(item.init); break;
        case "param":
          shape(item.shape);
          if (item.init) {
            uses.push({ span: item.init.name.span, def: undefined, name: item.init.name.text, builtin: "initializer" });
            item.init.args.forEach(expr);
          }
          break;
        case "layer":
          nameUse(item.cell);
          item.dims.forEach((x) => { if (x !== "infer") walkDim(x, dimUse); });
          item.options.forEach((o) => expr(o.value));
          break;
        case "def": {
          // A state's equation assigns the state: its name is a use of the state declaration.
          const def = local.get(item.name.text);
          if (def && def.span !== item.name.span) uses.push({ span: item.name.span, def, name: item.name.text });
          expr(item.value);
          break;
        }
        case "output":
          for (const o of item.items) {
            if (!o.value) nameUse(o.name);
            else {
              const def = local.get(o.name.text);
              if (def && def.span !== o.name.span) uses.push({ span: o.name.span, def, name: o.name.text });
              expr(o.value);
            }
          }
          break;
      }
    }
  }
  return { defs, uses };
}

const KIND_WORD: Record<DefKind, string> = {
  cell: "cell", model: "model", dim: "dimension", option: "option", input: "input", state: "state", param: "param",
  layer: "layer", value: "value", gate: "gate", output: "output",
};

/** The defaults of a declaration's dims, as an environment for concrete shapes. */
function defaultsOf(decl: A.TopDecl | undefined): Map<string, number> {
  return new Map((decl?.dims ?? []).filter((d) => d.default !== undefined).map((d) => [d.name.text, d.default!]));
}

function showShape(shape: Shape, seq: string | undefined, env: ReadonlyMap<string, number>): string {
  const symbolic = shapeToString(seq ? [new Map([[seq, 1]]), ...shape] : shape);
  const concrete = shape.map((d) => evalDim(d, env));
  const known = concrete.every((v) => v !== undefined) && shape.some((d) => [...d.keys()].some((k) => k !== ""));
  return known ? `${symbolic}, which is [${[...(seq ? [seq] : []), ...concrete].join(", ")}] with the default dims` : symbolic;
}

/** The shape of a declared name, from the elaborated IR of its cell or model. */
export function shapeOf(def: Def, result: CheckResult, span?: A.Span): string | undefined {
  if (!def.container) return undefined;
  const decl = result.parsed?.module.decls.find((d) => d.name.text === def.container);
  const env = defaultsOf(decl);
  const cell: CellIR | undefined = result.cells.get(def.container)?.ir;
  const model: ModelIR | undefined = result.models.get(def.container)?.ir;
  const byName = <T extends { name: string }>(xs: readonly T[] | undefined) => xs?.find((x) => x.name === def.name);
  if (cell) {
    const info = byName(cell.inputs) ?? byName(cell.states) ?? byName(cell.params);
    if (info) return showShape(info.shape, undefined, env);
    const v = byName(cell.values) ?? byName(cell.outputs);
    if (v) return showShape(cell.nodes[v.node]!.shape, undefined, env);
  }
  // Declared shapes, as written, when the IR does not have them (a cell with errors).
  const item = (decl?.items as readonly A.CellItem[] | undefined)?.find((i) => (i.kind === "input" || i.kind === "state" || i.kind === "param") && (i.kind === "param" ? i.names.some((n) => n.text === def.name) : i.name.text === def.name));
  if (!model && item && "shape" in item) return result.sources.get(def.file)?.slice(item.shape.span.start, item.shape.span.end);
  if (model) {
    const input = byName(model.inputs);
    if (input) return showShape(input.shape, input.seq, env);
    const out = byName(model.outputs);
    const node = out ? model.nodes[out.node] : model.nodes.find((n) => span && n.span.start === span.start && n.span.end === span.end);
    if (node && node.op !== "final") return showShape(node.shape, node.seq, env);
  }
  return undefined;
}

/** Hover text (markdown) for a declaration. */
export function describeDef(def: Def, result: CheckResult, valueSpan?: A.Span): string {
  const shape = shapeOf(def, result, valueSpan);
  const decl = result.parsed?.module.decls.find((d) => d.name.text === (def.container ?? def.name));
  let head = `${KIND_WORD[def.kind]} ${def.name}`;
  if ((def.kind === "cell" || def.kind === "model") && decl && decl.name.text === def.name && decl.span === def.declSpan)
    head = `${def.kind} ${def.name}<${decl.dims.map((d) => (d.default === undefined ? d.name.text : `${d.name.text} = ${d.default}`)).join(", ")}>`;
  if (def.kind === "dim") {
    const p = decl?.dims.find((d) => d.name.text === def.name);
    if (p?.default !== undefined) head += ` = ${p.default}`;
  }
  if (def.kind === "layer" && decl) {
    const l = (decl.items as readonly A.CellItem[]).find((i): i is A.LayerDecl => i.kind === "layer" && i.name.text === def.name);
    if (l) head = `layer ${def.name} = ${result.sources.get(def.file)?.slice(l.cell.span.start, l.span.end).trim() ?? l.cell.text}`;
  }
  const input = def.kind === "input" && decl ? (decl.items as readonly A.CellItem[]).find((i): i is A.InputDecl => i.kind === "input" && i.name.text === def.name) : undefined;
  const dtype = input?.dtype === "int" ? " int" : "";
  const lines = ["```rnn", shape ? `${head}: ${shape.split(", which")[0]}${dtype}` : head, "```"];
  if (shape?.includes("with the default dims")) lines.push(`Shape ${shape}.`);
  if (def.container) lines.push(`In ${decl?.kind ?? "declaration"} \`${def.container}\`${def.file !== result.file ? ` (${def.file})` : ""}.`);
  if (def.doc) lines.push("", def.doc);
  return lines.join("\n");
}

/** Hover text for a builtin function or an initializer. */
export function describeBuiltin(name: string, kind: "function" | "initializer" | "construct"): string | undefined {
  if (kind === "construct") return constructDocs[name] ? `\`\`\`rnn\n${name}(…)\n\`\`\`\nSequence construct: ${constructDocs[name]}.` : undefined;
  if (kind === "function") {
    const b = builtins.get(name) ?? randomFunctions.get(name);
    return b ? `\`\`\`rnn\n${name}(…)\n\`\`\`\nBuiltin function: ${b.doc}.` : undefined;
  }
  const init = initializers.get(name);
  return init ? `\`\`\`rnn\n~ ${name}\n\`\`\`\nInitializer: ${init.doc}.` : undefined;
}
