// CTC (issue 25): the loss and gradient against PyTorch's ctc_loss (a committed fixture) and against a brute-force sum
// over every alignment; greedy and prefix-beam decoding against the most probable label sequence found by exhaustion.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ctcGreedy, ctcLoss, ctcMinSteps, ctcPrefixBeam } from "../../src/runtime/ctc.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { root } from "../helpers.js";

interface Case { T: number; B: number; C: number; blank: number; lengths: number[]; targets: number[][]; logits: number[]; mean: number; none: number[]; grad: number[] }
const fixture = JSON.parse(readFileSync(join(root, "test", "fixtures", "ctc", "ctc.json"), "utf8")) as { torch: string; cases: Case[] };

/** Example b alone, as a batch of one (time-major rows of its own). */
function one(c: Case, b: number): Float64Array {
  return Float64Array.from({ length: c.T * c.C }, (_, i) => c.logits[(Math.floor(i / c.C) * c.B + b) * c.C + (i % c.C)]!);
}

/** Every path of T steps over C classes that collapses to `target`, its probability summed: p(target | x), by exhaustion. */
function bruteForce(logits: ArrayLike<number>, T: number, C: number, blank: number, target: readonly number[]): number {
  const p = Array.from({ length: T }, (_, t) => {
    const row = Array.from({ length: C }, (_, c) => Math.exp(logits[t * C + c]!));
    const z = row.reduce((a, b) => a + b, 0);
    return row.map((v) => v / z);
  });
  let total = 0;
  const path: number[] = [];
  const walk = (t: number, prob: number) => {
    if (t === T) {
      const out = path.filter((c, i) => c !== blank && (i === 0 || c !== path[i - 1]));
      if (out.length === target.length && out.every((c, i) => c === target[i])) total += prob;
      return;
    }
    for (let c = 0; c < C; c++) { path.push(c); walk(t + 1, prob * p[t]![c]!); path.pop(); }
  };
  walk(0, 1);
  return total;
}

/** Every label sequence's probability (summed over its paths), by exhaustion. */
function sequenceProbabilities(logits: ArrayLike<number>, T: number, C: number, blank: number): Map<string, number> {
  const out = new Map<string, number>();
  const path: number[] = [];
  const p = Array.from({ length: T }, (_, t) => {
    const row = Array.from({ length: C }, (_, c) => Math.exp(logits[t * C + c]!));
    const z = row.reduce((a, b) => a + b, 0);
    return row.map((v) => v / z);
  });
  const walk = (t: number, prob: number) => {
    if (t === T) {
      const key = path.filter((c, i) => c !== blank && (i === 0 || c !== path[i - 1])).join(",");
      out.set(key, (out.get(key) ?? 0) + prob);
      return;
    }
    for (let c = 0; c < C; c++) { path.push(c); walk(t + 1, prob * p[t]![c]!); path.pop(); }
  };
  walk(0, 1);
  return out;
}

const rand = (n: number, seed: number, scale = 2) => { const r = mulberry32(seed); return Float64Array.from({ length: n }, () => scale * (2 * r() - 1)); };
const logSoftmaxRows = (y: ArrayLike<number>, T: number, C: number) => Array.from({ length: T }, (_, t) => {
  const row = Array.from({ length: C }, (_, c) => y[t * C + c]!);
  const m = Math.max(...row), z = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
  return Float64Array.from(row, (v) => v - z);
});

describe("the CTC loss", () => {
  it(`equals PyTorch's ctc_loss (torch ${fixture.torch}), mean and per example, and its gradient with respect to the logits`, () => {
    for (const c of fixture.cases) {
      const r = ctcLoss({ y: c.logits, T: c.T, B: c.B, C: c.C, lengths: c.lengths }, c.targets, c.blank, false, true);
      expect(r.loss).toBeCloseTo(c.mean, 10);
      let worst = 0;
      c.grad.forEach((g, i) => { worst = Math.max(worst, Math.abs(g - r.dy![i]!)); });
      expect(worst).toBeLessThan(1e-7); // float32 gradients of float64 sums
      c.targets.forEach((t, b) => {
        const alone = ctcLoss({ y: one(c, b), T: c.T, B: 1, C: c.C, lengths: [c.lengths[b]!] }, [t], c.blank, false, false);
        expect(alone.loss * Math.max(t.length, 1)).toBeCloseTo(c.none[b]!, 10);
      });
    }
  });

  it("equals −log of the sum over every alignment, and its gradient central differences of it", () => {
    for (const [T, C, blank, target, seed] of [[4, 3, 0, [1, 2], 1], [5, 3, 0, [1, 1], 2], [5, 3, 2, [0, 1, 0], 3], [3, 2, 0, [], 4], [5, 4, 1, [3, 2, 3], 5]] as const) {
      const y = rand(T * C, seed);
      const want = -Math.log(bruteForce(y, T, C, blank, target));
      const r = ctcLoss({ y, T, B: 1, C, lengths: [T] }, [target], blank, false, true);
      expect(r.loss * Math.max(target.length, 1)).toBeCloseTo(want, 10);
      const h = 1e-6;
      for (let i = 0; i < y.length; i++) {
        const up = Float64Array.from(y), down = Float64Array.from(y);
        up[i] += h; down[i] -= h;
        const numeric = (-Math.log(bruteForce(up, T, C, blank, target)) + Math.log(bruteForce(down, T, C, blank, target))) / (2 * h) / Math.max(target.length, 1);
        expect(Math.abs(numeric - r.dy![i]!)).toBeLessThan(2e-6);
      }
    }
  });

  it("reads probabilities (an output ending in a softmax) as it reads their logits, with the gradient through the softmax", () => {
    const [T, C, B] = [6, 4, 2];
    const logits = rand(T * B * C, 9);
    const probs = Float32Array.from({ length: T * B * C }, (_, i) => {
      const row = Math.floor(i / C) * C;
      const z = Array.from({ length: C }, (_, c) => Math.exp(logits[row + c]!)).reduce((a, b) => a + b, 0);
      return Math.exp(logits[i]!) / z;
    });
    const labels = [[1, 2, 2], [3]];
    const a = ctcLoss({ y: logits, T, B, C, lengths: [6, 4] }, labels, 0, false, true);
    const p = ctcLoss({ y: probs, T, B, C, lengths: [6, 4] }, labels, 0, true, true);
    expect(p.loss).toBeCloseTo(a.loss, 5);
    // Through the softmax: d/dlogit_k = Σ_j dp_j · p_j (δ_jk − p_k).
    for (let row = 0; row < T * B; row++) {
      const dot = Array.from({ length: C }, (_, j) => p.dy![row * C + j]! * probs[row * C + j]!).reduce((x, v) => x + v, 0);
      for (let k = 0; k < C; k++) expect(Math.abs(probs[row * C + k]! * (p.dy![row * C + k]! - dot) - a.dy![row * C + k]!)).toBeLessThan(2e-6);
    }
  });

  it("refuses a target that cannot be aligned to the output's steps, naming what it needs", () => {
    expect(ctcMinSteps([1, 1, 2, 2, 2])).toBe(8);
    expect(() => ctcLoss({ y: rand(4 * 3, 1), T: 4, B: 1, C: 3, lengths: [4] }, [[1, 1, 2, 2]], 0, false, false))
      .toThrow("a CTC target of 4 labels needs at least 6 output steps (one per label, and a blank between equal neighbours), and its example's output has 4");
    expect(ctcLoss({ y: rand(4 * 3, 1), T: 4, B: 1, C: 3, lengths: [4] }, [[1, 1, 2]], 0, false, false).loss).toBeGreaterThan(0); // exactly enough
    expect(() => ctcLoss({ y: rand(4 * 3, 1), T: 4, B: 1, C: 3, lengths: [3] }, [[1, 1, 2]], 0, false, false)).toThrow("its example's output has 3");
  });
});

describe("CTC decoding", () => {
  it("greedy: each step's best class, repeats merged and blanks dropped", () => {
    const lp = [[0, -3, -3], [-3, 0, -3], [-3, 0, -3], [0, -3, -3], [-3, 0, -3], [-3, -3, 0]].map((r) => Float64Array.from(r));
    expect(ctcGreedy(lp, 6, 3, 0)).toEqual([1, 1, 2]);
    expect(ctcGreedy(lp, 6, 3, 1)).toEqual([0, 0, 2]);
  });

  it("prefix beam search with a wide beam finds the most probable label sequence; greedy finds the best path's", () => {
    let beatsGreedy = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const [T, C, blank] = [5, 3, seed % 3];
      const y = rand(T * C, 100 + seed, 1.5);
      const all = sequenceProbabilities(y, T, C, blank);
      const best = [...all].reduce((a, b) => (b[1] > a[1] ? b : a));
      const lp = logSoftmaxRows(y, T, C);
      const found = ctcPrefixBeam(lp, T, C, blank, 64);
      expect(found.join(",")).toBe(best[0]);
      const greedy = ctcGreedy(lp, T, C, blank);
      expect(all.get(found.join(","))!).toBeGreaterThanOrEqual(all.get(greedy.join(","))! - 1e-15);
      if (found.join(",") !== greedy.join(",")) beatsGreedy++;
    }
    expect(beatsGreedy).toBeGreaterThan(0); // the search is not just the best path on these cases
  });
});
