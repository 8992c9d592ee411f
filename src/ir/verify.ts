// The IR verifier: structural invariants every pass must keep; run after every stage in tests.
import { broadcastShape, concatShape, gatherShape, lastAxisShape, matmulShape, sliceShape } from "../check/shape-rules.js";
import { shapeEquals, shapeToString, type Shape } from "./dims.js";
import type { CellIR } from "./ir.js";
import { Op, binaryOps, unaryOps } from "./ops.js";

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
    const shapes: Shape[] = args.map((a) => a.shape);
    const batched = n.op === Op.Input || n.op === Op.StateRead || args.some((a) => a.batched);
    if (n.batched !== batched) bad(i, `batched is ${n.batched}, should be ${batched}`);
    let want: Shape | undefined;
    const arity = (k: number) => { if (n.args.length !== k) bad(i, `${n.op} takes ${k} arguments, has ${n.args.length}`); };
    const from = (r: ReturnType<typeof matmulShape>) => (r.ok ? r.shape : (bad(i, `invalid operands: ${r.reason}`), undefined));
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
      case Op.Const: arity(0); want = []; if (typeof n.attrs.value !== "number") bad(i, "constant without a value"); break;
      case Op.MatMul: arity(2); want = from(matmulShape(shapes[0]!, shapes[1]!)); break;
      case Op.Concat: want = from(concatShape(shapes)); break;
      case Op.Slice: arity(1); want = from(sliceShape(shapes[0]!, n.attrs.start!, n.attrs.end!)); break;
      case Op.Gather: arity(2); want = from(gatherShape(shapes[0]!, shapes[1]!, args[1]!.dtype)); break;
      case Op.Softmax: case Op.LogSoftmax: arity(1); want = from(lastAxisShape(shapes[0]!, false)); break;
      case Op.Sum: case Op.Mean: arity(1); want = from(lastAxisShape(shapes[0]!, true)); break;
      default:
        if (unaryOps.has(n.op)) { arity(1); want = shapes[0]; }
        else if (binaryOps.has(n.op)) { arity(2); want = from(broadcastShape(shapes[0]!, shapes[1]!)); }
        else bad(i, `op ${n.op} is not in the op set`);
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
