// Training losses on a time-major output [T·B·width]: masked cross-entropy and MSE, each with its metric and gradient.
//
// The definitions are tfjs/train.ts's (its tests compare the two engines): every valid step (t < its example's length)
// weighs the same, and the sum over them is divided by their number; padded steps add nothing and get no gradient.

/** A model output for the whole batch, time-major, with each example's length (a single value: T = 1, lengths 1). */
export interface LossOutput { readonly y: Float32Array; readonly T: number; readonly B: number; readonly width: number; readonly lengths: readonly number[] }

export interface LossResult {
  readonly loss: number;
  /** Accuracy (cross-entropy) or the root of the mean squared error. */
  readonly metric: number;
  /** The loss's gradient with respect to y (when asked for), zero on padded steps. */
  readonly dy?: Float32Array;
}

/** `n` zeros: where a loss's gradient goes (a caller may give zeroed arrays of its own). */
const zeros = (n: number): Float32Array => new Float32Array(n);

/** How many steps count (at least 1, so an empty batch divides by 1). */
function validSteps(o: LossOutput): number {
  let n = 0;
  for (const l of o.lengths) n += Math.min(l, o.T);
  return Math.max(n, 1);
}

/**
 * Cross-entropy against class ids [T·B] (time-major). `probabilities`: y already holds them (a softmax), and the log
 * is taken of y + 1e-7; otherwise y holds logits and a log-softmax is taken. A class id outside [0, width) picks
 * nothing (tfjs' one-hot of it is all zero): it adds no loss and no gradient.
 */
export function crossEntropy(o: LossOutput, ids: Int32Array, probabilities: boolean, gradient: boolean, take = zeros): LossResult {
  const { y, T, B, width: C, lengths } = o;
  const valid = validSteps(o);
  const dy = gradient ? take(y.length) : undefined;
  let loss = 0, correct = 0;
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++) {
      if (t >= lengths[b]!) continue;
      const row = (t * B + b) * C;
      const id = ids[t * B + b]!;
      let best = 0;
      for (let c = 1; c < C; c++) if (y[row + c]! > y[row + best]!) best = c;
      if (best === id) correct++;
      const inRange = id >= 0 && id < C;
      if (probabilities) {
        if (!inRange) continue;
        const p = Math.fround(y[row + id]! + 1e-7);
        loss -= Math.log(p);
        if (dy) dy[row + id] = -1 / (p * valid);
        continue;
      }
      let max = -Infinity;
      for (let c = 0; c < C; c++) if (y[row + c]! > max) max = y[row + c]!;
      // Each exponential once: kept in dy (when there is one) and scaled there into the softmax over `valid`.
      let sum = 0;
      for (let c = 0; c < C; c++) {
        const e = Math.exp(y[row + c]! - max);
        if (dy) dy[row + c] = e;
        sum += e;
      }
      const logSum = Math.log(sum) + max;
      if (!inRange) {
        if (dy) dy.fill(0, row, row + C);
        continue;
      }
      loss -= y[row + id]! - logSum;
      if (dy) {
        const scale = 1 / (sum * valid);
        for (let c = 0; c < C; c++) dy[row + c] = dy[row + c]! * scale;
        dy[row + id] = dy[row + id]! - 1 / valid;
      }
    }
  return { loss: loss / valid, metric: correct / valid, ...(dy ? { dy } : {}) };
}

/** The mean over each step's values, summed over the valid steps, over their number; the metric is its root. */
export function meanSquared(o: LossOutput, target: Float32Array, gradient: boolean, take = zeros): LossResult {
  const { y, T, B, width, lengths } = o;
  const weight = 1 / (width * validSteps(o));
  const dy = gradient ? take(y.length) : undefined;
  let loss = 0;
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++) {
      if (t >= lengths[b]!) continue;
      const row = (t * B + b) * width;
      for (let i = row; i < row + width; i++) {
        const d = y[i]! - target[i]!;
        loss += d * d * weight;
        if (dy) dy[i] = 2 * d * weight;
      }
    }
  return { loss, metric: Math.sqrt(loss), ...(dy ? { dy } : {}) };
}
