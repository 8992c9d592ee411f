// The tfjs entry point of the package (`rnnc/tfjs`): running, training and backend selection on TensorFlow.js.
export { runCellTf, runModelTf, variablesOf } from "./run.js";
export { useBackend, loweringDefaults, type TfBackend } from "./backend.js";
export { Trainer, type TrainOptions, type Batch } from "./train.js";
export { TfModel, type LoweringOptions } from "./model.js";
export { quietTf } from "./quiet.js";
import { quietTf } from "./quiet.js";
// A program that imports rnnc/tfjs gets no tfjs-node advertisement (its own PROD setting, if any, is kept).
quietTf();
