// A training engine with dropout on: each batch it trains on gets masks newly drawn; each it evaluates, masks of ones.
import type { DimEnv } from "./dims.js";
import { withMasks, type DropoutTraining } from "./dropout.js";
import type { Tensor } from "./tensor.js";
import type { Batch, Evaluation, OptimizerState, ScanPath, TrainEngine } from "./training.js";

export class DropoutEngine implements TrainEngine {
  /** Batches trained on so far: the draw of the next one's masks. */
  private drawn = 0;

  /** `inner` trains `d.ir` (the model with its mask inputs); `seed` makes the masks reproducible. */
  constructor(private readonly inner: TrainEngine, private readonly d: DropoutTraining, private readonly env: DimEnv, private readonly seed: number) {}

  accumulate(batch: Batch): number {
    return this.inner.accumulate(withMasks(batch, this.d, this.env, { seed: this.seed, step: this.drawn++ }));
  }

  apply(): void {
    this.inner.apply();
  }

  step(batch: Batch): number {
    const loss = this.accumulate(batch);
    this.apply();
    return loss;
  }

  setLearningRate(lr: number): void {
    this.inner.setLearningRate(lr);
  }

  /** Dropout off: every mask all ones, so the model computes what `rnnc run` does. */
  evaluate(batch: Batch): Evaluation {
    return this.inner.evaluate(withMasks(batch, this.d, this.env, "ones"));
  }

  optimizerState(): Promise<OptimizerState> {
    return this.inner.optimizerState();
  }

  restoreOptimizer(state: OptimizerState): Promise<boolean> {
    return this.inner.restoreOptimizer(state);
  }

  scanPaths(): ReadonlyMap<number, ScanPath> {
    return this.inner.scanPaths();
  }

  params(): Map<string, Tensor> {
    return this.inner.params();
  }

  dispose(): void {
    this.inner.dispose();
  }
}
