// Seeded initializers: deterministic, independent per param, with the statistics their names promise.
import { describe, expect, it } from "vitest";
import { initialize } from "../../src/runtime/initializers.js";

const draw = (name: string, shape: number[], args: number[] = [], seed = 1, param = "W") => initialize({ name, args }, shape, seed, param, "f64");

describe("initializers", () => {
  it("are deterministic in seed and param name, and differ across both", () => {
    expect(draw("glorot_uniform", [8, 4]).data).toEqual(draw("glorot_uniform", [8, 4]).data);
    expect(draw("glorot_uniform", [8, 4], [], 2).data).not.toEqual(draw("glorot_uniform", [8, 4]).data);
    expect(draw("glorot_uniform", [8, 4], [], 1, "U").data).not.toEqual(draw("glorot_uniform", [8, 4]).data);
  });

  it("orthogonal gives orthonormal rows (wide) or columns (tall)", () => {
    for (const [r, c] of [[6, 6], [4, 9], [9, 4]] as const) {
      const w = draw("orthogonal", [r, c]).data;
      const n = Math.min(r, c);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let dot = 0;
          for (let k = 0; k < Math.max(r, c); k++) dot += r <= c ? w[i * c + k]! * w[j * c + k]! : w[k * c + i]! * w[k * c + j]!;
          expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-9);
        }
    }
  });

  it("glorot_uniform stays within its limit and spreads across it", () => {
    const w = Array.from(draw("glorot_uniform", [64, 32]).data);
    const limit = Math.sqrt(6 / (64 + 32));
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...w)).toBeGreaterThan(0.9 * limit);
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
  });

  it("normal has the requested mean and std; constant, ones, identity are exact", () => {
    const w = Array.from(draw("normal", [100, 100], [2, 0.5]).data);
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean - 2)).toBeLessThan(0.02);
    expect(Math.abs(std - 0.5)).toBeLessThan(0.02);
    expect(Array.from(draw("constant", [3], [1.5]).data)).toEqual([1.5, 1.5, 1.5]);
    expect(Array.from(draw("ones", [2]).data)).toEqual([1, 1]);
    expect(Array.from(draw("identity", [2, 3], [2]).data)).toEqual([2, 0, 0, 0, 2, 0]);
  });
});
