// The library's API (`rnnc/api`): load a model, train it with fit(), evaluate, run, compile, import weights. Each CLI
// command is a thin layer over one of these; src/api/README.md documents them, and test/readme.test.ts runs its examples.
export { loadModel, modelFromSource, initWeights, readWeights, writeWeights, run, summary, compile,
  type Model, type Weights, type LoadOptions, type RunOptions, type RunOutput, type CompileOptions, type Compiled } from "./model.js";
export { fit, type FitOptions, type FitResult, type FitCallbacks, type FitData, type EpochLogs } from "./fit.js";
export { evaluate, type EvaluateOptions } from "./evaluate.js";
export { loadData, type DataSource, type DataModule, type Example } from "./data.js";
export { importWeights, type ImportOptions, type Imported, type Placed } from "./import.js";
export { RnncError, UsageError, CompileErrors } from "../diagnostics/errors.js";
export { renderError, renderDiagnostics } from "../diagnostics/render.js";
export type { TrainingState } from "../weights/weights.js";
export type { Tensor } from "../runtime/tensor.js";
