// The IR verifier: structural invariants every pass must keep; run after every stage in tests.
import { shapeEquals, shapeToString, type Shape } from "./dims.js";
import type { CellIR, ModelIR, Node } from "./ir.js";
import { Op, opInfo, type OpInfo } from "./ops.js";

/** The shape the op table's rule gives a non-leaf op of the cell op set (reports bad operands and arity). */
function pointwiseShape(n: Node, args: readonly Node[], bad: (id: number, what: string) => void): Shape | undefined {
  const info: OpInfo = opInfo[n.op];
  const [lo, hi] = typeof info.arity === "number" ? [info.arity, info.arity] : [1, Infinity];
  if (n.args.length < lo || n.args.length > hi) bad(n.id, `${n.op} takes ${lo === hi ? lo : `${lo} to ${hi}`} arguments, has ${n.args.length}`);
  if (n.op === Op.Const) {
    if (typeof n.attrs.value !== "number") bad(n.id, "constant without a value");
    return [];
  }
  if (!info.shape) {
    bad(n.id, `op ${n.op} is not in the cell op set`);
    return undefined;
  }
  const r = info.shape(args.map((a) => a.shape), { dtypes: args.map((a) => a.dtype), attrs: n.attrs });
  if (r.ok) return r.shape;
  bad(n.id, `invalid operands: ${r.reason}`);
  return undefined;
}

/** Returns every violated invariant of a model and of its layers' cells (empty when well formed). */
export function verifyModelIR(ir: ModelIR): string[] {
  const problems: string[] = [];
  const bad = (id: number, what: string) => problems.push(`%${id}: ${what}`);
  const layers = new Map(ir.layers.map((l) => [l.name, l]));
  for (const l of ir.layers) problems.push(...verifyCellIR(l.ir).map((p) => `layer ${l.name}: ${p}`));
  ir.nodes.forEach((n, i) => {
    if (n.id !== i) bad(i, `id ${n.id} is not its position`);
    if (!Object.isFrozen(n)) bad(i, "node is mutable");
    if (n.args.some((a) => a >= i || a < 0)) { bad(i, "an argument does not come before its user"); return; }
    const args = n.args.map((a) => ir.nodes[a]!);
    const seqs = [...new Set(args.map((a) => a.seq).filter(Boolean))];
    if (n.attrs.layer !== undefined && !layers.has(n.attrs.layer)) bad(i, `unknown layer ${n.attrs.layer}`);
    switch (n.op) {
      case Op.Input: if (!ir.inputs.some((x) => x.name === n.attrs.name && x.seq === n.seq)) bad(i, `input ${n.attrs.name} does not match the inputs`); break;
      case Op.Apply: if (n.seq || seqs.length) bad(i, "apply takes and gives single values"); break;
      case Op.Map: case Op.Scan: {
        // Inputs read whole are sequences of their own length; the stepped ones share the output's.
        const whole = layers.get(n.attrs.layer!)?.ir.inputs.map((x) => x.memory !== undefined) ?? [];
        const stepped = [...new Set(args.filter((a, k) => !whole[k]).map((a) => a.seq).filter(Boolean))];
        if (!n.seq || stepped.length !== 1 || stepped[0] !== n.seq) bad(i, `${n.op} must map one sequence length to itself`);
        if (args.some((a, k) => whole[k] && !a.seq)) bad(i, `${n.op} gives a layer a single value where it reads a sequence whole`);
        break;
      }
      case Op.Last: if (n.seq || seqs.length !== 1) bad(i, "last takes a sequence and gives a single value"); break;
      case Op.Final: if (args[0]?.op !== Op.Scan && args[0]?.op !== Op.Generate) bad(i, "final takes a scan or a generate"); break;
      case Op.Field: if (args[0]?.op !== Op.Final) bad(i, "a field is read from final states"); break;
      case Op.States: if (n.seq || seqs.length || n.attrs.names?.length !== n.args.length) bad(i, "states gives one single value per named state"); break;
      case Op.Generate: {
        // After its starting values come the sequences the layer reads whole, one per input after the first.
        const wholes = (layers.get(n.attrs.layer!)?.ir.inputs.length ?? 1) - 1;
        if (!n.seq || args.slice(0, args.length - wholes).some((a) => a.seq) || args.slice(args.length - wholes).some((a) => !a.seq)) bad(i, "generate makes a new sequence from single values (and the sequences its layer reads whole)");
        break;
      }
      default: {
        if (seqs.length > 1) bad(i, `combines sequences of lengths ${seqs.join(", ")}`);
        if ((seqs[0] ?? undefined) !== n.seq) bad(i, `sequence length ${n.seq ?? "none"}, arguments give ${seqs[0] ?? "none"}`);
        const want = pointwiseShape(n, args, bad);
        if (want && !shapeEquals(want, n.shape)) bad(i, `shape ${shapeToString(n.shape)}, rules give ${shapeToString(want)}`);
      }
    }
  });
  for (const o of ir.outputs) if (!ir.nodes[o.node]) problems.push(`output ${o.name} refers to missing node %${o.node}`);
  return problems;
}

/** Returns every violated invariant (empty when the IR is well formed). */
export function verifyCellIR(ir: CellIR): string[] {
  const problems: string[] = [];
  const bad = (id: number, what: string) => problems.push(`%${id}: ${what}`);
  const params = new Set(ir.params.map((p) => p.name));
  const inputs = new Set(ir.inputs.map((p) => p.name));
  const states = new Map(ir.states.map((s) => [s.name, s]));
  ir.nodes.forEach((n, i) => {
    if (n.id !== i) bad(i, `id ${n.id} is not its position`);
    if (!Object.isFrozen(n)) bad(i, "node is mutable");
    if (n.args.some((a) => a >= i || a < 0)) bad(i, "an argument does not come before its user");
    const args = n.args.map((a) => ir.nodes[a]!);
    const batched = n.op === Op.Input || n.op === Op.StateRead || args.some((a) => a.batched);
    if (n.batched !== batched) bad(i, `batched is ${n.batched}, should be ${batched}`);
    let want: Shape | undefined;
    const arity = (k: number) => { if (n.args.length !== k) bad(i, `${n.op} takes ${k} arguments, has ${n.args.length}`); };
    switch (n.op) {
      case Op.Param: arity(0); if (!params.has(n.attrs.name!)) bad(i, `unknown param ${n.attrs.name}`); break;
      case Op.Input: arity(0); if (!inputs.has(n.attrs.name!)) bad(i, `unknown input ${n.attrs.name}`); break;
      case Op.StateRead: {
        arity(0);
        const s = states.get(n.attrs.name!);
        if (!s) bad(i, `unknown state ${n.attrs.name}`);
        else if (!(n.attrs.lag! >= 1 && n.attrs.lag! <= s.maxLag)) bad(i, `lag ${n.attrs.lag} outside 1..${s.maxLag}`);
        break;
      }
      default:
        if (opInfo[n.op].category === "sequence") bad(i, `${n.op} appears only in models`);
        else want = pointwiseShape(n, args, bad);
    }
    if (want && !shapeEquals(want, n.shape)) bad(i, `shape ${shapeToString(n.shape)}, rules give ${shapeToString(want)}`);
  });
  const exists = (id: number, what: string) => { if (!ir.nodes[id]) problems.push(`${what} refers to missing node %${id}`); };
  for (const s of ir.states) {
    exists(s.update, `state ${s.name}`);
    exists(s.init, `state ${s.name} init`);
    if (ir.nodes[s.init]?.batched) problems.push(`state ${s.name}: initial value depends on inputs or states`);
    if (ir.nodes[s.update] && !shapeEquals(ir.nodes[s.update]!.shape, s.shape)) problems.push(`state ${s.name}: update has another shape`);
  }
  for (const o of ir.outputs) exists(o.node, `output ${o.name}`);
  return problems;
}
