// `generate(…, beam = K)` in a PyTorch module: src/runtime/beam.ts's search on fixed-size tensors (K live and K finished slots an example), as the ONNX export's Loop does it; TorchScript accepts it.
import { pyFloat, pyInt } from "./python.js";

/** Below every real log-probability: a slot with no hypothesis. */
const NONE = "-1.0e30";

export interface BeamSite {
  /** Writes one line at an indent; makes a fresh local name from a hint. */
  readonly emit: (indent: number, line: string) => void;
  readonly fresh: (hint: string) => string;
  /** The cell's step (`self.l_x.step`), its states' start values [B, …] (lag 1), the wholes it reads, the batch size. */
  readonly step: string;
  readonly states: readonly string[];
  readonly wholes: readonly string[];
  /** The step's dropout masks, [B, …] each (drawn per sequence; none in inference). */
  readonly masks: string;
  readonly B: string;
  readonly K: number;
  readonly steps: number;
  readonly start: number;
  /** The end token, or -1. */
  readonly until: number;
  readonly lengthNorm: number;
  /** Classes of the step's output, and whether it holds probabilities (a softmax) rather than scores. */
  readonly V: number;
  readonly probabilities: boolean;
}

/** Emits the search; returns the chosen tokens [B, ≤ steps], their lengths, and each state after the hypothesis' last step. */
export function emitBeam(s: BeamSite): { y: string; lengths: string; finals: string[] } {
  const { emit, fresh, K, V } = s;
  const N = pyInt(s.steps), K2 = pyInt(2 * K);
  const v = (hint: string, expr: string, indent = 0) => { const name = fresh(hint); emit(indent, `${name} = ${expr}`); return name; };
  emit(0, `# beam search, ${K} hypotheses an example (src/runtime/beam.ts's rule: ties to the earlier hypothesis, then the lower token)`);
  const BK = v("BK", `${s.B} * ${pyInt(K)}`);
  const st = s.states.map((x, k) => v(`beam_s${k}`, `${x}.repeat_interleave(${pyInt(K)}, 0)`));
  const wh = s.wholes.map((x, k) => v(`beam_w${k}`, `${x}.repeat_interleave(${pyInt(K)}, 0)`));
  const masks = v("beam_masks", `[m.repeat_interleave(${pyInt(K)}, 0) for m in ${s.masks}]`);
  const fst = st.map((x, k) => v(`fin_s${k}`, `${x}.clone()`));
  const tok = v("tok", `torch.full([${BK}], ${pyInt(s.start)}, dtype=torch.int64)`);
  const logp = v("logp", `torch.zeros([${s.B}, ${pyInt(K)}])`);
  const slots = v("slots", `torch.arange(${pyInt(K)})`);
  const live = v("live", `(${slots} == 0).unsqueeze(0).expand(${s.B}, ${pyInt(K)}).clone()`);
  const hist = v("hist", `torch.zeros([${s.B}, ${pyInt(K)}, ${N}], dtype=torch.int64)`);
  const ftok = v("fin_tok", `torch.zeros([${s.B}, ${pyInt(K)}, ${N}], dtype=torch.int64)`);
  const flen = v("fin_len", `torch.zeros([${s.B}, ${pyInt(K)}], dtype=torch.int64)`);
  const flogp = v("fin_logp", `torch.full([${s.B}, ${pyInt(K)}], ${NONE})`);
  const fheld = v("fin_held", `torch.zeros([${s.B}, ${pyInt(K)}], dtype=torch.bool)`);
  const done = v("done", `torch.zeros([${s.B}], dtype=torch.bool)`);
  const base = v("base", `torch.arange(${s.B}).unsqueeze(1) * ${pyInt(K)}`);
  const firstK = v("first_k", `torch.arange(${K2}) < ${pyInt(K)}`);
  const cols = v("cols", `torch.arange(${N})`);
  const it = fresh("it"), r = fresh("r");
  emit(0, `for ${it} in range(${N}):`);
  emit(4, `${r} = ${s.step}(${[tok, ...st, ...wh, masks].join(", ")})`);
  const lp = v("lp", s.probabilities ? `torch.log(${r}[0] + 1e-7)` : `F.log_softmax(${r}[0], -1)`, 4);
  // Every extension of every live hypothesis [B, K·V], empty slots at NONE; a stable sort keeps equal scores in index order.
  const cand = v("cand", `torch.where(${live}.unsqueeze(2), ${logp}.unsqueeze(2) + ${lp}.view(${s.B}, ${pyInt(K)}, ${pyInt(V)}), torch.full_like(${lp}.view(${s.B}, ${pyInt(K)}, ${pyInt(V)}), ${NONE}))`, 4);
  const sorted = v("ranked", `torch.sort(${cand}.view(${s.B}, ${pyInt(K * V)}), dim=1, descending=True, stable=True)`, 4);
  const vals = v("vals", `${sorted}[0][:, :${K2}]`, 4), idx = v("idx", `${sorted}[1][:, :${K2}]`, 4);
  const parent = v("parent", `torch.div(${idx}, ${pyInt(V)}, rounding_mode="floor")`, 4), token = v("token", `${idx} % ${pyInt(V)}`, 4);
  const real = v("real", `${vals} > ${NONE} / 2`, 4);
  const ends = v("ends", s.until >= 0 ? `${token} == ${pyInt(s.until)}` : `torch.zeros_like(${real})`, 4);
  const stays = v("stays", `${real} & ~${ends}`, 4);
  const finishes = v("finishes", `${real} & ${ends} & ${firstK}`, 4);
  const running = v("running", `~${done}`, 4);
  // In rank order while fewer than K stay live and fewer than K have finished (the counts only grow).
  const liveBefore = v("live_before", `torch.cumsum(${stays}.long(), 1) - ${stays}.long()`, 4);
  const finBefore = v("fin_before", `torch.cumsum(${finishes}.long(), 1) - ${finishes}.long() + ${fheld}.long().sum(1, keepdim=True)`, 4);
  const taken = v("taken", `(${liveBefore} < ${pyInt(K)}) & (${finBefore} < ${pyInt(K)}) & ${running}.unsqueeze(1)`, 4);
  const place = (which: string, at: string, hint: string): [string, string, string] => {
    const m = v(`${hint}_at`, `(${taken} & ${which}).unsqueeze(2) & (${at}.unsqueeze(2) == ${slots}.view(1, 1, ${pyInt(K)}))`, 4);
    const filled = v(`${hint}_filled`, `${m}.any(1)`, 4), src = v(`${hint}_src`, `${m}.long().argmax(1)`, 4);
    return [filled, src, v(`${hint}_rows`, `(${base} + ${parent}.gather(1, ${src})).view(-1)`, 4)];
  };
  const [filled, src, rows] = place(stays, liveBefore, "keep");
  const [ffilled, fsrc, frows] = place(finishes, finBefore, "end");
  const rowsOf = v("hist_rows", `${hist}.view(${BK}, ${N})`, 4);
  // Finished: the parent's tokens (without the end token), its step count, score and the states after the step.
  emit(4, `${ftok} = torch.where(${ffilled}.unsqueeze(2), ${rowsOf}[${frows}].view(${s.B}, ${pyInt(K)}, ${N}), ${ftok})`);
  emit(4, `${flen} = torch.where(${ffilled}, torch.full_like(${flen}, ${it}), ${flen})`);
  emit(4, `${flogp} = torch.where(${ffilled}, ${vals}.gather(1, ${fsrc}), ${flogp})`);
  emit(4, `${fheld} = ${fheld} | ${ffilled}`);
  fst.forEach((x, k) => emit(4, `${x} = _keep(${ffilled}.view(-1), ${r}[${k + 1}][${frows}], ${x})`));
  // Live: the parent's tokens and the new one, its score and states, in the examples still running.
  const runRows = v("run_rows", `${running}.unsqueeze(1).expand(${s.B}, ${pyInt(K)}).reshape(-1)`, 4);
  const newTok = v("new_tok", `${token}.gather(1, ${src})`, 4);
  emit(4, `${hist} = torch.where(${running}.view(-1, 1, 1), torch.where((${cols} == ${it}).view(1, 1, ${N}), ${newTok}.unsqueeze(2), ${rowsOf}[${rows}].view(${s.B}, ${pyInt(K)}, ${N})), ${hist})`);
  st.forEach((x, k) => emit(4, `${x} = _keep(${runRows}, ${r}[${k + 1}][${rows}], ${x})`));
  emit(4, `${tok} = torch.where(${runRows}, ${newTok}.view(-1), ${tok})`);
  emit(4, `${logp} = torch.where(${running}.unsqueeze(1), torch.where(${filled}, ${vals}.gather(1, ${src}), torch.full_like(${logp}, ${NONE})), ${logp})`);
  emit(4, `${live} = torch.where(${running}.unsqueeze(1), ${filled}, ${live})`);
  emit(4, `${done} = ${done} | (${fheld}.long().sum(1) >= ${pyInt(K)}) | (${live}.long().sum(1) == 0)`);
  emit(4, `if bool(${done}.all()):`);
  emit(8, "break");
  // The finished, then (for an example not done after all the steps) the live ones, by log p / n^α; the first best.
  const alpha = s.lengthNorm;
  const norm = (lp0: string, n: string) => (alpha === 0 ? lp0 : `${lp0} / (${n}).to(torch.float32).pow(${pyFloat(alpha)})`);
  const fscore = v("fin_score", `torch.where(${fheld}, ${norm(flogp, `${flen} + 1`)}, torch.full_like(${flogp}, -3.0e30))`);
  const lscore = v("live_score", `torch.where(${live} & ~${done}.unsqueeze(1), ${norm(logp, `torch.full_like(${flen}, ${N})`)}, torch.full_like(${logp}, -3.0e30))`);
  const pick = v("pick", `torch.cat([${fscore}, ${lscore}], 1).argmax(1)`);
  const isFin = v("is_fin", `${pick} < ${pyInt(K)}`);
  const slot = v("slot", `torch.where(${isFin}, ${pick}, ${pick} - ${pyInt(K)})`);
  const row = v("row", `(${base}.view(-1) + ${slot})`);
  const tokens = v("tokens", `torch.where(${isFin}.unsqueeze(1), ${ftok}.view(${BK}, ${N})[${row}], ${hist}.view(${BK}, ${N})[${row}])`);
  const lengths = v("lengths", `torch.where(${isFin}, ${flen}.view(-1)[${row}], torch.full_like(${pick}, ${N}))`);
  const finals = st.map((x, k) => v(`final_s${k}`, `_keep(${isFin}, ${fst[k]!}[${row}], ${x}[${row}])`));
  const y = v("y", `${tokens}[:, : int(${lengths}.max())] if ${s.B} > 0 else ${tokens}`);
  return { y, lengths, finals };
}
