// Learning-rate schedules, warm-up, early stopping and the best epoch for `rnnc train`: pure functions of the epoch and
// the held-out history, so a run resumed from its checkpoint continues exactly as the uninterrupted one.
import { UsageError } from "../diagnostics/errors.js";

export type Schedule =
  | { readonly kind: "constant" }
  | { readonly kind: "step"; readonly every: number; readonly gamma: number }
  | { readonly kind: "exponential"; readonly gamma: number }
  | { readonly kind: "cosine"; readonly min: number }
  | { readonly kind: "plateau"; readonly patience: number; readonly factor: number; readonly min: number };

const kinds: Record<Schedule["kind"], Record<string, number>> = {
  constant: {},
  step: { every: 10, gamma: 0.5 },
  exponential: { gamma: 0.95 },
  cosine: { min: 0 },
  plateau: { patience: 2, factor: 0.5, min: 0 },
};

/** `--schedule KIND[,key=value…]`, e.g. `step,every=5,gamma=0.5`; each kind's keys have defaults. */
export function parseSchedule(text: string | undefined): Schedule {
  if (!text) return { kind: "constant" };
  const [kind, ...parts] = text.split(",").map((s) => s.trim());
  if (!kind || !(kind in kinds)) throw new UsageError(`--schedule ${text}: the schedules are ${Object.keys(kinds).join(", ")}, e.g. --schedule step,every=5,gamma=0.5`);
  const values: Record<string, number> = { ...kinds[kind as Schedule["kind"]] };
  for (const p of parts) {
    const m = /^(\w+)=(\S+)$/.exec(p);
    if (!m || !(m[1]! in values)) throw new UsageError(`--schedule ${text}: ${kind} takes ${Object.keys(values).map((k) => `${k}=…`).join(", ") || "no settings"}; got '${p}'`);
    const v = Number(m[2]);
    const whole = m[1] === "every" || m[1] === "patience";
    if (!Number.isFinite(v) || v < 0 || (whole && (!Number.isInteger(v) || v < 1)) || ((m[1] === "gamma" || m[1] === "factor") && !(v > 0 && v <= 1)))
      throw new UsageError(`--schedule ${text}: ${m[1]} = ${m[2]} is not ${whole ? "a whole number ≥ 1" : m[1] === "min" ? "a number ≥ 0" : "in (0, 1]"}`);
    values[m[1]!] = v;
  }
  return { kind, ...values } as Schedule;
}

/** What the learning rate depends on: the epoch (1-based), how far into it (0 … 1), and the epochs before it. */
export interface ScheduleAt {
  readonly epoch: number;
  readonly fraction: number;
  readonly epochs: number;
  /** The held-out loss of every finished epoch, in order. */
  readonly heldOut: readonly number[];
}

/** The learning rate at a point of training: the schedule's, times a linear warm-up over the first `warmup` epochs. */
export function learningRate(s: Schedule, base: number, warmup: number, at: ScheduleAt): number {
  const done = at.epoch - 1 + at.fraction;
  let lr = base;
  switch (s.kind) {
    case "constant": break;
    case "step": lr = base * s.gamma ** Math.floor((at.epoch - 1) / s.every); break;
    case "exponential": lr = base * s.gamma ** (at.epoch - 1); break;
    case "cosine": lr = s.min + ((base - s.min) * (1 + Math.cos((Math.PI * Math.min(done, at.epochs)) / at.epochs))) / 2; break;
    case "plateau": {
      // Replayed from the history: the rate is cut each time `patience` epochs pass without a new best.
      let best = Infinity, wait = 0;
      for (const loss of at.heldOut.slice(0, at.epoch - 1)) {
        if (loss < best) { best = loss; wait = 0; } else if (++wait >= s.patience) { lr = Math.max(s.min, lr * s.factor); wait = 0; }
      }
    }
  }
  return warmup > 0 && done < warmup ? (lr * done) / warmup : lr;
}

/** Whether a monitored series improves downwards (losses, errors) or upwards (accuracy, top-k, exact). */
export type Mode = "min" | "max";
export const modeOf = (name: string): Mode => (/(^|:)(accuracy|top\d+|exact)$/.test(name) ? "max" : "min");

/** The index of the best epoch (lowest, or for `max` highest, value; better only by more than `minDelta`). */
export function bestEpoch(series: readonly number[], minDelta = 0, mode: Mode = "min"): number {
  const sign = mode === "min" ? 1 : -1;
  let best = -1;
  series.forEach((v, k) => { if (best < 0 || sign * v < sign * series[best]! - minDelta) best = k; });
  return best;
}

/** Early stopping: whether `patience` epochs have passed since the best one. */
export function shouldStop(series: readonly number[], patience: number, minDelta = 0, mode: Mode = "min"): boolean {
  const best = bestEpoch(series, minDelta, mode);
  return best >= 0 && series.length - 1 - best >= patience;
}
