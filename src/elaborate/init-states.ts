// How a layer's states are started: `init = states(…)` by name or from records in order, a record, or one value.
import type * as A from "../ast/nodes.js";
import { closestNames } from "../diagnostics/suggest.js";
import { shapeEquals, shapeToString, type Shape } from "../ir/dims.js";
import type { NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import type { NodeBuilder } from "../ir/builder.js";
import { substShape } from "./inline.js";
import type { LayerInstance } from "./layers.js";

/** What starting states needs of the model being elaborated (a part of constructs' ModelContext). */
export interface InitContext {
  readonly b: NodeBuilder;
  readonly file: string;
  readonly layers: ReadonlyMap<string, LayerInstance | undefined>;
  src(span: A.Span): string;
  expr(e: A.Expr): NodeId | undefined;
}

/** A layer's states with its dimensions substituted, in its order. */
export const statesOf = (inst: LayerInstance) => inst.ir.states.map((s) => ({ name: s.name, shape: substShape(s.shape, inst.subst) }));

type Err = (code: string, message: string, span: A.Span, label: string, more?: { notes?: string[]; help?: string; secondary?: { file: string; span: A.Span; message: string }[] }) => void;
type Named = { name: string; shape: Shape };

/** States as `h: [H], c: [H]` for diagnostics. */
export const showStates = (ss: readonly Named[]): string => ss.map((s) => `${s.name}: ${shapeToString(s.shape)}`).join(", ") || "none";

/** Starts the states of layers: `initFor(inst, n)` is the node of `init = …` (undefined: none given; false: reported). */
export function initStates(cx: InitContext, err: Err) {
  const { b, expr, layers } = cx;
  const src = (s: A.Span) => cx.src(s);

  /** A record's states by name and shape: a scan's or generate's final states, or `states(…)`/`final(bidirectional)`; else undefined. */
  const recordStates = (id: NodeId): Named[] | undefined => {
    const node = b.nodes[id]!;
    if (node.op === Op.States) return node.attrs.names!.map((name, k) => ({ name, shape: b.shape(node.args[k]!) }));
    return node.op === Op.Final ? statesOf(layers.get(b.nodes[node.args[0]!]!.attrs.layer!)!) : undefined;
  };

  /** A record's states, each as a node of its own (a final record's through a field). */
  const fieldsOf = (id: NodeId, span: A.Span): { name: string; id: NodeId }[] | undefined => {
    const node = b.nodes[id]!;
    if (node.op === Op.States) return node.attrs.names!.map((name, k) => ({ name, id: node.args[k]! }));
    return recordStates(id)?.map((s) => ({ name: s.name, id: b.add(Op.Field, [id], s.shape, span, { name: s.name }) }));
  };

  /**
   * `states(…)`: every state of the layer, in its order. Records given without a name (`final(enc1), final(enc2)`) fill
   * the first states in order; `name = value` fills a state by name (an inlined layer's state by its last part's path is
   * not a name, so records are how a cell of several layers is started from several encoders).
   */
  const givenStates = (inst: LayerInstance, call: A.CallExpr): NodeId | false => {
    const want = statesOf(inst);
    // An inlined layer's states (`one.h`) have no name an argument can take: such a layer starts from records.
    const byName = want.every((s) => !s.name.includes("."));
    const writeAll = byName ? `write \`states(${want.map((s) => `${s.name} = …`).join(", ")})\`` : "give records of states in order, such as `states(final(enc1), final(enc2))`";
    const layer = inst.decl.name.text;
    const list = showStates(want);
    let ok = true;
    const given = new Map<string, { span: A.Span; id: NodeId | undefined; value: A.Expr; field?: string }>();
    let next = 0;
    for (const a of call.args) {
      const id = expr(a);
      if (id === undefined) { ok = false; continue; }
      const fields = fieldsOf(id, a.span);
      if (!fields) {
        err("RNN0709", "`states` takes each state by name, or records of states in order", a.span, `a single value of shape ${shapeToString(b.shape(id))}, not a record`,
          { notes: ["a record is `final(…)` of a scan, a generate or a bidirectional, or another `states(…)`"], help: writeAll });
        ok = false;
        continue;
      }
      if (next + fields.length > want.length) {
        err("RNN0705", `\`states(…)\` gives more states than \`${layer}\` has`, a.span, `${next + fields.length - want.length} state${next + fields.length - want.length === 1 ? "" : "s"} too many (this record's ${fields.map((f) => f.name).join(", ")} after ${next} given)`,
          { notes: [`\`${layer}\` (${inst.label}) has ${want.length} state${want.length === 1 ? "" : "s"}: ${list}`] });
        ok = false;
        continue;
      }
      for (const f of fields) given.set(want[next++]!.name, { span: a.span, id: f.id, value: a, field: f.name });
    }
    for (const a of call.named) {
      const name = a.name.text;
      if (given.has(name)) {
        err("RNN0709", `the state \`${name}\` is given twice`, a.name.span, "given again here", { secondary: [{ file: cx.file, span: given.get(name)!.span, message: "first given here" }] });
        ok = false;
      } else if (!want.some((s) => s.name === name)) {
        const near = closestNames(name, want.map((s) => s.name));
        err("RNN0705", `\`${layer}\` has no state named \`${name}\``, a.name.span, "not a state of the layer",
          { notes: [`\`${layer}\` (${inst.label}) has states ${list}`], ...(near.length ? { help: `did you mean \`${near[0]}\`?` } : {}) });
        ok = false;
      } else {
        const id = expr(a.value);
        if (id === undefined) ok = false;
        given.set(name, { span: a.name.span, id, value: a.value });
      }
    }
    const missing = want.filter((s) => !given.has(s.name));
    if (missing.length && ok) {
      err("RNN0705", `\`states(…)\` must start every state of \`${layer}\`: ${missing.map((s) => `\`${s.name}\``).join(" and ")} ${missing.length > 1 ? "are" : "is"} missing`, call.span,
        `no ${missing.map((s) => s.name).join(", ")}`, { notes: [`\`${layer}\` (${inst.label}) has states ${list}`], help: byName ? `add ${missing.map((s) => `\`${s.name} = …\``).join(", ")}` : "add records for them, in order" });
      ok = false;
    }
    const ids: NodeId[] = [];
    for (const s of want) {
      const g = given.get(s.name);
      if (!g || g.id === undefined) continue;
      const node = b.nodes[g.id]!;
      if (node.seq) {
        err("RNN0702", "an initial state is a single value, not a sequence", g.value.span, `a sequence of length ${node.seq}`, { help: "take `last(…)` of it, or `final(…)` of its scan" });
        ok = false;
      } else if (!shapeEquals(node.shape, s.shape) || node.dtype !== "float") {
        const int = node.dtype === "int" ? " int" : "";
        const message = g.field !== undefined ? `state \`${g.field}\` of \`${src(g.value.span)}\` has shape ${shapeToString(node.shape)}${int} and cannot start the state \`${s.name}\` of \`${layer}\``
          : `\`${src(g.value.span)}\` of shape ${shapeToString(node.shape)}${int} cannot start the state \`${s.name}\` of \`${layer}\``;
        err("RNN0705", message, g.value.span, `shape ${shapeToString(node.shape)}${int}${g.field !== undefined ? ` for ${s.name}` : ""}`,
          { notes: [`\`${s.name}\` has shape ${shapeToString(s.shape)} (float)`, `\`${layer}\` (${inst.label}) has states ${list}`] });
        ok = false;
      }
      ids.push(g.id);
    }
    return ok ? b.add(Op.States, ids, [], call.span, { names: want.map((s) => s.name) }) : false;
  };

  /**
   * Checks an `init = …` against a layer's states: `states(…)` by name or records in order, a record of equal shapes in
   * order, or one value for the first state.
   */
  const initFor = (inst: LayerInstance, n: A.NamedArg | undefined): NodeId | undefined | false => {
    if (!n) return undefined;
    if (n.value.kind === "call" && n.value.callee.text === "states") return givenStates(inst, n.value);
    const id = expr(n.value);
    if (id === undefined) return false;
    const node = b.nodes[id]!;
    const want = statesOf(inst);
    if (node.seq) {
      err("RNN0702", "an initial state is a single value, not a sequence", n.value.span, `a sequence of length ${node.seq}`, { help: "take `last(…)` of it, or `final(…)` of its scan" });
      return false;
    }
    const have = recordStates(id);
    if (have) {
      const from = node.op === Op.Final ? layers.get(b.nodes[node.args[0]!]!.attrs.layer!)! : undefined;
      const fits = have.length === want.length && have.every((s, i) => shapeEquals(s.shape, want[i]!.shape));
      if (!fits) {
        err("RNN0705", `the ${from ? `final states of \`${from.decl.name.text}\`` : `states of \`${src(n.value.span)}\``} do not fit the states of \`${inst.decl.name.text}\``, n.value.span,
          `states ${showStates(have)}`, { notes: [`\`${inst.decl.name.text}\` (${inst.label}) has states ${showStates(want)}`, "states are handed over in order and must agree in number and shape"],
            help: have.length < want.length ? "give both layers the same hidden size and the same kind of cell, or start the rest from more records: `init = states(final(enc1), final(enc2))`"
              : "give both layers the same hidden size and the same kind of cell, or pass one state: `init = final(enc).h`" });
        return false;
      }
      return id;
    }
    if (!want.length || !shapeEquals(node.shape, want[0]!.shape)) {
      err("RNN0705", `\`${src(n.value.span)}\` of shape ${shapeToString(node.shape)} cannot start \`${inst.decl.name.text}\``, n.value.span, `shape ${shapeToString(node.shape)}`,
        { notes: [want.length ? `a single value sets the first state, ${want[0]!.name}: ${shapeToString(want[0]!.shape)}` : `\`${inst.decl.name.text}\` has no state`] });
      return false;
    }
    return id;
  };
  return { initFor };
}
