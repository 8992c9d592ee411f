// Connectionist temporal classification (Graves et al. 2006): the loss and its gradient, and greedy and prefix-beam decoding.
//
// An output of per-step scores over C classes (one of them the blank) is read as alignments: a label sequence's
// probability is the sum over every path of steps that collapses to it (repeats merged, blanks dropped). The loss is
// PyTorch's ctc_loss with reduction "mean": each example's −log p(labels) divided by its number of labels (at least
// one), averaged over the batch. Sums are in float64, in the log domain.
import { RnncError } from "../diagnostics/errors.js";
import { logProbabilities } from "./log-probabilities.js";

/** Per-step scores, time-major [T·B·C], each example's valid steps, and how to read them. */
export interface CtcOutput { readonly y: ArrayLike<number>; readonly T: number; readonly B: number; readonly C: number; readonly lengths: readonly number[] }

export interface CtcResult {
  /** The batch's mean of −log p(labels) / (labels, at least 1). */
  readonly loss: number;
  /** The label error rate of greedy decoding: edit distances over the labels' total. */
  readonly metric: number;
  /** The loss's gradient with respect to y (zero on padded steps), when asked for. */
  readonly dy?: Float32Array;
}

const NEG = -Infinity;
function lse(a: number, b: number): number {
  if (a === NEG) return b;
  if (b === NEG) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** The fewest steps a label sequence needs: one per label, and a blank between each pair of equal neighbours. */
export function ctcMinSteps(labels: readonly number[]): number {
  let n = labels.length;
  for (let i = 1; i < labels.length; i++) if (labels[i] === labels[i - 1]) n++;
  return n;
}

/**
 * The CTC loss of a batch against each example's labels (class ids, none of them the blank), with its gradient when
 * `gradient`. `probabilities`: y holds probabilities (an output ending in a softmax), else scores (logits).
 */
export function ctcLoss(o: CtcOutput, labels: readonly (readonly number[])[], blank: number, probabilities: boolean, gradient: boolean): CtcResult {
  const { T, B, C, lengths } = o;
  const dy = gradient ? new Float32Array(T * B * C) : undefined;
  let loss = 0, edits = 0, total = 0;
  const lp: Float64Array[] = Array.from({ length: T }, () => new Float64Array(C));
  for (let b = 0; b < B; b++) {
    const Tb = Math.min(lengths[b]!, T), l = labels[b]!, U = l.length;
    if (ctcMinSteps(l) > Tb)
      throw new RnncError("RNN0605", `a CTC target of ${U} label${U === 1 ? "" : "s"} needs at least ${ctcMinSteps(l)} output steps (one per label, and a blank between equal neighbours), and its example's output has ${Tb}`,
        ["CTC aligns the labels to the output's steps, at most one label per step"], "give the model more steps per label (a longer input, or less downsampling), or shorter targets");
    for (let t = 0; t < Tb; t++) logProbabilities(o.y, probabilities, lp[t]!, (t * B + b) * C);
    // The labels with blanks around and between them: l'.
    const S = 2 * U + 1;
    const ext = Int32Array.from({ length: S }, (_, s) => (s % 2 ? l[(s - 1) / 2]! : blank));
    const alpha = Array.from({ length: Tb }, () => new Float64Array(S).fill(NEG));
    const beta = Array.from({ length: Tb }, () => new Float64Array(S).fill(NEG));
    alpha[0]![0] = lp[0]![blank]!;
    if (S > 1) alpha[0]![1] = lp[0]![ext[1]!]!;
    for (let t = 1; t < Tb; t++)
      for (let s = 0; s < S; s++) {
        let a = alpha[t - 1]![s]!;
        if (s > 0) a = lse(a, alpha[t - 1]![s - 1]!);
        if (s > 1 && ext[s] !== blank && ext[s] !== ext[s - 2]) a = lse(a, alpha[t - 1]![s - 2]!);
        alpha[t]![s] = a === NEG ? NEG : a + lp[t]![ext[s]!]!;
      }
    const logP = S > 1 ? lse(alpha[Tb - 1]![S - 1]!, alpha[Tb - 1]![S - 2]!) : alpha[Tb - 1]![0]!;
    const weight = 1 / (B * Math.max(U, 1));
    loss -= logP * weight;
    // Greedy decoding's errors, for the metric.
    const decoded = ctcGreedy(lp, Tb, C, blank);
    edits += editDistance(decoded, l);
    total += U;
    if (!dy) continue;
    beta[Tb - 1]![S - 1] = lp[Tb - 1]![ext[S - 1]!]!;
    if (S > 1) beta[Tb - 1]![S - 2] = lp[Tb - 1]![ext[S - 2]!]!;
    for (let t = Tb - 2; t >= 0; t--)
      for (let s = 0; s < S; s++) {
        let v = beta[t + 1]![s]!;
        if (s < S - 1) v = lse(v, beta[t + 1]![s + 1]!);
        if (s < S - 2 && ext[s] !== blank && ext[s] !== ext[s + 2]) v = lse(v, beta[t + 1]![s + 2]!);
        beta[t]![s] = v === NEG ? NEG : v + lp[t]![ext[s]!]!;
      }
    // γ_t(k): the posterior of class k at step t (α and β both hold step t's own log-probability: taken once).
    const gamma = new Float64Array(C);
    for (let t = 0; t < Tb; t++) {
      gamma.fill(NEG);
      for (let s = 0; s < S; s++) gamma[ext[s]!] = lse(gamma[ext[s]!]!, alpha[t]![s]! + beta[t]![s]! - lp[t]![ext[s]!]!);
      const at = (t * B + b) * C;
      for (let c = 0; c < C; c++) {
        const g = gamma[c] === NEG ? 0 : Math.exp(gamma[c]! - logP);
        // d(−log p)/d log-probability is −γ; through a log-softmax it is softmax − γ; through log(y + 1e-7), −γ / (y + 1e-7).
        dy[at + c] = weight * (probabilities ? -g / Math.fround(o.y[at + c]! + 1e-7) : Math.exp(lp[t]![c]!) - g);
      }
    }
  }
  return { loss, metric: edits / Math.max(total, 1), ...(dy ? { dy } : {}) };
}

/** Best-path decoding: each step's most probable class (the lowest id on a tie), repeats merged, blanks dropped. */
export function ctcGreedy(lp: readonly ArrayLike<number>[], T: number, C: number, blank: number): number[] {
  const out: number[] = [];
  let prev = -1;
  for (let t = 0; t < T; t++) {
    const row = lp[t]!;
    let best = 0;
    for (let c = 1; c < C; c++) if (row[c]! > row[best]!) best = c;
    if (best !== prev && best !== blank) out.push(best);
    prev = best;
  }
  return out;
}

/**
 * Prefix beam search (Hannun et al. 2014): the K label prefixes of highest probability, each summed over the paths
 * that end in a blank and those that end in its last label, kept at every step; the most probable at the end.
 * Deterministic: equal probabilities keep the prefix found first. Log-probabilities per step, [T][C].
 */
export function ctcPrefixBeam(lp: readonly ArrayLike<number>[], T: number, C: number, blank: number, K: number): number[] {
  type Beam = { prefix: number[]; pb: number; pnb: number };
  let beams: Beam[] = [{ prefix: [], pb: 0, pnb: NEG }];
  for (let t = 0; t < T; t++) {
    const row = lp[t]!;
    const next = new Map<string, Beam>();
    const at = (prefix: number[]): Beam => {
      const key = prefix.join(",");
      let b = next.get(key);
      if (!b) next.set(key, (b = { prefix, pb: NEG, pnb: NEG }));
      return b;
    };
    for (const { prefix, pb, pnb } of beams) {
      const last = prefix.length ? prefix[prefix.length - 1] : -1;
      for (let c = 0; c < C; c++) {
        const p = row[c]!;
        if (c === blank) {
          const b = at(prefix);
          b.pb = lse(b.pb, lse(pb, pnb) + p);
          continue;
        }
        const extended = at([...prefix, c]);
        if (c === last) {
          // The same label again: a new one only after a blank; without one, the paths merge into this prefix.
          extended.pnb = lse(extended.pnb, pb + p);
          const same = at(prefix);
          same.pnb = lse(same.pnb, pnb + p);
        } else extended.pnb = lse(extended.pnb, lse(pb, pnb) + p);
      }
    }
    beams = [...next.values()].map((b, i) => ({ b, i, s: lse(b.pb, b.pnb) })).sort((x, y) => y.s - x.s || x.i - y.i).slice(0, K).map((x) => x.b);
  }
  return beams[0]?.prefix ?? [];
}

/** How CTC outputs are decoded: the blank class, and the beam (1: greedy best path). */
export interface CtcDecoding { readonly blank: number; readonly beam: number }

/** Each example's labels decoded from its steps of a CTC output ([T, C] rows, `length` of them valid). */
export function ctcDecode(row: ArrayLike<number>, length: number, C: number, probabilities: boolean, d: CtcDecoding): number[] {
  const lp = Array.from({ length }, (_, t) => logProbabilities(row, probabilities, new Float64Array(C), t * C));
  return d.beam > 1 ? ctcPrefixBeam(lp, length, C, d.blank, d.beam) : ctcGreedy(lp, length, C, d.blank);
}

/** Levenshtein distance between token sequences (no adjacent swaps, unlike the suggestions' distance): the error rate's definition. */
export function editDistance(a: readonly number[], b: readonly number[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
