// Reads the safetensors format (PyTorch's `save_file`): an 8-byte header length, a JSON header, then raw tensors.
import { RnncError } from "../diagnostics/errors.js";
import { bfloat16, checkFinite, claimedElements, float16, type ReadOptions } from "./bounds.js";
import { describe } from "../diagnostics/describe.js";

export interface NamedTensor { readonly shape: readonly number[]; readonly data: Float32Array }

const bad = (source: string, why: string) => new RnncError("RNN0604", `${source} is not a valid safetensors file: ${why}`, ["safetensors: 8 bytes of header length (little endian), a JSON header {name: {dtype, shape, data_offsets}}, then the data"]);

/** Bytes per value of safetensors' dtypes; those rnnc reads as weights are the float ones. */
const WIDTH: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1 };
const FLOAT = new Set(["F64", "F32", "F16", "BF16"]);
/** Integer tensors carry no weights rnnc reads (BatchNorm's num_batches_tracked, token tables): skipped. */
const SKIPPED = new Set(["I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL"]);

/**
 * Every float tensor of the file as float32 (F32, F16, BF16 and F64; integer tensors are skipped). Every claim of the
 * header (its length, each tensor's shape, dtype and offsets) is checked against the bytes really there before
 * anything is allocated; 8-bit floats are refused by name; NaN and ±Infinity are refused unless `allowNonfinite`.
 */
export function readSafetensors(bytes: Uint8Array, source: string, opts: ReadOptions = {}): Map<string, NamedTensor> {
  if (bytes.length < 8) throw bad(source, "it is shorter than its 8-byte header length");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8 || headerLength > 100 << 20) throw bad(source, `its header length ${headerLength} runs past the file's ${bytes.length} bytes`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    throw bad(source, `its header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw bad(source, "its header is not a JSON object");
  const data = bytes.subarray(8 + headerLength);
  const out = new Map<string, NamedTensor>();
  for (const [name, h] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") continue;
    if (typeof h !== "object" || h === null || Array.isArray(h)) throw bad(source, `tensor "${name}" is not described by an object`);
    const { dtype, shape, data_offsets: offsets } = h as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const n = claimedElements(shape, `tensor "${name}"`, (why) => bad(source, why));
    if (typeof dtype !== "string" || !(dtype in WIDTH)) throw bad(source, `tensor "${name}" has the dtype ${describe(dtype)}, which safetensors does not define`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1] || offsets[1] > data.length) throw bad(source, `tensor "${name}" has data offsets outside the file`);
    const width = WIDTH[dtype]!;
    const raw = data.subarray(offsets[0] as number, offsets[1] as number);
    if (raw.length !== n * width) throw bad(source, `tensor "${name}" has ${raw.length} bytes for ${n} ${dtype} values`);
    if (SKIPPED.has(dtype)) continue;
    if (!FLOAT.has(dtype)) throw new RnncError("RNN0604", `${source}: tensor "${name}" is ${dtype}, an 8-bit float rnnc does not read`, [], "save the state dict with float32 (or float16/bfloat16) tensors");
    const rv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const t = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (dtype === "F32") t[i] = rv.getFloat32(4 * i, true);
      else if (dtype === "F64") t[i] = rv.getFloat64(8 * i, true);
      else if (dtype === "BF16") t[i] = bfloat16(rv.getUint16(2 * i, true));
      else t[i] = float16(rv.getUint16(2 * i, true));
    }
    checkFinite(t, `tensor "${name}"`, source, opts);
    out.set(name, { shape: shape as number[], data: t });
  }
  return out;
}

/** A matrix's transpose ([r, c] → [c, r]). */
export function transposed(t: NamedTensor): NamedTensor {
  const [r, c] = t.shape as [number, number];
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j]!;
  return { shape: [c, r], data: out };
}

/** The header's `__metadata__` (string to string), or an empty record; the file is read in full by readSafetensors. */
export function safetensorsMetadata(bytes: Uint8Array): Record<string, string> {
  if (bytes.length < 8) return {};
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  if (n > bytes.length - 8 || n > 100 << 20) return {};
  try {
    const meta = (JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as { __metadata__?: unknown }).__metadata__;
    return typeof meta === "object" && meta !== null && !Array.isArray(meta) ? Object.fromEntries(Object.entries(meta).filter(([, v]) => typeof v === "string")) as Record<string, string> : {};
  } catch {
    return {};
  }
}
