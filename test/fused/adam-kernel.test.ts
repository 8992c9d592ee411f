// Adam's WebAssembly update against the same arithmetic in float64, over sizes that are not whole groups of four.
import { describe, expect, it } from "vitest";
import { AdamKernel } from "../../src/fused/adam-kernel.js";
import { FlatOptimizer } from "../../src/fused/optimizers.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { ADAM } from "../../src/runtime/training.js";
import { closeness } from "../helpers.js";

describe("Adam in WebAssembly", () => {
  it("equals the update computed in float64, step after step, moments included", () => {
    const sizes = [1, 7, 33, 64];
    const made = AdamKernel.create(sizes);
    expect(made).toBeInstanceOf(AdamKernel);
    const kernel = made as AdamKernel;
    const rng = mulberry32(4);
    const ws = sizes.map((n) => Float32Array.from({ length: n }, () => rng() - 0.5));
    const want = ws.map((w) => Float64Array.from(w));
    const m = sizes.map((n) => new Float64Array(n)), v = sizes.map((n) => new Float64Array(n));
    let p1 = ADAM.beta1, p2 = ADAM.beta2;
    for (let step = 0; step < 4; step++) {
      const scale = 0.5 + step * 0.25, lr = 0.01;
      sizes.forEach((n, k) => {
        const g = Float32Array.from({ length: n }, () => 2 * rng() - 1);
        kernel.update(k, ws[k]!, g, scale, lr, 1 - p1, 1 - p2);
        for (let i = 0; i < n; i++) {
          const gi = scale * g[i]!;
          m[k]![i] = ADAM.beta1 * m[k]![i]! + (1 - ADAM.beta1) * gi;
          v[k]![i] = ADAM.beta2 * v[k]![i]! + (1 - ADAM.beta2) * gi * gi;
          want[k]![i] = want[k]![i]! - ((lr / (1 - p1)) * m[k]![i]!) / (Math.sqrt(v[k]![i]! / (1 - p2)) + ADAM.epsilon);
        }
      });
      p1 *= ADAM.beta1;
      p2 *= ADAM.beta2;
    }
    sizes.forEach((_, k) => {
      expect(closeness(ws[k]!, want[k]!, 1e-5, 1e-6), `weights of param ${k}`).toBeLessThanOrEqual(1);
      const [mk, vk] = kernel.moments(k);
      expect(closeness(mk, m[k]!, 1e-5, 1e-7), `m of param ${k}`).toBeLessThanOrEqual(1);
      expect(closeness(vk, v[k]!, 1e-5, 1e-9), `v of param ${k}`).toBeLessThanOrEqual(1);
    });
  });

  it("leaves a param without a gradient as it is, moments too, and its state round-trips through a checkpoint", () => {
    const a = { name: "a", data: Float32Array.of(1, 2, 3), shape: [3] }, b = { name: "b", data: Float32Array.of(4, 5), shape: [2] };
    const opt = new FlatOptimizer("adam", 0.1, [a, b]);
    expect(opt.path).toMatch(/^Adam in WebAssembly SIMD/);
    opt.step(new Map([["a", Float32Array.of(0.5, -1, 2)]]));
    expect(Array.from(b.data)).toEqual([4, 5]);
    const state = opt.state();
    expect(state.weights.find((w) => w.name === "b/m")!.data).toEqual([0, 0]);
    expect(state.weights.find((w) => w.name === "a/m")!.data.every((x) => x !== 0)).toBe(true);
    const again = new FlatOptimizer("adam", 0.1, [{ ...a, data: Float32Array.from(a.data) }, { ...b, data: Float32Array.from(b.data) }]);
    expect(again.restore(state)).toBe(true);
    expect(again.state()).toEqual(state);
  });
});
