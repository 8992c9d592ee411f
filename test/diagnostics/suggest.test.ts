// "Did you mean": edit distance and candidate ranking.
import { describe, expect, it } from "vitest";
import { closestNames, editDistance } from "../../src/diagnostics/suggest.js";

describe("suggestions", () => {
  it("edit distance counts insertions, deletions, substitutions and swaps", () => {
    expect(editDistance("tanh", "tahn")).toBe(1);
    expect(editDistance("b_h", "b_hh")).toBe(1);
    expect(editDistance("W_xg", "W_hg")).toBe(1);
    expect(editDistance("abc", "xyz")).toBe(3);
  });
  it("ranks close names first and ignores far ones", () => {
    expect(closestNames("b_hh", ["b_h", "W_hh", "x", "c"])).toEqual(["b_h", "W_hh"]);
    expect(closestNames("sigmod", ["sigmoid", "tanh"])).toEqual(["sigmoid"]);
    expect(closestNames("zzz", ["sigmoid", "tanh"])).toEqual([]);
  });
});
