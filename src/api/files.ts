// Reading the data files a program gives rnnc (weights, inputs, checkpoints, examples): bounded, and a clear error when unreadable.
import { readFileSync, statSync } from "node:fs";
import { UsageError } from "../diagnostics/errors.js";

/** The most bytes a data file (weights, inputs, checkpoints) is read to: about the longest string JavaScript holds. */
export const MAX_DATA_FILE = 512 * 1024 * 1024;

/** A data file's text (weights, inputs, checkpoints): not bounded like a spec (a trained model's weights run to megabytes). */
export function readData(path: string, what: string): string {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error("not a file");
    size = st.size;
  } catch {
    throw new UsageError(`cannot read ${what} '${path}': no such file, or not readable`);
  }
  if (size > MAX_DATA_FILE) throw new UsageError(`${what} '${path}' is ${(size / 2 ** 20).toFixed(0)} MiB; rnnc reads data files of up to ${MAX_DATA_FILE / 2 ** 20} MiB`);
  try {
    return readFileSync(path, "utf8");
  } catch {
    throw new UsageError(`cannot read ${what} '${path}': no such file, or not readable`);
  }
}

