// Symbolic dimensions: canonical polynomials, equality independent of how they were written.
import { describe, expect, it } from "vitest";
import { dimAdd, dimConst, dimEquals, dimMul, dimToString, dimVar, evalDim } from "../../src/ir/dims.js";

const H = dimVar("H");
const I = dimVar("I");

describe("dims", () => {
  it("compare in canonical form", () => {
    expect(dimEquals(dimAdd(H, I), dimAdd(I, H))).toBe(true);
    expect(dimEquals(dimMul(dimConst(2), H), dimAdd(H, H))).toBe(true);
    expect(dimEquals(dimAdd(dimMul(dimConst(4), H), H, -1), dimMul(dimConst(3), H))).toBe(true);
    expect(dimEquals(H, I)).toBe(false);
    expect(dimEquals(dimMul(H, I), dimMul(I, H))).toBe(true);
  });
  it("print and evaluate", () => {
    expect(dimToString(dimAdd(dimMul(dimConst(2), H), I))).toBe("2*H + I");
    expect(dimToString(dimAdd(H, dimConst(-1)))).toBe("H - 1");
    expect(evalDim(dimAdd(dimMul(H, I), dimConst(3)), new Map([["H", 4], ["I", 5]]))).toBe(23);
    expect(evalDim(H, new Map())).toBeUndefined();
  });
});
