// Learning-rate schedules, warm-up, early stopping and the best epoch: values computed by hand.
import { describe, expect, it } from "vitest";
import { bestEpoch, learningRate, parseSchedule, shouldStop, type ScheduleAt } from "../../src/api/schedule.js";

const at = (epoch: number, fraction = 1, heldOut: number[] = [], epochs = 10): ScheduleAt => ({ epoch, fraction, epochs, heldOut });

describe("learning-rate schedules", () => {
  it("parses each kind with its defaults and its settings, and refuses bad ones", () => {
    expect(parseSchedule(undefined)).toEqual({ kind: "constant" });
    expect(parseSchedule("step")).toEqual({ kind: "step", every: 10, gamma: 0.5 });
    expect(parseSchedule("step,every=3,gamma=0.1")).toEqual({ kind: "step", every: 3, gamma: 0.1 });
    expect(parseSchedule("plateau,patience=1")).toEqual({ kind: "plateau", patience: 1, factor: 0.5, min: 0 });
    for (const bad of ["linear", "step,every=0", "step,every=1.5", "exponential,gamma=2", "cosine,min=-1", "cosine,every=2", "step,gamma"])
      expect(() => parseSchedule(bad), bad).toThrow(/--schedule/);
  });

  it("constant, step, exponential and cosine give their values epoch by epoch", () => {
    const lrs = (s: string, epochs = 10) => Array.from({ length: epochs }, (_, k) => learningRate(parseSchedule(s), 0.1, 0, at(k + 1, 0, [], epochs)));
    expect(lrs("constant")).toEqual(Array(10).fill(0.1));
    expect(lrs("step,every=3,gamma=0.5")).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125]);
    lrs("exponential,gamma=0.9").forEach((lr, k) => expect(lr).toBeCloseTo(0.1 * 0.9 ** k, 12));
    // Cosine from 0.1 down to 0.01 over 4 epochs, at each epoch's start: 0.1, 0.1 - 0.09·(1 - cos(π/4))/2, 0.055, …
    const cos = lrs("cosine,min=0.01", 4);
    [0.1, 0.01 + 0.09 * (1 + Math.cos(Math.PI / 4)) / 2, 0.055, 0.01 + 0.09 * (1 + Math.cos(3 * Math.PI / 4)) / 2].forEach((v, k) => expect(cos[k]).toBeCloseTo(v, 12));
    expect(learningRate(parseSchedule("cosine,min=0.01"), 0.1, 0, at(4, 1, [], 4))).toBeCloseTo(0.01, 12); // the last step reaches min
  });

  it("plateau cuts the rate each time `patience` epochs pass without a new best, down to min", () => {
    const s = parseSchedule("plateau,patience=2,factor=0.5,min=0.02");
    const held = [1.0, 0.8, 0.85, 0.9, 0.7, 0.75, 0.76, 0.77, 0.78, 0.79];
    const lrs = held.map((_, k) => learningRate(s, 0.1, 0, at(k + 1, 0.5, held)));
    // epochs 3 and 4 do not beat 0.8: cut before epoch 5; 0.7 is a new best; epochs 6, 7 stall (cut before 8),
    // 8, 9 stall (cut before 10, stopped at min).
    expect(lrs).toEqual([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.02]);
  });

  it("warm-up rises linearly over its epochs (by step), then the schedule holds", () => {
    const s = parseSchedule("step,every=2,gamma=0.5");
    expect(learningRate(s, 0.1, 2, at(1, 0.25))).toBeCloseTo(0.1 * 0.25 / 2, 12);
    expect(learningRate(s, 0.1, 2, at(1, 1))).toBeCloseTo(0.05, 12);
    expect(learningRate(s, 0.1, 2, at(2, 0.5))).toBeCloseTo(0.1 * 1.5 / 2, 12);
    expect(learningRate(s, 0.1, 2, at(2, 1))).toBeCloseTo(0.1, 12);
    expect(learningRate(s, 0.1, 2, at(3, 0.5))).toBeCloseTo(0.05, 12);
  });
});

describe("early stopping and the best epoch", () => {
  const held = [5, 4, 4.5, 4.2, 4.1, 3.9, 3.95];
  it("stops once `patience` epochs pass after the best, on a scripted series", () => {
    const stopAt = (patience: number, minDelta = 0) => held.findIndex((_, k) => shouldStop(held.slice(0, k + 1), patience, minDelta)) + 1;
    expect(stopAt(2)).toBe(4); // best epoch 2 (4.0), epochs 3 and 4 do not improve
    expect(stopAt(4)).toBe(0); // never: epoch 6 improves in time
    expect(stopAt(4, 0.15)).toBe(6); // 3.9 is not better than 4.0 by more than 0.15
    expect(shouldStop([], 1)).toBe(false);
  });

  it("the best epoch is the lowest held-out loss, an improvement counting only past min-delta", () => {
    expect(bestEpoch(held)).toBe(5);
    expect(bestEpoch(held, 0.15)).toBe(1);
    expect(bestEpoch([])).toBe(-1);
    expect(bestEpoch([3, 3, 3])).toBe(0);
  });
});
