// The Node.js host: files from disk, "std" from the package's stdlib/ folder, atomic writes.
import { readdirSync, readFileSync, renameSync, writeFileSync, existsSync, statSync, unlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Host } from "../resolve/host.js";

/** The package root (…/dist/cli → …). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const stdlibDir = join(packageRoot, "stdlib");

export function stdlibFiles(): string[] {
  return readdirSync(stdlibDir).filter((f) => f.endsWith(".rnn")).sort().map((f) => join(stdlibDir, f));
}

export const nodeHost: Host = {
  readFile(path) {
    try {
      if (!statSync(path).isFile()) return undefined;
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  },
  resolveImport(spec, fromFile) {
    if (spec === "std") return stdlibFiles();
    const path = resolve(dirname(fromFile), spec);
    return existsSync(path) ? [path] : undefined;
  },
};

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* nothing to clean */ }
    throw e;
  }
}
