// `rnnc summary FILE`: a model's layers as a table (api/summary.ts), or as JSON.
import { resolveDims } from "../runtime/dims.js";
import { summarize, summaryText } from "../api/summary.js";
import { compiler, dimsGiven } from "./commands.js";

export interface SummaryFlags { file: string; model?: string | undefined; dims?: string | undefined; json?: boolean }

export function summaryCommand(a: SummaryFlags): number {
  const ir = compiler.model(a.file, a.model);
  const env = resolveDims(ir, dimsGiven(a, ir.dims.map((d) => d.name)));
  const s = summarize(ir, env);
  process.stdout.write(a.json ? `${JSON.stringify(s, null, 2)}\n` : summaryText(s));
  return 0;
}
