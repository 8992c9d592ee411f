// fit()'s epochs in this process: each planned batch padded (batchOf) and handed to a TrainEngine (the fused kernels or TensorFlow.js).
import type { ModelIR } from "../ir/ir.js";
import type { Tensor } from "../runtime/tensor.js";
import type { EpochPlan, EpochRunner, OptimizerState, TrainEngine } from "../runtime/training.js";
import { batchOf, type Example } from "./data.js";

export class LocalEpochs implements EpochRunner {
  private trained = 0;

  /** `afterFirstBatch` hears once, after the first batch, that the engine has run (--explain reads its paths then). */
  constructor(private readonly engine: TrainEngine, private readonly ir: ModelIR, private readonly train: readonly Example[], private readonly held: readonly Example[], private readonly afterFirstBatch?: (engine: TrainEngine) => void) {}

  async trainEpoch(plan: EpochPlan, onBatch: (k: number, loss: number, size: number) => Promise<void>, aborted: () => boolean): Promise<void> {
    const n = plan.batches.length;
    for (let k = 0; k < n && !aborted(); k++) {
      const chunk = plan.batches[k]!.map((i) => this.train[i]!);
      const loss = this.engine.accumulate(batchOf(this.ir, chunk));
      if ((k + 1) % plan.accumulate === 0 || k === n - 1) {
        this.engine.setLearningRate(plan.lrs[k]!);
        this.engine.apply();
      }
      if (this.trained++ === 0) this.afterFirstBatch?.(this.engine);
      await onBatch(k + 1, loss, chunk.length);
      await new Promise((r) => setImmediate(r)); // lets a signal (Ctrl-C) be handled between batches
    }
  }

  async evaluate(size: number): Promise<{ loss: number; metric: number }> {
    let loss = 0, metric = 0;
    for (let k = 0; k < this.held.length; k += size) {
      const chunk = this.held.slice(k, k + size);
      const e = this.engine.evaluate(batchOf(this.ir, chunk));
      loss += e.loss * chunk.length;
      metric += e.metric * chunk.length;
    }
    return { loss: loss / this.held.length, metric: metric / this.held.length };
  }

  async params(): Promise<Map<string, Tensor>> {
    return this.engine.params();
  }

  optimizerState(): Promise<OptimizerState> {
    return this.engine.optimizerState();
  }

  restoreOptimizer(state: OptimizerState): Promise<boolean> {
    return this.engine.restoreOptimizer(state);
  }

  async dispose(): Promise<void> {
    this.engine.dispose();
  }
}
