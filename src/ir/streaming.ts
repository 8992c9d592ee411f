// Whether a model can run a step at a time (streaming): what a step means, and why some models cannot.
import type { ModelIR } from "./ir.js";
import { Op } from "./ops.js";
import { readsWhole } from "./whole-inputs.js";

/**
 * A model streams when every input is a sequence of one length and every value at step t depends only on steps ≤ t:
 * forward scans, maps and pointwise work. `last(xs)` then is the value at the newest step (the answer if the
 * sequence ended there). Reverse scans, final states and generation need the whole sequence.
 */
export function streamability(ir: ModelIR): { ok: true } | { ok: false; why: string } {
  const seqs = new Set(ir.inputs.map((i) => i.seq));
  if (!ir.inputs.length) return { ok: false, why: "it has no inputs" };
  if (seqs.has(undefined)) return { ok: false, why: `input \`${ir.inputs.find((i) => !i.seq)!.name}\` is not a sequence` };
  if (seqs.size > 1) return { ok: false, why: `its inputs have different lengths (${[...seqs].join(", ")})` };
  const whole = readsWhole(ir);
  if (whole) return { ok: false, why: `layer \`${whole.layer}\` reads \`${whole.input}\` whole, the entire sequence at every step` };
  for (const n of ir.nodes) {
    if (n.op === Op.Scan && n.attrs.reverse) return { ok: false, why: `layer \`${n.attrs.layer}\` scans in reverse, which needs the whole sequence` };
    if (n.op === Op.Final) return { ok: false, why: "it reads final states, which exist only once the sequence has ended" };
    if (n.op === Op.Generate) return { ok: false, why: "it generates a sequence of its own" };
    if (n.op === Op.Scan && n.attrs.hasInit) return { ok: false, why: `layer \`${n.attrs.layer}\` starts from states given by another value` };
  }
  // A sequence must not depend on `last`: its earlier steps would change once later steps arrive.
  const afterLast = new Set<number>();
  for (const n of ir.nodes) {
    if (n.op === Op.Last || n.args.some((a) => afterLast.has(a))) afterLast.add(n.id);
    if (n.seq && n.args.some((a) => afterLast.has(a))) return { ok: false, why: "a sequence in it depends on the last step of a sequence" };
  }
  return { ok: true };
}
