// Beam search for `generate(…, beam = K)`: the decoding rule, once, over hypotheses whose states the backend keeps.
export { logProbabilities } from "./log-probabilities.js";

/** A hypothesis about to take a step: the state it carries (the backend's), and the token it feeds back. */
export interface BeamInput<S> { readonly state: S; readonly token: number }

/**
 * One step of every live hypothesis, all examples at once (the backend batches them as it likes): each one's scores
 * over the vocabulary as log-probabilities, and the state after the step.
 */
export type BeamStep<S> = (hyps: readonly BeamInput<S>[]) => { readonly logp: readonly ArrayLike<number>[]; readonly states: readonly S[] };

export interface BeamOptions {
  /** Hypotheses kept per example (K ≥ 1; 1 is greedy decoding). */
  readonly beam: number;
  /** The most steps (tokens, the end token included). */
  readonly steps: number;
  /** The end token (-1: none): a hypothesis that emits it is finished, the token left out of its sequence. */
  readonly until: number;
  /** The token the first step reads. */
  readonly start: number;
  /**
   * Length normalization α: hypotheses are ranked by log p / n^α at the end, n the tokens emitted (the end token
   * included). 0 (the default) ranks by log p, which favours short sequences; 0.6–1 is usual for translation.
   */
  readonly lengthNorm: number;
}

/** An example's decoded sequence (without the end token), the state after its last step, and its score. */
export interface BeamResult<S> { readonly tokens: number[]; readonly state: S; readonly score: number; readonly logp: number }

interface Hyp<S> { readonly tokens: number[]; readonly logp: number; readonly state: S; readonly emitted: number }

/**
 * Each example's best sequence by beam search, deterministic: at each step every live hypothesis is extended by every
 * token, and the best 2K extensions by total log-probability (ties: the earlier hypothesis, then the lower token id)
 * are taken in order: one that ends (the end token) among the first K is finished, the others stay live up to K (as
 * Hugging Face's beam search with early stopping). An example is done when
 * K of its hypotheses have finished, or none is live; at `steps`, its live hypotheses finish where they are. Its result
 * is the finished hypothesis with the best log p / n^α. With K = 1 this is greedy decoding: the argmax each step (the
 * lowest id among equal scores), ending at the end token.
 */
export function beamSearch<S>(starts: readonly S[], o: BeamOptions, step: BeamStep<S>): BeamResult<S>[] {
  const K = o.beam;
  const live: Hyp<S>[][] = starts.map((state) => [{ tokens: [], logp: 0, state, emitted: 0 }]);
  const finished: Hyp<S>[][] = starts.map(() => []);
  const done = starts.map(() => false);
  for (let k = 0; k < o.steps && done.some((d) => !d); k++) {
    const flat: { b: number; h: Hyp<S> }[] = [];
    live.forEach((hs, b) => { if (!done[b]) for (const h of hs) flat.push({ b, h }); });
    const r = step(flat.map(({ h }) => ({ state: h.state, token: h.tokens.length ? h.tokens[h.tokens.length - 1]! : o.start })));
    let at = 0;
    for (let b = 0; b < starts.length; b++) {
      if (done[b]) continue;
      const mine = live[b]!;
      // The best 2K extensions of this example's hypotheses: enough that K stay live when up to K of them end.
      const best: { h: number; v: number; s: number }[] = [];
      mine.forEach((h, hi) => {
        const lp = r.logp[at + hi]!;
        for (let v = 0; v < lp.length; v++) insertBest(best, { h: hi, v, s: h.logp + lp[v]! }, 2 * K);
      });
      const next: Hyp<S>[] = [];
      for (let rank = 0; rank < best.length && next.length < K && finished[b]!.length < K; rank++) {
        const c = best[rank]!;
        const parent = mine[c.h]!;
        const hyp = { tokens: [...parent.tokens, c.v], logp: c.s, state: r.states[at + c.h]!, emitted: parent.emitted + 1 };
        // An ending ranked below the first K is not among the K best: it is passed over (K = 1: the argmax alone ends).
        if (c.v === o.until) { if (rank < K) finished[b]!.push({ ...hyp, tokens: parent.tokens }); }
        else next.push(hyp);
      }
      at += mine.length;
      live[b] = next;
      if (finished[b]!.length >= K || !next.length) done[b] = true;
    }
  }
  return starts.map((_, b) => {
    // At `steps`, hypotheses still live finish where they are.
    const all = [...finished[b]!, ...(done[b] ? [] : live[b]!)];
    let pick = all[0]!, pickScore = score(pick, o.lengthNorm);
    for (const h of all.slice(1)) {
      const s = score(h, o.lengthNorm);
      if (s > pickScore) { pick = h; pickScore = s; }
    }
    return { tokens: pick.tokens, state: pick.state, score: pickScore, logp: pick.logp };
  });
}

const score = (h: Hyp<unknown>, alpha: number): number => (alpha === 0 || h.emitted === 0 ? h.logp : h.logp / Math.pow(h.emitted, alpha));

/** Keeps `best` the `n` highest-scoring candidates in order (ties: earlier hypothesis, then lower token: insertion order). */
function insertBest(best: { h: number; v: number; s: number }[], c: { h: number; v: number; s: number }, n: number): void {
  if (best.length === n && !(c.s > best[n - 1]!.s)) return;
  let i = best.length;
  while (i > 0 && c.s > best[i - 1]!.s) i--;
  best.splice(i, 0, c);
  if (best.length > n) best.pop();
}
