// Prints a cell's IR as readable text (for `rnnc ir` and the IR fixture tests).
import { dimToString, shapeToString } from "./dims.js";
import type { CellIR, ModelIR, Node } from "./ir.js";
import { Op } from "./ops.js";

function nodeText(n: Node): string {
  const args = n.args.map((a) => `%${a}`).join(", ");
  const a = n.attrs;
  let detail = args;
  if (n.op === Op.Param || n.op === Op.Input) detail = a.name!;
  else if (n.op === Op.StateRead) detail = `${a.name}[t-${a.lag}]`;
  else if (n.op === Op.Const) detail = String(a.value);
  else if (n.op === Op.Slice) detail = `${args}[${dimToString(a.start!)}:${dimToString(a.end!)}]`;
  else if (n.op === Op.OneHot) detail = `${args} of ${dimToString(a.depth!)}`;
  else if (n.op === Op.Dropout) detail = `${args}, p = ${a.rate}${a.perStep ? ", a mask every step" : ""}`;
  const tags = [n.batched ? "" : "static", n.dtype === "int" ? "int" : ""].filter(Boolean);
  return `%${n.id} = ${n.op} ${detail} : ${shapeToString(n.shape)}${tags.length ? ` (${tags.join(", ")})` : ""}`;
}

export function printCellIR(ir: CellIR): string {
  const out: string[] = [];
  const dims = ir.dims.map((d) => (d.default === undefined ? d.name : `${d.name} = ${d.default}`)).join(", ");
  const opts = [...ir.options].map(([k, v]) => `${k} = ${v}`).join(", ");
  out.push(`cell ${ir.name}<${dims}>${opts ? `(${opts})` : ""}`);
  for (const i of ir.inputs) out.push(`  input ${i.name}: ${shapeToString(i.shape)}${i.dtype === "int" ? " int" : ""}${i.memory ? ` (a sequence of length ${i.memory}, read whole)` : ""}`);
  for (const p of ir.params) out.push(`  param ${p.name}: ${shapeToString(p.shape)} ~ ${p.init.name}${p.init.args.length ? `(${p.init.args.join(", ")})` : ""}`);
  for (const s of ir.states) out.push(`  state ${s.name}: ${shapeToString(s.shape)} init %${s.init} keeps ${s.maxLag} step${s.maxLag === 1 ? "" : "s"}, next = %${s.update}`);
  for (const n of ir.nodes) out.push(`  ${nodeText(n)}`);
  for (const v of ir.values) out.push(`  ${v.gate ? "gate" : "value"} ${v.name} = %${v.node}`);
  for (const o of ir.outputs) out.push(`  output ${o.name} = %${o.node}`);
  return out.join("\n");
}

export function printModelIR(ir: ModelIR): string {
  const out: string[] = [];
  const dims = ir.dims.map((d) => (d.default === undefined ? d.name : `${d.name} = ${d.default}`)).join(", ");
  out.push(`model ${ir.name}<${dims}>`);
  for (const i of ir.inputs) out.push(`  input ${i.name}: ${i.seq ? `${i.seq} × ` : ""}${shapeToString(i.shape)}${i.dtype === "int" ? " int" : ""}`);
  for (const l of ir.layers) out.push(`  layer ${l.name} = ${l.ir.name}<${l.ir.dims.map((d) => dimToString(l.dims.get(d.name)!)).join(", ")}>`);
  for (const n of ir.nodes) {
    const a = n.attrs;
    const extra = [a.layer, n.op === Op.Field ? a.name : "", a.reverse ? "reverse" : "", a.hasInit ? "init" : "", a.steps !== undefined ? `steps ${a.steps}` : "", a.until !== undefined && a.until >= 0 ? `until ${a.until}` : "", a.temperature ? `temperature ${a.temperature}` : "", a.beam ? `beam ${a.beam}` : "", a.lengthNorm ? `length_norm ${a.lengthNorm}` : "", a.names ? `${a.names.join(", ")}` : ""].filter(Boolean);
    const base = nodeText(n);
    out.push(`  ${n.seq && !extra.length ? base.replace(" : ", ` : ${n.seq} × `) : n.seq ? base.replace(" : ", ` {${extra.join(", ")}} : ${n.seq} × `) : extra.length ? base.replace(" : ", ` {${extra.join(", ")}} : `) : base}`);
  }
  for (const o of ir.outputs) out.push(`  output ${o.name} = %${o.node}`);
  return out.join("\n");
}
