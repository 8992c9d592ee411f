// `init = states(final(e), final(f))`: records fill a layer's states in order, so a cell of two inlined layers starts from two encoders.
import { describe, expect, it } from "vitest";
import { runModel } from "../../src/interp/run-model.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { closeness, modelFrom, randomTensor } from "../helpers.js";

const B = 3, T = 5;
const env = new Map([["I", 3], ["H", 4], ["G", 2]]);

const joined = modelFrom(`import { LSTM, GRU } from "std"
  cell Two<I, H, G> { input x: [I]  layer one = LSTM<I, H>  layer two = GRU<I, G>  output y = concat(one(x), two(x)) }
  model M<I, H, G> { input xs: [S, I]  input ys: [T, I]  layer a = LSTM<I, H>  layer b = GRU<I, G>  layer dec = Two<I, H, G>
    e = scan(a, xs)  f = scan(b, xs)  output y = scan(dec, ys, init = states(final(e), final(f)))  output s = final(scan(dec, ys, init = states(final(e), final(f)))) }`);

const apart = modelFrom(`import { LSTM, GRU } from "std"
  model M<I, H, G> { input xs: [S, I]  input ys: [T, I]  layer a = LSTM<I, H>  layer b = GRU<I, G>  layer one = LSTM<I, H>  layer two = GRU<I, G>
    y1 = scan(one, ys, init = final(scan(a, xs)))  y2 = scan(two, ys, init = final(scan(b, xs)))  output y = concat(y1, y2)  output h1 = final(y1).h  output c1 = final(y1).c  output h2 = final(y2).h }`);

describe("states from records in order", () => {
  it("equals each inlined layer scanned on its own from its encoder's final states", () => {
    const params = initParams(modelParamSpecs(joined, env), 5);
    // The same weights under the separate layers' names: `dec.one.W_xi` is `one.W_xi`.
    const renamed = new Map<string, Tensor>([...params].map(([k, v]) => [k.replace(/^dec\./, ""), v]));
    expect(new Set(modelParamSpecs(apart, env).map((s) => s.name))).toEqual(new Set(renamed.keys()));
    const inputs = { xs: randomTensor([B, T, 3], 1), ys: randomTensor([B, T, 3], 2) };
    const lengths = { xs: [5, 2, 4], ys: [3, 5, 1] };
    const r = runModel(joined, env, params, { inputs, lengths });
    const q = runModel(apart, env, renamed, { inputs, lengths });
    expect(closeness(r["y"]!.tensor!.data, q["y"]!.tensor!.data)).toBeLessThanOrEqual(1);
    const s = r["s"]!.states!;
    expect(Object.keys(s)).toEqual(["one.h", "one.c", "two.h"]);
    expect(closeness(s["one.h"]!.data, q["h1"]!.tensor!.data)).toBeLessThanOrEqual(1);
    expect(closeness(s["one.c"]!.data, q["c1"]!.tensor!.data)).toBeLessThanOrEqual(1);
    expect(closeness(s["two.h"]!.data, q["h2"]!.tensor!.data)).toBeLessThanOrEqual(1);
    // The encoders did start the decoder: from zeros its outputs differ.
    const cold = runModel(apart, env, renamed, { inputs: { ...inputs, xs: randomTensor([B, T, 3], 1, 0) }, lengths });
    expect(closeness(cold["y"]!.tensor!.data, q["y"]!.tensor!.data)).toBeGreaterThan(1);
  });
});
