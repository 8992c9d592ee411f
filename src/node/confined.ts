// Files a downloaded file names (a tfjs model.json's weight shards): read only inside its folder, only regular files, bounded.
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { RnncError } from "../diagnostics/errors.js";

/** Bytes of any one file a model names at most (a shard of a trained model is a few MiB; tfjs writes 4 MiB shards). */
export const MAX_REFERENCED_FILE = 1 << 30;

const refused = (owner: string, ref: string, why: string) =>
  new RnncError("RNN0607", `${owner} names the file '${ref}', which rnnc does not read: ${why}`, [
    "a model's files are read only from its own folder and the folders below it: no absolute paths, no '..', no links that lead out, regular files only",
  ], "keep the model's files beside its model.json, as tf.LayersModel.save writes them");

/**
 * The bytes of `ref`, a path written inside the file `owner` (in folder `dir`), confined as Python's tarfile filters
 * confine archive members (CVE-2007-4559): relative, no `..` segment, inside `dir` once every link is resolved, a
 * regular file (not a device, a fifo or a folder), at most `max` bytes (checked on the open file, before reading).
 */
export function readConfined(dir: string, ref: string, owner: string, max = MAX_REFERENCED_FILE): Uint8Array {
  if (typeof ref !== "string" || ref.length === 0) throw refused(owner, String(ref), "the name is empty");
  if (ref.includes("\0")) throw refused(owner, ref.replace(/\0/g, "\\0"), "the name holds a NUL character");
  if (isAbsolute(ref) || /^[a-zA-Z]:|^[\\/]/.test(ref)) throw refused(owner, ref, "it is an absolute path");
  if (ref.split(/[\\/]/).includes("..")) throw refused(owner, ref, "it climbs out of the model's folder with '..'");
  let base: string, real: string;
  try {
    base = realpathSync(dir);
  } catch {
    throw refused(owner, ref, "the model's folder cannot be read");
  }
  try {
    real = realpathSync(resolve(dir, ref));
  } catch {
    throw new RnncError("RNN0607", `${owner} names the file '${ref}', which does not exist or cannot be read`, [], "keep the model's files beside its model.json, as tf.LayersModel.save writes them");
  }
  const rel = relative(base, real);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) throw refused(owner, ref, "it is a link that leads out of the model's folder");
  let fd: number;
  try {
    // A fifo would block the open itself: checked first, and opened without blocking in case it changed meanwhile.
    if (!statSync(real).isFile()) throw refused(owner, ref, "it is not a regular file");
    fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if (e instanceof RnncError) throw e;
    throw new RnncError("RNN0607", `${owner} names the file '${ref}', which cannot be read`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refused(owner, ref, "it is not a regular file");
    if (st.size > max) throw refused(owner, ref, `it has ${st.size.toLocaleString("en-US")} bytes, more than the ${max.toLocaleString("en-US")} a model's file may have`);
    const out = new Uint8Array(st.size);
    let at = 0;
    while (at < out.length) {
      const n = readSync(fd, out, at, out.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return at === out.length ? out : out.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}
