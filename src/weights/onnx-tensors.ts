// An ONNX initializer's values, read only as far as its bytes back its claims: dims, type, encoding, length, finiteness.
import { RnncError } from "../diagnostics/errors.js";
import { bfloat16, checkFinite, claimedElements, float16, type ReadOptions } from "./bounds.js";

export interface TensorJson {
  name: string; dims?: number[]; data_type?: number; float_data?: number[]; double_data?: number[]; int32_data?: number[];
  int64_data?: (number | string)[]; raw_data?: Uint8Array; data_location?: number; external_data?: unknown[]; segment?: unknown;
}

const bad = (source: string, why: string) => new RnncError("RNN0604", `${source}: ${why}`);

/** TensorProto.DataType values rnnc reads weights from, with their names for messages. */
const FLOAT = 1, FLOAT16 = 10, DOUBLE = 11, BFLOAT16 = 16;
const half = (h: number, type: number) => (type === BFLOAT16 ? bfloat16(h) : float16(h));
const TYPE_NAMES: Record<number, string> = { 1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16" };

/** An initializer's dims, checked (whole numbers ≥ 0, at most MAX_TENSOR_ELEMENTS elements), and its element count. */
export function dimsOf(t: TensorJson, source: string): { shape: number[]; n: number } {
  const shape = (t.dims ?? []).map(Number);
  return { shape, n: claimedElements(shape, `initializer ${t.name}`, (why) => bad(source, why)) };
}

/**
 * An initializer's values as float32: float32, float64, float16 or bfloat16, held in the typed field or as raw
 * little-endian bytes, exactly as many as its dims claim. Data in an external file, a segmented tensor, other element
 * types and (unless `allowNonfinite`) NaN or ±Infinity are refused with an error naming the initializer.
 */
export function initializerFloats(t: TensorJson, source: string, opts: ReadOptions = {}): Float32Array {
  const { n } = dimsOf(t, source);
  const type = t.data_type ?? FLOAT;
  const what = `initializer ${t.name}`;
  if (t.data_location === 1 || (t.external_data?.length ?? 0) > 0) {
    throw new RnncError("RNN0604", `${source}: ${what} keeps its values in an external file, which rnnc does not read`, [
      "ONNX models over 2 GB store large tensors beside the .onnx file; rnnc reads a model whose weights are inside it",
    ], "save the model with its weights inside (onnx.save_model(model, path, save_as_external_data=False))");
  }
  if (t.segment !== undefined && t.segment !== null) throw bad(source, `${what} is a segment of a larger tensor, which rnnc does not read`);
  if (![FLOAT, FLOAT16, DOUBLE, BFLOAT16].includes(type)) throw bad(source, `${what} is ${TYPE_NAMES[type] ?? `of element type ${type}`}; rnnc reads weights of float32, float64, float16 or bfloat16`);
  const out = new Float32Array(n);
  const raw = t.raw_data;
  const typed = type === FLOAT ? t.float_data : type === DOUBLE ? t.double_data : t.int32_data;
  const width = type === DOUBLE ? 8 : type === FLOAT ? 4 : 2;
  if (raw && raw.length > 0) {
    if (typed?.length) throw bad(source, `${what} holds its values twice (raw_data and a typed field)`);
    if (raw.length !== n * width) throw bad(source, `${what} claims ${n} values (dims [${(t.dims ?? []).join(", ")}]) and holds ${raw.length} bytes, ${n * width} expected`);
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < n; i++) out[i] = type === FLOAT ? v.getFloat32(4 * i, true) : type === DOUBLE ? v.getFloat64(8 * i, true) : half(v.getUint16(2 * i, true), type);
  } else {
    const count = typed?.length ?? 0;
    if (count !== n) throw bad(source, `${what} claims ${n} values (dims [${(t.dims ?? []).join(", ")}]) and holds ${count}`);
    for (let i = 0; i < n; i++) out[i] = type === FLOAT || type === DOUBLE ? typed![i]! : half(typed![i]! & 0xffff, type);
  }
  checkFinite(out, what, source, opts);
  return out;
}
