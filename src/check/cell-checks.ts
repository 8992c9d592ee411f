// Checks on an elaborated cell that need the whole IR: unused params and values, gates that can leave [0, 1].
import type { DiagnosticBag } from "../diagnostics/diagnostic.js";
import type { CellIR, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { valueRanges } from "./ranges.js";

export function checkCell(ir: CellIR, complete: boolean, diags: DiagnosticBag): void {
  const file = ir.file;
  const usedParams = new Set(ir.nodes.filter((n) => n.op === Op.Param).map((n) => n.attrs.name!));
  for (const p of ir.params) {
    if (usedParams.has(p.name)) continue;
    diags.warning("RNN0501", `param \`${p.name}\` is never used`, {
      file, span: p.span, label: "declared here, but no equation reads it",
      notes: ["an unused param still takes memory and appears in weight files, and often means an equation names the wrong weight"],
      help: { message: `use \`${p.name}\` in an equation, or remove it` },
    });
  }

  const ranges = valueRanges(ir.nodes);
  for (const v of ir.values) {
    if (!v.gate) continue;
    const [lo, hi] = ranges[v.node]!;
    if (lo >= 0 && hi <= 1) continue;
    const node = ir.nodes[v.node]!;
    const fmt = (x: number): string => (x === Infinity ? "∞" : x === -Infinity ? "-∞" : String(x));
    diags.warning("RNN0502", `gate \`${v.name}\` can take values outside [0, 1]`, {
      file, span: node.span, label: `this can range over [${fmt(lo)}, ${fmt(hi)}]`,
      notes: ["a gate scales another value between 'block' (0) and 'pass' (1); values outside that range amplify or flip what it gates"],
      help: { message: "use `sigmoid` (`σ`) or `hard_sigmoid` as the gate's activation" },
    });
  }

  if (!complete) return;
  const live = new Set<NodeId>();
  const mark = (root: NodeId): void => {
    const todo = [root];
    while (todo.length) {
      const id = todo.pop()!;
      if (live.has(id)) continue;
      live.add(id);
      for (const a of ir.nodes[id]!.args) todo.push(a);
    }
  };
  for (const o of ir.outputs) mark(o.node);
  for (const s of ir.states) mark(s.update);
  for (const v of ir.values) {
    if (live.has(v.node)) continue;
    diags.warning("RNN0503", `\`${v.name}\` is computed but never used`, {
      file, span: v.span, label: "no output or state depends on this",
      help: { message: `use \`${v.name}\` in an equation or an \`output\`, or remove it` },
    });
  }
}
