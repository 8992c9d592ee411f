// `rnnc trace`: a model (or cell) run on the interpreter with its gates and states recorded, written as one self-contained HTML page.
import { pickValues, tracePageOf } from "../api/trace.js";
import { traceCell, traceModel } from "../interp/trace.js";
import { checkWeights, initParams, parseWeights } from "../weights/weights.js";
import { writeFileAtomic } from "../node/host.js";
import { assertNotInput, lengthsOf, loadTarget, readData, readJsonObject, tensorsOf, type CellFlags } from "./commands.js";
import { assertReplaceable } from "./output-guard.js";
import { UsageError } from "./usage.js";

const MAX_EXAMPLES = 16;

export async function traceCommand(a: CellFlags & { input: string; out: string; weights?: string | undefined; seed: number; values?: string | undefined; units: number }): Promise<number> {
  if (!a.out.endsWith(".html")) throw new UsageError(`-o ${a.out}: the trace page is written to a file ending in .html`);
  if (!Number.isInteger(a.units) || a.units < 1 || a.units > 4096) throw new UsageError(`--units must be a whole number from 1 to 4096, not ${a.units}`);
  if (!Number.isInteger(a.seed)) throw new UsageError(`--seed must be a whole number, not ${a.seed}`);
  assertNotInput(a.out, { spec: a.file, "input file": a.input, "weights file": a.weights });
  assertReplaceable(a.out, "page");
  const target = loadTarget(a);
  const owner = `${target.kind} \`${target.ir.name}\``;
  const params = a.weights ? parseWeights(readData(a.weights, "weights file"), a.weights) : initParams(target.specs, a.seed);
  if (a.weights) checkWeights(owner, target.specs, params, a.weights);
  const pick = pickValues(target, a.values ?? "all", "--values");
  const obj = readJsonObject(a.input, "input file");
  const notes: string[] = [];
  if (target.kind === "model") {
    const inputs = tensorsOf(obj, target.ir.inputs.map((i) => i.name), a.input, owner, ["lengths", "masks"], "f32");
    const lengths = lengthsOf(obj);
    const t = traceModel(target.ir, target.env, params, { inputs, ...(lengths ? { lengths } : {}), seed: a.seed }, "f32", pick);
    const uses = t.uses.filter((u) => u.example < MAX_EXAMPLES);
    if (uses.length < t.uses.length) notes.push(`the first ${MAX_EXAMPLES} examples of the input are shown`);
    if (target.ir.nodes.some((n) => (n.attrs.beam ?? 1) > 1)) notes.push("generate with beam search is not traced (each hypothesis steps a copy of the layer)");
    writeFileAtomic(a.out, await tracePageOf(target, uses, { maxRows: a.units, notes }));
    return 0;
  }
  if (obj["initial_states"] !== undefined) throw new UsageError("rnnc trace starts a cell from its declared initial states; to give \"initial_states\", use rnnc run --trace");
  const inputs = tensorsOf(obj, target.ir.inputs.map((i) => i.name), a.input, owner, [], "f32");
  const t = traceCell(target.ir, target.env, params, { inputs }, "f32", pick);
  writeFileAtomic(a.out, await tracePageOf(target, t.uses.filter((u) => u.example < MAX_EXAMPLES), { maxRows: a.units, notes }));
  return 0;
}
