// The library entry point: the composition root and the types and functions a program embedding rnnc needs.
export { createCompiler, CompileErrors, pipeline, type Compiler, type CheckResult } from "./compiler.js";
export { memoryHost, type Host } from "./resolve/host.js";
export type { Diagnostic, Label, Help, Edit, Severity } from "./diagnostics/diagnostic.js";
export { renderDiagnostic, renderDiagnostics, renderError, diagnosticToJson, positionOf } from "./diagnostics/render.js";
export { codes } from "./diagnostics/codes.js";
export { RnncError } from "./diagnostics/errors.js";
export type { CellIR, Node } from "./ir/ir.js";
export { Op } from "./ir/ops.js";
export { printCellIR } from "./ir/print.js";
export { verifyCellIR } from "./ir/verify.js";
export { resolveDims } from "./runtime/dims.js";
export { runCell, type CellRunInput, type CellRunResult } from "./interp/run-cell.js";
export { tensorFromJson } from "./runtime/json-tensor.js";
export { toNested, type Tensor, type Precision } from "./runtime/tensor.js";
export { parseWeights, checkWeights, initParams, serializeWeights, cellParamSpecs, modelParamSpecs } from "./weights/weights.js";
export { mulberry32 } from "./runtime/random.js";
