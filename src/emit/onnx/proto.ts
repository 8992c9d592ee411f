// ONNX's protobuf messages, from the official onnx.proto (shipped beside this file), and builders for graph parts.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

/** ONNX's IR version and the default-domain opset the exporter writes (opset 17: ONNX Runtime 1.12+, TensorRT 8.6+). */
export const IR_VERSION = 8;
export const OPSET = 17;

let root: protobuf.Root | undefined;
/** The parsed onnx.proto (field names as in the file: snake_case). */
export function onnxRoot(): protobuf.Root {
  root ??= protobuf.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "onnx.proto"), "utf8"), { keepCase: true }).root;
  return root;
}

/** TensorProto.DataType values used here. */
export const DType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9 } as const;

export interface NodeSpec { op_type: string; input: string[]; output: string[]; name: string; attribute: object[]; domain?: string }
export interface TensorSpec { name: string; dims: number[]; data_type: number; float_data?: number[]; int64_data?: number[]; int32_data?: number[] }
export interface ValueInfo { name: string; type: object }

/** An attribute: ints, floats, strings, lists of them, or a graph (AttributeProto.AttributeType numbering). */
export function attr(name: string, value: number | string | number[] | string[] | { graph: object }, float = false): object {
  if (typeof value === "object" && !Array.isArray(value)) return { name, type: 5, g: value.graph };
  if (typeof value === "string") return { name, type: 3, s: new TextEncoder().encode(value) };
  if (typeof value === "number") return float ? { name, type: 1, f: value } : { name, type: 2, i: value };
  if (value.length && typeof value[0] === "string") return { name, type: 8, strings: (value as string[]).map((s) => new TextEncoder().encode(s)) };
  return float ? { name, type: 6, floats: value } : { name, type: 7, ints: value };
}

/** A tensor type with named (symbolic) or fixed dimensions. */
export function tensorType(elemType: number, dims: readonly (number | string)[]): object {
  return { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) } } };
}

/** Encodes a model (a plain object in ModelProto's shape) to bytes, after protobufjs' own field checks. */
export function encodeModel(model: object): Uint8Array {
  const M = onnxRoot().lookupType("onnx.ModelProto");
  const problem = M.verify(model);
  if (problem) throw new Error(`internal: the exported model is not a valid ModelProto: ${problem}`);
  return M.encode(M.fromObject(model)).finish();
}

/** Decodes ModelProto bytes (for tests and `rnnc import`). */
export function decodeModel(bytes: Uint8Array): Record<string, unknown> {
  const M = onnxRoot().lookupType("onnx.ModelProto");
  return M.toObject(M.decode(bytes), { longs: Number, defaults: false }) as Record<string, unknown>;
}
