// The Node.js host: files from disk, "std" from the package's stdlib/ folder, atomic writes.
import {
  accessSync, chmodSync, closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, realpathSync,
  renameSync, rmSync, statSync, unlinkSync, writeFileSync,
} from "node:fs";
import { MAX_SOURCE_READ } from "../diagnostics/limits.js";
import { basename, dirname, join, resolve } from "node:path";
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
  canonical(path) {
    try {
      return realpathSync(path);
    } catch {
      return resolve(path);
    }
  },
};

/** A file rnnc will not write over, with the reason (its messages stand alone). */
export class UnwritableError extends Error {}

/** Temporary files of writeFileAtomic for `path`: `.NAME.rnnc-PID.tmp` beside it. */
const tmpPattern = (name: string) => new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.rnnc-(\\d+)\\.tmp$`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Writes through a temporary file and a rename, so a reader never sees half a file. A symlink is written through
 * (its target changes, the link stays); an existing file keeps its mode; a read-only file is refused; temporary
 * files left by a killed earlier run (whose process is gone) are removed.
 */
export function writeFileAtomic(path: string, text: string | Uint8Array): void {
  let target = path;
  let mode: number | undefined;
  try {
    target = realpathSync(path);
    const st = statSync(target);
    if (!st.isFile()) throw new UnwritableError(`'${path}' is not a regular file; not written`);
    mode = st.mode & 0o7777;
    // No write bit for anyone is read-only, even to a user (root) the system would let write it.
    if ((mode & 0o222) === 0) throw new UnwritableError(`'${path}' is read-only; not written (make it writable, or write elsewhere)`);
    accessSync(target, constants.W_OK);
  } catch (e) {
    if (e instanceof UnwritableError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM" || code === "EROFS") throw new UnwritableError(`'${path}' is read-only; not written (make it writable, or write elsewhere)`);
    if (code !== "ENOENT") throw e;
    // A new file (or a dangling symlink: written where it points).
    if (lstatExists(path)) target = resolve(dirname(path), readlinkSync(path));
  }
  const dir = dirname(target), name = basename(target);
  const pattern = tmpPattern(name);
  try {
    for (const f of readdirSync(dir)) {
      const m = pattern.exec(f);
      if (m && !alive(Number(m[1]))) rmSync(join(dir, f), { force: true });
    }
  } catch { /* an unreadable directory: the write below reports it */ }
  const tmp = join(dir, `.${name}.rnnc-${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text, mode === undefined ? {} : { mode });
    if (mode !== undefined) chmodSync(tmp, mode);
    renameSync(tmp, target);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* nothing to clean */ }
    throw e;
  }
}

function lstatExists(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
