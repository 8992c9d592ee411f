// Elaborates one cell declaration into its CellIR: equations in dependency order, states with lags, outputs.
import { referencedNames } from "./referenced.js";
import type * as A from "../ast/nodes.js";
import type { DiagnosticBag, Label } from "../diagnostics/diagnostic.js";
import { broadcastShape } from "../ir/shapes.js";
import { shapeEquals, shapeToString } from "../ir/dims.js";
import type { CellIR, InlinedLayer, NodeId, ParamInfo, StateInfo, ValueInfo, InputInfo } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { NodeBuilder } from "../ir/builder.js";
import { applyLayer, firstOutput, instantiateLayer, type CellLibrary, type LayerInstance } from "./layers.js";
import type { InlineSink } from "./inline.js";
import { ExprElaborator, type ValueResolver } from "./expr.js";
import { initializerOf } from "./initializers.js";
import { collectScope, type OptionValue, type Sym } from "./scope.js";
import { deepChainsFirst } from "./chains.js";

type Status = NodeId | "busy" | "failed";

export interface Elaborated {
  readonly ir: CellIR;
  /** False when the cell has errors (all reported); the IR then holds only what elaborated cleanly. */
  readonly ok: boolean;
}

export function elaborateCell(
  cell: A.CellDecl, file: string, text: string, diags: DiagnosticBag, lib: CellLibrary, overrides: ReadonlyMap<string, OptionValue> = new Map(),
): Elaborated {
  const itemsBefore = diags.items.length; // only what this elaboration adds is looked at (files can hold thousands of findings)
  const scope = collectScope(cell, file, diags, overrides);
  const b = new NodeBuilder();
  const status = new Map<string, Status>();
  const stack: { name: string; span: A.Span }[] = [];
  const maxLag = new Map<string, number>();

  const equationOf = (sym: Sym): { value: A.Expr; span: A.Span } | undefined =>
    sym.kind === "def" ? sym : sym.kind === "state" ? scope.stateAssignments.get(sym.name) : undefined;

  const evaluate = (sym: Sym, use: A.NameExpr | undefined): NodeId | undefined => {
    const eq = equationOf(sym);
    if (!eq) return undefined; // an unassigned state: reported once, below
    const st = status.get(sym.name);
    if (st === "failed") return undefined;
    if (st === "busy") {
      reportCycle(sym, use);
      return undefined;
    }
    if (st !== undefined) return st;
    status.set(sym.name, "busy");
    stack.push({ name: sym.name, span: eq.span });
    const node = exprs.expr(eq.value);
    stack.pop();
    status.set(sym.name, node ?? "failed");
    return node;
  };

  const reportCycle = (sym: Sym, use: A.NameExpr | undefined): void => {
    const from = stack.findIndex((s) => s.name === sym.name);
    const cycle = stack.slice(from);
    const path = [...cycle.map((s) => s.name), sym.name].map((n) => `\`${n}\``).join(" → ");
    const span = use?.span ?? sym.span;
    const secondary: Label[] = cycle.map((s) => ({ file, span: s.span, message: `\`${s.name}\` is computed here` }));
    diags.error("RNN0405", `\`${sym.name}\` depends on itself within one step`, {
      file, span, label: `this reads \`${sym.name}\` at step t, while it is being computed`,
      secondary,
      notes: [`the values form a loop: ${path}`, "a bare name in a cell is the value at the current step t"],
      help: sym.kind === "state"
        ? { message: `to read the previous step's value, write \`${sym.name}[t-1]\``, edit: { file, span, text: `${sym.name}[t-1]` } }
        : { message: "break the loop: one of these values must come from a state at an earlier step, such as `h[t-1]`" },
    });
  };

  // Layers' params and states, added as their applications are inlined.
  const layerParams: ParamInfo[] = [];
  const layerStates: StateInfo[] = [];
  const inlined: InlinedLayer[] = [];
  const sink: InlineSink = {
    layer: (prefix, inner, inputs, values) => { inlined.push({ prefix, cell: inner, inputs: [...inputs], ...(values.length ? { values } : {}) }); },
    param: (name, shape, init, span) => { layerParams.push({ name, shape, init, span }); },
    state: (name, shape, init, update, lag, span) => { layerStates.push({ name, shape, init, update, maxLag: lag, span }); },
  };
  const layers = new Map<string, LayerInstance | undefined>();
  const ownerOptions = new Map([...scope.symbols.values()].flatMap((s) => (s.kind === "option" ? [[s.name, s.value] as const] : [])));
  const layerCtx = { file, owner: cell, ownerDims: cell.dims.map((d) => d.name.text), diags, lib, ownerOptions };
  const resolver: ValueResolver = {
    layerCall(sym, call, args) {
      if (!layers.has(sym.name)) layers.set(sym.name, instantiateLayer(sym.decl, layerCtx));
      const inst = layers.get(sym.name);
      if (!inst) return undefined;
      const outs = applyLayer(inst, call, call.args, args, b, sink, layerCtx);
      return outs && firstOutput(inst.ir, outs);
    },
    valueAt(sym, use) {
      switch (sym.kind) {
        case "input":
          return b.leaf(Op.Input, sym.name, sym.shape, sym.span, undefined, sym.decl.dtype);
        case "param":
          return b.leaf(Op.Param, sym.name, sym.shape, sym.span);
        default:
          return evaluate(sym, use);
      }
    },
    stateAt(sym, lag) {
      maxLag.set(sym.name, Math.max(maxLag.get(sym.name) ?? 0, lag));
      return b.leaf(Op.StateRead, sym.name, sym.shape, sym.span, lag);
    },
  };
  const exprs = new ExprElaborator(cell, file, text, scope, b, diags, resolver);

  // Initial values of states may use params, options and numbers only: they are fixed before step 0.
  const initResolver: ValueResolver = {
    valueAt(sym, use) {
      if (sym.kind === "param") return b.leaf(Op.Param, sym.name, sym.shape, sym.span);
      diags.error("RNN0207", `the initial value of a state cannot use \`${sym.name}\``, {
        file, span: use.span, label: `\`${sym.name}\` has no value before the first step`,
        notes: ["an initial value is computed once, before step 0, from params, cell options and numbers"],
      });
      return undefined;
    },
    stateAt(sym) {
      return resolver.stateAt(sym, 1, sym.span);
    },
    layerCall(sym, call) {
      diags.error("RNN0207", "the initial value of a state cannot apply a layer", {
        file, span: call.span, label: `\`${sym.name}\` applied before the first step`,
        notes: ["an initial value is computed once, before step 0, from params, cell options and numbers"],
      });
      return undefined;
    },
  };
  const initExprs = new ExprElaborator(cell, file, text, scope, b, diags, initResolver);

  // A long chain of equations from its far end, so that no evaluation recurses through the whole chain.
  for (const sym of deepChainsFirst(scope.symbols, equationOf)) evaluate(sym, undefined);
  // Every equation, in source order, so that every error is found even in values nothing uses.
  for (const sym of scope.symbols.values()) if (sym.kind === "def") evaluate(sym, undefined);
  const states: StateInfo[] = [];
  const values: ValueInfo[] = [];
  for (const sym of scope.symbols.values()) {
    if (sym.kind === "def" && typeof status.get(sym.name) === "number")
      values.push({ name: sym.name, node: status.get(sym.name) as NodeId, gate: sym.gate, ...(sym.doc ? { doc: sym.doc } : {}), span: sym.span });
    if (sym.kind !== "state") continue;
    const assignment = scope.stateAssignments.get(sym.name);
    if (!assignment) {
      diags.error("RNN0401", `state \`${sym.name}\` is never assigned`, {
        file, span: sym.span, label: "declared here, but no equation gives its next value",
        notes: ["each step must compute every state's new value"],
        help: { message: `add an equation such as \`${sym.name} = tanh(W @ ${sym.name}[t-1] + U @ x + b)\`` },
      });
      continue;
    }
    const update = evaluate(sym, undefined);
    const init = stateInit(sym);
    if (update === undefined || init === undefined) continue;
    values.push({ name: sym.name, node: update, gate: assignment.gate, ...(assignment.doc ? { doc: assignment.doc } : {}), span: assignment.span });
    if (!shapeEquals(b.shape(update), sym.shape)) {
      diags.error("RNN0305", `state \`${sym.name}\` is declared ${shapeToString(sym.shape)} but its equation gives ${shapeToString(b.shape(update))}`, {
        file, span: assignment.value.span, label: `this has shape ${shapeToString(b.shape(update))}`,
        secondary: [{ file, span: sym.decl.shape.span, message: "declared shape" }],
      });
      continue;
    }
    states.push({
      name: sym.name, shape: sym.shape, init, maxLag: maxLag.get(sym.name) ?? 0, update,
      ...(sym.decl.doc ? { doc: sym.decl.doc } : {}), span: sym.span,
    });
  }

  function stateInit(sym: Sym & { kind: "state" }): NodeId | undefined {
    const e = sym.decl.init;
    if (!e) return b.add(Op.Const, [], [], sym.span, { value: 0 });
    const node = initExprs.expr(e);
    if (node === undefined) return undefined;
    const r = broadcastShape(b.shape(node), sym.shape);
    if (!r.ok || !shapeEquals(r.shape, sym.shape)) {
      diags.error("RNN0305", `the initial value of state \`${sym.name}\` has shape ${shapeToString(b.shape(node))}, not ${shapeToString(sym.shape)}`, {
        file, span: e.span, label: `this has shape ${shapeToString(b.shape(node))}`,
        secondary: [{ file, span: sym.decl.shape.span, message: "declared shape" }],
        help: { message: "use a number (it fills the state) or a param of the state's shape" },
      });
      return undefined;
    }
    return node;
  }

  const outputs: ValueInfo[] = [];
  for (const o of scope.outputs) {
    const sym = scope.symbols.get(o.name.text);
    if (!sym) {
      exprs.unknownName(o.name);
      continue;
    }
    const node = exprs.expr({ kind: "name", name: o.name, span: o.name.span });
    if (node !== undefined) outputs.push({ name: o.name.text, node, gate: sym.kind === "def" && sym.gate, span: o.span });
  }
  if (scope.outputs.length === 0) {
    diags.error("RNN0406", `cell \`${cell.name.text}\` has no output`, {
      file, span: cell.name.span, label: "this cell declares no `output`",
      help: { message: "name what a step produces, for example `output h`" },
    });
  }

  const params: ParamInfo[] = [];
  for (const sym of scope.symbols.values()) {
    if (sym.kind !== "param") continue;
    const init = initializerOf(sym.decl.init, sym.shape, file, diags, scope);
    if (init) params.push({ name: sym.name, shape: sym.shape, init, ...(sym.decl.doc ? { doc: sym.decl.doc } : {}), span: sym.span });
  }
  const mentioned = referencedNames(cell);
  for (const sym of scope.symbols.values()) {
    if (sym.kind !== "layer" || layers.has(sym.name) || mentioned.has(sym.name)) continue;
    if (!instantiateLayer(sym.decl, layerCtx)) continue;
    diags.warning("RNN0504", `layer \`${sym.name}\` is never applied`, {
      file, span: sym.span, label: "declared here, but no equation uses it",
      help: { message: `apply it, \`${sym.name}(x)\`, or remove it` },
    });
  }
  params.push(...layerParams);
  states.push(...layerStates);
  const inputs: InputInfo[] = [...scope.symbols.values()]
    .filter((s): s is Sym & { kind: "input" } => s.kind === "input")
    .map((s) => ({ name: s.name, shape: s.shape, dtype: s.decl.dtype, ...(s.memory ? { memory: s.memory } : {}), ...(s.decl.doc ? { doc: s.decl.doc } : {}), span: s.span }));

  const ok = !diags.items.slice(itemsBefore).some((d) => d.severity === "error");
  const options = new Map<string, string | number>();
  for (const s of scope.symbols.values()) if (s.kind === "option") options.set(s.name, s.value);
  const ir: CellIR = {
    name: cell.name.text, file,
    dims: cell.dims.map((d) => ({ name: d.name.text, default: d.default, span: d.span })),
    options, inputs, states, params, nodes: b.nodes, values, outputs,
    ...(cell.doc ? { doc: cell.doc } : {}), ...(inlined.length ? { inlined } : {}),
  };
  return { ir, ok };
}
