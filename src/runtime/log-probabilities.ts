// A step's scores as log-probabilities, as every loss and decoder reads them: log-softmax of scores, or the log of probabilities.

/**
 * `out.length` values of `y` from `from` as log-probabilities in float64, written into `out`: log-softmax of scores, or
 * (`probabilities`: an output ending in a softmax) log(y + 1e-7), as cross-entropy takes it.
 */
export function logProbabilities(y: ArrayLike<number>, probabilities: boolean, out: Float64Array = new Float64Array(y.length), from = 0): Float64Array {
  const C = out.length;
  if (probabilities) {
    for (let c = 0; c < C; c++) out[c] = Math.log(Math.fround(y[from + c]! + 1e-7));
    return out;
  }
  let max = -Infinity;
  for (let c = 0; c < C; c++) if (y[from + c]! > max) max = y[from + c]!;
  let sum = 0;
  for (let c = 0; c < C; c++) sum += Math.exp(y[from + c]! - max);
  const z = max + Math.log(sum);
  for (let c = 0; c < C; c++) out[c] = y[from + c]! - z;
  return out;
}
