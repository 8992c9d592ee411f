// `rnnc import SOURCE [--spec FILE.rnn] -o W.json`: trained weights from PyTorch, tfjs-layers or ONNX as rnnc-weights JSON (and, without a spec, the one the source's wiring gives).
import { existsSync } from "node:fs";
import { writeFileAtomic } from "../node/host.js";
import { resolveDims } from "../runtime/dims.js";
import { setOwn } from "../runtime/record.js";
import { assertReplaceable } from "./output-guard.js";
import { modelParamSpecs, serializeWeights } from "../weights/weights.js";
import { importWeights } from "../api/import.js";
import { assertNotInput, compiler, dimsGiven, readText, UsageError } from "./commands.js";

export interface ImportFlags { source: string; spec?: string | undefined; model?: string | undefined; dims?: string | undefined; map?: string | undefined; out: string; allowNonfinite?: boolean | undefined; json?: boolean | undefined }

export async function importCommand(a: ImportFlags): Promise<number> {
  if (a.spec !== undefined) readText(a.spec, "spec");
  if (a.spec === undefined && a.source.endsWith(".safetensors")) throw new UsageError(`'${a.source}' does not describe its model's wiring: give the spec its weights are for with --spec (a spec is written for ONNX and tfjs-layers models)`);
  if (!a.out.endsWith(".json")) throw new UsageError(`-o '${a.out}': the weights file is JSON and its name ends in .json`);
  const specOut = a.spec === undefined ? a.out.replace(/\.json$/, ".rnn") : undefined;
  assertNotInput(a.out, { ...(a.spec ? { spec: a.spec } : {}), source: a.source });
  assertReplaceable(a.out, "weights");
  if (specOut) {
    assertNotInput(specOut, { source: a.source });
    if (existsSync(specOut)) throw new UsageError(`${specOut} exists: rnnc import writes the spec it derives there and does not replace a file; remove it, or give the spec with --spec`);
  }
  const names: Record<string, string> = {};
  for (const pair of (a.map ?? "").split(",").filter(Boolean)) {
    const m = /^\s*([^=\s]+)\s*=\s*([^=\s]+)\s*$/.exec(pair);
    if (!m) throw new UsageError(`--map expects TORCH_MODULE=LAYER pairs separated by commas, e.g. --map lstm.l0=rnn,fc=head; got '${pair}'`);
    setOwn(names, m[1]!, m[2]!);
  }
  const opts = { allowNonfinite: a.allowNonfinite === true };
  const spec = a.spec;
  // The spec is compiled once the source has been read (a source that cannot be read is the first thing said).
  const model = spec === undefined ? undefined : () => {
    const ir = compiler.model(spec, a.model);
    return { ir, env: resolveDims(ir, dimsGiven(a, ir.dims.map((d) => d.name))) };
  };
  const got = await importWeights(a.source, { ...(model ? { model } : {}), map: names, ...(specOut ? { specPath: specOut } : {}), ...opts });
  const { ir, env, weights, mapping: table } = got;
  const specs = modelParamSpecs(ir, env);
  // Which module went where, always (a wrong pairing of same-shaped layers is otherwise silent).
  if (table.length) {
    const w = Math.max(...table.map((p) => p.module.length));
    process.stderr.write(`${table.map((p) => `  ${p.module.padEnd(w)}  →  ${p.layer}  (${p.kind}; ${p.how})`).join("\n")}\n`);
  }
  writeFileAtomic(a.out, serializeWeights(ir.name, env, specs, weights, undefined, opts));
  if (got.spec !== undefined) writeFileAtomic(specOut!, got.spec);
  process.stderr.write(`wrote ${specs.length} params of ${ir.name} from ${a.source} to ${a.out}${got.spec !== undefined ? `, and the spec derived from it to ${specOut}` : ""}\n`);
  // The mapping as data, for scripts that check which module went where.
  if (a.json) process.stdout.write(`${JSON.stringify({ model: ir.name, weights: a.out, ...(got.spec !== undefined ? { spec: specOut } : {}), params: specs.length, mapping: table }, null, 2)}\n`);
  return 0;
}
