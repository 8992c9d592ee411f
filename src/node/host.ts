// The Node.js host: files from disk, "std" from the package's stdlib/ folder, atomic writes.
import { closeSync, fstatSync, openSync, readdirSync, readSync, renameSync, writeFileSync, existsSync, statSync, unlinkSync } from "node:fs";
import { MAX_SOURCE_READ } from "../diagnostics/limits.js";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Host } from "../resolve/host.js";

/** The package root (…/dist/cli → …). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const stdlibDir = join(packageRoot, "stdlib");

export function stdlibFiles(): string[] {
  return readdirSync(stdlibDir).filter((f) => f.endsWith(".rnn")).sort().map((f) => join(stdlibDir, f));
}

/** The first `limit` bytes of a file as UTF-8 text (a longer file is cut there: the parser then reports it too large). */
function readBounded(path: string, limit: number): string {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(Math.min(limit, fstatSync(fd).size));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

export const nodeHost: Host = {
  readFile(path) {
    try {
      if (!statSync(path).isFile()) return undefined;
      return readBounded(path, MAX_SOURCE_READ);
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
