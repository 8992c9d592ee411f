// What every backend's run takes and gives: the shared input and output types of cells and models, and the stepper seam.
import type { LayerInfo } from "../ir/ir.js";
import type { DimEnv } from "./dims.js";
import type { Precision, Tensor } from "./tensor.js";

export interface CellRunInput {
  /** One tensor per cell input, shaped [batch, time, ...input shape]. */
  readonly inputs: Readonly<Record<string, Tensor>>;
  /** Optional starting value per state, [batch, ...state shape]; it fills every earlier step the cell reads. */
  readonly initialStates?: Readonly<Record<string, Tensor>>;
  /** Number of steps, for a cell without inputs. */
  readonly steps?: number;
}

export interface CellRunResult {
  /** Per output: [batch, time, ...shape]. */
  readonly outputs: Record<string, Tensor>;
  /** Per state, its value after the last step: [batch, ...shape]. */
  readonly states: Record<string, Tensor>;
}

export interface ModelRunInput {
  /** Per input: sequences [batch, time, ...], single values [batch, ...]. */
  readonly inputs: Readonly<Record<string, Tensor>>;
  /** Per sequence input, each example's length (≤ time); steps past it are padding. */
  readonly lengths?: Readonly<Record<string, readonly number[]>>;
  /** Seed of sampling in `generate` at temperature > 0. */
  readonly seed?: number;
}

export interface ModelOutput {
  /** [batch, time, ...] for sequences (zero past each length), [batch, ...] for single values. */
  readonly tensor?: Tensor;
  readonly lengths?: number[];
  /** For final states: each state [batch, ...]. */
  readonly states?: Record<string, Tensor>;
}

/** What runs a layer a step at a time for one example: the interpreter's CellStepper, or a compiled cell. */
export interface Stepper {
  step(inputs: ReadonlyMap<string, Tensor>): Map<string, Tensor>;
  states(): Map<string, Tensor>;
}
/** Which use of a layer a stepper runs: the example of the batch and the model's construct node (absent inside beam search, whose hypotheses each step a copy). */
export interface StepperUse { readonly example: number; readonly node: number }
export type StepperFactory = (layer: LayerInfo, env: DimEnv, params: ReadonlyMap<string, Tensor>, p: Precision, initial: Map<string, Tensor>, use?: StepperUse) => Stepper;

