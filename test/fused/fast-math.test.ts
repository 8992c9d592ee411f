// The fused kernels' exp, sigmoid and tanh against Math's, over their whole range and at the edges.
import { describe, expect, it } from "vitest";
import { fastExp, fastSigmoid, fastTanh } from "../../src/fused/fast-math.js";

const points = [...Array.from({ length: 20001 }, (_, k) => -50 + k * 0.005), 1e-12, -1e-12, 1e-7, 0.0624, 0.0626, 19.99, 20.01, -700, 700, 708.9, -744.9];
const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(b), 1e-300));

describe("fast math", () => {
  it("exp within 1e-9 of Math.exp, and its limits", () => {
    for (const x of points) expect({ x, err: rel(fastExp(x), Math.exp(x)) < 1e-9 }).toEqual({ x, err: true });
    expect([fastExp(710), fastExp(-746), fastExp(NaN), fastExp(Infinity), fastExp(-Infinity), fastExp(0)]).toEqual([Infinity, 0, NaN, Infinity, 0, 1]);
  });
  it("sigmoid and tanh within 1e-9 of the exact ones", () => {
    for (const x of points) {
      expect({ x, err: rel(fastSigmoid(x), 1 / (1 + Math.exp(-x))) < 1e-9 }).toEqual({ x, err: true });
      expect({ x, err: rel(fastTanh(x), Math.tanh(x)) < 1e-9 }).toEqual({ x, err: true });
    }
    expect([fastTanh(Infinity), fastTanh(-Infinity), fastSigmoid(Infinity), fastSigmoid(-Infinity)]).toEqual([1, -1, 1, 0]);
    expect(fastTanh(NaN)).toBeNaN();
  });
});
