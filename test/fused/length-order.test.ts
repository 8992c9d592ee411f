// Rows longest first: the order is stable, the permutation of time-major rows is undone exactly, and the running rows are a prefix.
import { describe, expect, it } from "vitest";
import { longestFirst, nonIncreasing, permuteRows, runningRows, unpermuteRows } from "../../src/fused/length-order.js";

describe("length order", () => {
  it("puts rows longest first, ties in their own order, and leaves an order that already is as it is", () => {
    expect(Array.from(longestFirst([2, 5, 2, 7, 5])!)).toEqual([3, 1, 4, 0, 2]);
    expect(longestFirst([7, 5, 5, 2])).toBeUndefined();
    expect(longestFirst(undefined)).toBeUndefined();
    expect(nonIncreasing([3, 3, 1])).toBe(true);
    expect(nonIncreasing([3, 4])).toBe(false);
  });

  it("permutes each step's rows of a time-major array, and unpermutes them back", () => {
    const T = 3, B = 4, size = 2;
    const a = Float32Array.from({ length: T * B * size }, (_, i) => i);
    const order = Int32Array.of(2, 0, 3, 1);
    const p = permuteRows(a, order, T);
    expect(Array.from(p.subarray(0, 2 * size))).toEqual([4, 5, 0, 1]); // step 0: rows 2, 0
    expect(Array.from(p.subarray(B * size, B * size + 2))).toEqual([12, 13]); // step 1 starts with its row 2
    expect(unpermuteRows(p, order, T)).toEqual(a);
  });

  it("counts the rows still running at a step: those longer than it (rows come longest first)", () => {
    expect([0, 1, 2, 3, 4].map((t) => runningRows([4, 3, 3, 1], 4, t))).toEqual([4, 3, 3, 1, 0]);
    expect(runningRows(undefined, 5, 0)).toBe(5);
  });
});
