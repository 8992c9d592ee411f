// `rnnc explain CODE`: the long explanation of a diagnostic code (it loads no compiler).
import { codes } from "../diagnostics/codes.js";
import { closestNames } from "../diagnostics/suggest.js";
import { UsageError } from "./usage.js";

export function explainCommand(code: string): number {
  const key = code.toUpperCase().startsWith("RNN") ? code.toUpperCase() : `RNN${code.padStart(4, "0")}`;
  const info = codes.get(key);
  if (!info) {
    const near = closestNames(key, codes.keys());
    throw new UsageError(`no diagnostic code '${code}'${near.length ? `; did you mean ${near[0]}?` : ""} (codes: ${[...codes.keys()].join(", ")})`);
  }
  process.stdout.write(`${info.code}: ${info.title}\n\n${info.explanation}\n`);
  return 0;
}
