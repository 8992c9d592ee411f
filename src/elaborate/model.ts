// Elaborates a model: inputs (single values or sequences of dynamic length), layers, and expressions over them, with the
// cell's expression elaborator and the table of sequence constructs.
import { referencedNames } from "./referenced.js";
import type * as A from "../ast/nodes.js";
import type { DiagnosticBag, Label } from "../diagnostics/diagnostic.js";
import { closestNames } from "../diagnostics/suggest.js";
import { NodeBuilder } from "../ir/builder.js";
import type { Dim } from "../ir/dims.js";
import type { DimInfo, LayerInfo, ModelInputInfo, ModelIR, NodeId, ValueInfo } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { constructs, outShape, statesOf, type ModelContext } from "./constructs.js";
import { ExprElaborator, type ValueResolver } from "./expr.js";
import { bindLayer, instantiateLayer, type CellLibrary, type LayerContext, type LayerInstance } from "./layers.js";
import { declarationsOf } from "./declarations.js";
import { dimOf, type Sym } from "./scope.js";

type MSym =
  | { kind: "dim"; name: string; span: A.Span }
  | { kind: "input"; name: string; decl: A.InputDecl; span: A.Span }
  | { kind: "layer"; name: string; decl: A.LayerDecl; span: A.Span }
  | { kind: "def"; name: string; value: A.Expr; span: A.Span; doc: string | undefined };

export interface ElaboratedModel { readonly ir: ModelIR; readonly ok: boolean }

export function elaborateModel(model: A.ModelDecl, file: string, text: string, diags: DiagnosticBag, lib: CellLibrary): ElaboratedModel {
  const itemsBefore = diags.items.length; // only what this elaboration adds is looked at (files can hold thousands of findings)
  const b = new NodeBuilder();
  const symbols = new Map<string, MSym>();
  const src = (s: A.Span) => text.slice(s.start, s.end);
  const err = (code: string, message: string, span: A.Span, label: string, more: { notes?: string[]; help?: string; secondary?: Label[] } = {}) =>
    diags.error(code, message, { file, span, label, ...(more.notes ? { notes: more.notes } : {}), ...(more.secondary ? { secondary: more.secondary } : {}), ...(more.help ? { help: { message: more.help } } : {}) });

  const declare = (s: MSym) => {
    const prev = symbols.get(s.name);
    if (prev) {
      diags.error("RNN0202", `\`${s.name}\` is declared twice in model \`${model.name.text}\``, {
        file, span: s.span, label: "declared again here", secondary: [{ file, span: prev.span, message: "first declared here" }],
        help: { message: "give one of them another name" },
      });
      return;
    }
    symbols.set(s.name, s);
  };
  const decls = declarationsOf(model);
  for (const d of decls.names) {
    if (d.kind === "dim") declare({ kind: "dim", name: d.name.text, span: d.name.span });
    else if (d.kind === "input") declare({ kind: "input", name: d.name.text, decl: d.decl, span: d.name.span });
    else if (d.kind === "layer") declare({ kind: "layer", name: d.name.text, decl: d.decl, span: d.name.span });
    else if (d.kind === "value" || d.kind === "gate" || d.kind === "output") declare({ kind: "def", name: d.name.text, value: d.value, span: d.name.span, doc: d.doc });
  }
  const outputs = decls.outputs;
  const dimNames = model.dims.map((d) => d.name.text);

  // Inputs: a first axis named by an undeclared dimension is a sequence of that dynamic length.
  const inputs: ModelInputInfo[] = [];
  const inputNodes = new Map<string, NodeId | undefined>();
  for (const s of symbols.values()) {
    if (s.kind !== "input") continue;
    const dims = s.decl.shape.dims;
    const first = dims[0];
    const seq = first?.kind === "dimName" && !dimNames.includes(first.name.text) ? first.name.text : undefined;
    const rest = (seq ? dims.slice(1) : dims).map((d) => dimOf(d, dimNames, model, file, diags));
    if (!rest.every((d): d is Dim => d !== undefined)) { inputNodes.set(s.name, undefined); continue; }
    inputs.push({ name: s.name, shape: rest, seq, dtype: s.decl.dtype, ...(s.decl.doc ? { doc: s.decl.doc } : {}), span: s.span });
    inputNodes.set(s.name, b.add(Op.Input, [], rest, s.span, { name: s.name }, s.decl.dtype, seq));
  }

  const layerCtx: LayerContext = { file, owner: model, ownerDims: dimNames, diags, lib };
  const layers = new Map<string, LayerInstance | undefined>();
  const layerOf = (n: A.Name): LayerInstance | undefined => {
    const s = symbols.get(n.text);
    if (s?.kind !== "layer") {
      const near = closestNames(n.text, [...symbols.values()].filter((x) => x.kind === "layer").map((x) => x.name));
      diags.error("RNN0709", s ? `\`${n.text}\` is not a layer` : `cannot find layer \`${n.text}\``, {
        file, span: n.span, label: "expected a layer here",
        notes: ["declare one with `layer rnn = LSTM<E, H>`"],
        ...(near.length ? { help: { message: `did you mean \`${near[0]}\`?`, edit: { file, span: n.span, text: near[0]! } } } : {}),
      });
      return undefined;
    }
    if (!layers.has(s.name)) layers.set(s.name, instantiateLayer(s.decl, layerCtx));
    return layers.get(s.name);
  };
  const outType = (inst: LayerInstance) => inst.ir.nodes[inst.ir.outputs[0]!.node]!.dtype;

  // The symbols the expression elaborator sees: the same kinds as a cell's.
  const scope = new Map<string, Sym>();
  for (const s of symbols.values()) {
    if (s.kind === "input") {
      const info = inputs.find((i) => i.name === s.name);
      scope.set(s.name, info ? { kind: "input", name: s.name, shape: info.shape, decl: s.decl, span: s.span } : { kind: "poisoned", name: s.name, span: s.span });
    } else if (s.kind === "def") scope.set(s.name, { kind: "def", name: s.name, value: s.value, gate: false, doc: s.doc, span: s.span });
    else scope.set(s.name, s);
  }

  // Definitions, in dependency order, with loops reported.
  const status = new Map<string, NodeId | "busy" | "failed">();
  const valueOf = (s: { name: string; value: A.Expr }, use: A.Name): NodeId | undefined => {
    const st = status.get(s.name);
    if (st === "busy") {
      err("RNN0405", `\`${s.name}\` depends on itself`, use.span, "used while it is being computed",
        { notes: ["a model is a graph without loops; recurrence lives in cells, over time"] });
      return undefined;
    }
    if (st === "failed") return undefined;
    if (st !== undefined) return st;
    status.set(s.name, "busy");
    const node = exprs.expr(s.value);
    status.set(s.name, node ?? "failed");
    return node;
  };

  const field = (e: A.FieldExpr): NodeId | undefined => {
    const rec = exprs.expr(e.target);
    if (rec === undefined) return undefined;
    const node = b.nodes[rec]!;
    if (node.op === Op.States) {
      // A record made here (final of a bidirectional): its field is one of its values.
      const k = node.attrs.names!.indexOf(e.field.text);
      if (k >= 0) return node.args[k]!;
      const near = closestNames(e.field.text, node.attrs.names!);
      err("RNN0709", `\`${src(e.target.span)}\` has no state \`${e.field.text}\``, e.field.span, "no such state",
        { notes: [`its states are ${node.attrs.names!.join(", ")}`], ...(near.length ? { help: `did you mean \`${near[0]}\`?` } : {}) });
      return undefined;
    }
    if (node.op !== Op.Final) {
      err("RNN0709", "only final states have fields", e.field.span, "no field here", { notes: ["`final(enc).h` is state h of scan `enc` after its last step"] });
      return undefined;
    }
    const inst = layers.get(b.nodes[node.args[0]!]!.attrs.layer!)!;
    const st = statesOf(inst).find((s) => s.name === e.field.text);
    if (!st) {
      const near = closestNames(e.field.text, statesOf(inst).map((s) => s.name));
      err("RNN0709", `layer \`${inst.decl.name.text}\` has no state \`${e.field.text}\``, e.field.span, "no such state",
        { notes: [`its states are ${statesOf(inst).map((s) => s.name).join(", ") || "none"}`], ...(near.length ? { help: `did you mean \`${near[0]}\`?` } : {}) });
      return undefined;
    }
    return b.add(Op.Field, [rec], st.shape, e.span, { name: st.name });
  };

  /** `layer(x…)`: a stateless layer on single values. */
  const applyOnce = (e: A.CallExpr, sym: { name: string; decl: A.LayerDecl }, ids: readonly NodeId[]): NodeId | undefined => {
    const inst = layerOf(sym.decl.name);
    if (!inst) return undefined;
    const seqArg = ids.findIndex((i) => b.nodes[i]!.seq);
    if (seqArg >= 0) {
      err("RNN0701", `layer \`${sym.name}\` works on one step, but \`${src(e.args[seqArg]!.span)}\` is a whole sequence`, e.span,
        `applied to a sequence of length ${b.nodes[ids[seqArg]!]!.seq}`, {
          help: inst.recurrent ? `run it over the sequence: \`scan(${sym.name}, ${e.args.map((a) => src(a.span)).join(", ")})\``
            : `apply it at every step: \`map(${sym.name}, ${e.args.map((a) => src(a.span)).join(", ")})\`, or to one step: \`${sym.name}(last(…))\``,
        });
      return undefined;
    }
    if (inst.recurrent) {
      err("RNN0703", `layer \`${sym.name}\` is recurrent, so it runs over a sequence`, e.span, "applied to a single value", {
        notes: [`${inst.label} has states ${inst.ir.states.map((s) => s.name).join(", ")}`],
        help: `run it with \`scan(${sym.name}, xs)\`, or produce a sequence with \`generate(${sym.name}, …)\``,
      });
      return undefined;
    }
    if (!bindLayer(inst, e, e.args, ids, b, layerCtx)) return undefined;
    inst.applications++;
    return b.add(Op.Apply, ids, outShape(inst), e.span, { layer: sym.name }, outType(inst));
  };

  const cx: ModelContext = {
    b, file, diags, layerCtx, layers, src, layerOf,
    expr: (e) => exprs.expr(e),
    seqOf: (ids, es) => exprs.seqOf(ids, es),
  };
  const resolver: ValueResolver = {
    valueAt: (sym, use) => (sym.kind === "input" ? inputNodes.get(sym.name) : sym.kind === "def" ? valueOf(sym, use.name) : undefined),
    stateAt: () => { throw new Error("internal: a model has no states"); },
    layerNamed: (sym) => void layerOf(sym.decl.name),
    layerCall: (sym, call, ids) => applyOnce(call, sym, ids),
    construct: (call) => {
      const c = constructs.get(call.callee.text);
      return c ? { node: c.elaborate(cx, call) } : undefined;
    },
    callables: [...constructs.keys(), ...[...symbols.values()].filter((s) => s.kind === "layer").map((s) => s.name)],
    field,
    lag: (e) => {
      err("RNN0403", "a model has no time index", e.indexSpan, "`[t-k]` is only for states inside a cell",
        { help: "write the recurrence in a cell and run it over the sequence with `scan(layer, xs)`" });
      return undefined;
    },
  };
  const exprs = new ExprElaborator(model, file, text, { symbols: scope }, b, diags, resolver);

  for (const s of symbols.values()) if (s.kind === "def") valueOf(s, { text: s.name, span: s.span });
  const outs: ValueInfo[] = [];
  for (const o of outputs) {
    const node = exprs.expr({ kind: "name", name: o.name, span: o.name.span });
    if (node !== undefined) outs.push({ name: o.name.text, node, gate: false, span: o.span });
  }
  if (!outputs.length) err("RNN0406", `model \`${model.name.text}\` has no output`, model.name.span, "this model declares no `output`", { help: "name what it produces, for example `output probs = softmax(head(last(scan(rnn, xs))))`" });
  // A layer an equation mentions is applied there, even when that equation stopped at another error first.
  const mentioned = referencedNames(model);
  for (const s of symbols.values()) {
    if (s.kind !== "layer" || layers.has(s.name) || mentioned.has(s.name)) continue;
    if (layerOf(s.decl.name))
      diags.warning("RNN0504", `layer \`${s.name}\` is never applied`, { file, span: s.span, label: "declared here, but no equation uses it", help: { message: `apply it, or remove it` } });
  }
  const layerInfos: LayerInfo[] = [...layers].filter((x): x is [string, LayerInstance] => !!x[1])
    .map(([n, inst]) => ({ name: n, ir: inst.ir, dims: new Map([...inst.subst].filter((x): x is [string, Dim] => !!x[1])), span: inst.decl.span }));
  const dims: DimInfo[] = model.dims.map((d) => ({ name: d.name.text, default: d.default, span: d.span }));
  const ok = !diags.items.slice(itemsBefore).some((d) => d.severity === "error");
  return { ir: { name: model.name.text, file, dims, inputs, layers: layerInfos, nodes: b.nodes, outputs: outs, ...(model.doc ? { doc: model.doc } : {}) }, ok };
}
