// Reads the safetensors format (PyTorch's `save_file`): an 8-byte header length, a JSON header, then raw tensors.
import { RnncError } from "../diagnostics/errors.js";
import { MAX_TENSOR_ELEMENTS } from "../diagnostics/limits.js";

export interface NamedTensor { readonly shape: readonly number[]; readonly data: Float32Array }

const bad = (source: string, why: string) => new RnncError("RNN0604", `${source} is not a valid safetensors file: ${why}`, ["safetensors: 8 bytes of header length (little endian), a JSON header {name: {dtype, shape, data_offsets}}, then the data"]);

/** Every tensor of the file as float32 (F32, F16, BF16 and F64 are read; integer tensors are skipped). */
export function readSafetensors(bytes: Uint8Array, source: string): Map<string, NamedTensor> {
  if (bytes.length < 8) throw bad(source, "it is shorter than its 8-byte header length");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8 || headerLength > 100 << 20) throw bad(source, `its header length ${headerLength} runs past the file's ${bytes.length} bytes`);
  let header: Record<string, { dtype?: unknown; shape?: unknown; data_offsets?: unknown }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as typeof header;
  } catch (e) {
    throw bad(source, `its header is not JSON (${(e as Error).message})`);
  }
  const data = bytes.subarray(8 + headerLength);
  const out = new Map<string, NamedTensor>();
  for (const [name, h] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const shape = h.shape, offsets = h.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(source, `tensor "${name}" has no valid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0) || offsets[0] > offsets[1] || offsets[1] > data.length) throw bad(source, `tensor "${name}" has data offsets outside the file`);
    const n = (shape as number[]).reduce((a, b) => a * b, 1);
    if (n > MAX_TENSOR_ELEMENTS) throw bad(source, `tensor "${name}" has ${n} elements, more than a tensor can hold`);
    const raw = data.subarray(offsets[0] as number, offsets[1] as number);
    const rv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const width = ({ F32: 4, F16: 2, BF16: 2, F64: 8 } as Record<string, number>)[String(h.dtype)];
    if (!width) continue; // integer tensors (e.g. BatchNorm's num_batches_tracked) carry no weights rnnc reads
    if (raw.length !== n * width) throw bad(source, `tensor "${name}" has ${raw.length} bytes for ${n} ${String(h.dtype)} values`);
    const t = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (h.dtype === "F32") t[i] = rv.getFloat32(4 * i, true);
      else if (h.dtype === "F64") t[i] = rv.getFloat64(8 * i, true);
      else if (h.dtype === "BF16") t[i] = new Float32Array(new Uint32Array([rv.getUint16(2 * i, true) << 16]).buffer)[0]!;
      else t[i] = half(rv.getUint16(2 * i, true));
    }
    out.set(name, { shape: shape as number[], data: t });
  }
  return out;
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** A matrix's transpose ([r, c] → [c, r]). */
export function transposed(t: NamedTensor): NamedTensor {
  const [r, c] = t.shape as [number, number];
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j]!;
  return { shape: [c, r], data: out };
}
