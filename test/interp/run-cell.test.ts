// Interpreter tests against hand-written loops: higher-order recurrence, GRU reset-after, peephole LSTM, embeddings.
import { describe, expect, it } from "vitest";
import { createCompiler } from "../../src/compiler.js";
import { memoryHost } from "../../src/resolve/host.js";
import { runCell } from "../../src/interp/run-cell.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { alloc, type Tensor } from "../../src/runtime/tensor.js";
import type { CellIR } from "../../src/ir/ir.js";
import { cellParamSpecs, initParams } from "../../src/weights/weights.js";
import { closeness, matVec, stdlibCell } from "../helpers.js";

const rand = (shape: number[], seed: number, scale = 1): Tensor => {
  const r = mulberry32(seed);
  const t = alloc(shape, "f64");
  for (let i = 0; i < t.data.length; i++) t.data[i] = scale * (2 * r() - 1);
  return t;
};

function cellFrom(text: string, name: string): CellIR {
  return createCompiler(memoryHost(new Map([["m.rnn", text]]))).cell("m.rnn", name);
}

/** Plain-array helpers for the hand-written references. */
const mv = matVec;
const add = (...vs: number[][]) => vs[0]!.map((_, i) => vs.reduce((s, v) => s + v[i]!, 0));
const mul = (a: number[], b: number[]) => a.map((x, i) => x * b[i]!);
const sig = (v: number[]) => v.map((x) => 1 / (1 + Math.exp(-x)));
const th = (v: number[]) => v.map(Math.tanh);
const vec = (t: Tensor) => Array.from(t.data);
const row = (t: Tensor, b: number, s: number, n: number) => Array.from(t.data.subarray((b * t.shape[1]! + s) * n, (b * t.shape[1]! + s + 1) * n));

function randomParams(ir: CellIR, env: Map<string, number>, seed: number): Map<string, Tensor> {
  const params = initParams(cellParamSpecs(ir, env), seed, "f64");
  let k = 0;
  for (const [name, t] of params) params.set(name, rand([...t.shape], seed + ++k, 0.7));
  return params;
}

describe("interpreter vs hand-written loops (float64)", () => {
  const I = 3, H = 4, B = 2, T = 7;
  const env = new Map([["I", I], ["H", H]]);

  it("second-order recurrence h[t-2]", () => {
    const ir = cellFrom(`cell Second<I, H> {
      input x: [I]
      state h: [H] = 0
      param W1, W2: [H, H]
      param U: [H, I]
      h = tanh(W1 @ h[t-1] + W2 @ h[t-2] + U @ x)
      output h
    }`, "Second");
    expect(ir.states[0]!.maxLag).toBe(2);
    const p = randomParams(ir, env, 11);
    const x = rand([B, T, I], 5);
    const h0 = rand([B, H], 6);
    const r = runCell(ir, env, p, { inputs: { x }, initialStates: { h: h0 } }, "f64");
    for (let b = 0; b < B; b++) {
      // The initial value fills every earlier step: h[-1] = h[-2] = h0.
      let prev1 = vec(h0).slice(b * H, (b + 1) * H);
      let prev2 = prev1;
      for (let t = 0; t < T; t++) {
        const h = th(add(mv(p.get("W1")!, prev1), mv(p.get("W2")!, prev2), mv(p.get("U")!, row(x, b, t, I))));
        expect(closeness(row(r.outputs["h"]!, b, t, H), h, 1e-12, 1e-12)).toBeLessThanOrEqual(1);
        prev2 = prev1;
        prev1 = h;
      }
    }
  });

  it("GRU with reset after the recurrent product (PyTorch nn.GRU equations)", () => {
    const ir = stdlibCell("gru.rnn", "GRU");
    const p = randomParams(ir, env, 21);
    const x = rand([B, T, I], 22);
    const r = runCell(ir, env, p, { inputs: { x } }, "f64");
    const g = (n: string) => p.get(n)!;
    for (let b = 0; b < B; b++) {
      let h = new Array(H).fill(0);
      for (let t = 0; t < T; t++) {
        const xt = row(x, b, t, I);
        const z = sig(add(mv(g("W_xz"), xt), vec(g("b_xz")), mv(g("W_hz"), h), vec(g("b_hz"))));
        const rr = sig(add(mv(g("W_xr"), xt), vec(g("b_xr")), mv(g("W_hr"), h), vec(g("b_hr"))));
        const n = th(add(mv(g("W_xn"), xt), vec(g("b_xn")), mul(rr, add(mv(g("W_hn"), h), vec(g("b_hn"))))));
        h = add(mul(z, h), mul(z.map((v) => 1 - v), n));
        expect(closeness(row(r.outputs["h"]!, b, t, H), h, 1e-12, 1e-12)).toBeLessThanOrEqual(1);
      }
    }
  });

  it("peephole LSTM", () => {
    const ir = stdlibCell("lstm.rnn", "PeepholeLSTM");
    const p = randomParams(ir, env, 31);
    const x = rand([B, T, I], 32);
    const r = runCell(ir, env, p, { inputs: { x } }, "f64");
    const g = (n: string) => p.get(n)!;
    for (let b = 0; b < B; b++) {
      let h = new Array(H).fill(0);
      let c = new Array(H).fill(0);
      for (let t = 0; t < T; t++) {
        const xt = row(x, b, t, I);
        const i = sig(add(mv(g("W_xi"), xt), mv(g("W_hi"), h), mul(vec(g("p_i")), c), vec(g("b_i"))));
        const f = sig(add(mv(g("W_xf"), xt), mv(g("W_hf"), h), mul(vec(g("p_f")), c), vec(g("b_f"))));
        const gg = th(add(mv(g("W_xg"), xt), mv(g("W_hg"), h), vec(g("b_g"))));
        c = add(mul(f, c), mul(i, gg));
        const o = sig(add(mv(g("W_xo"), xt), mv(g("W_ho"), h), mul(vec(g("p_o")), c), vec(g("b_o"))));
        h = mul(o, th(c));
        expect(closeness(row(r.outputs["h"]!, b, t, H), h, 1e-12, 1e-12)).toBeLessThanOrEqual(1);
      }
      expect(closeness(vec(r.states["c"]!).slice(b * H, (b + 1) * H), c, 1e-12, 1e-12)).toBeLessThanOrEqual(1);
    }
  });

  it("Embedding gathers rows by token id and rejects ids out of range", () => {
    const ir = stdlibCell("layers.rnn", "Embedding");
    const envE = new Map([["V", 5], ["E", 3]]);
    const p = initParams(cellParamSpecs(ir, envE), 1);
    const tokens = alloc([1, 3], "f32");
    tokens.data.set([4, 0, 2]);
    const r = runCell(ir, envE, p, { inputs: { token: tokens } });
    const table = p.get("table")!;
    expect(Array.from(r.outputs["e"]!.data)).toEqual([...table.data.slice(12, 15), ...table.data.slice(0, 3), ...table.data.slice(6, 9)]);
    tokens.data[1] = 5;
    expect(() => runCell(ir, envE, p, { inputs: { token: tokens } })).toThrow(/token id 5 is out of range/);
  });

  it("Dense with a softmax option", () => {
    const ir = stdlibCell("layers.rnn", "Dense", { act: "softmax" });
    const envD = new Map([["I", 4], ["O", 3]]);
    const p = randomParams(ir, envD, 41);
    const x = rand([2, 1, 4], 42);
    const y = runCell(ir, envD, p, { inputs: { x } }, "f64").outputs["y"]!;
    for (let b = 0; b < 2; b++) {
      const logits = add(mv(p.get("W")!, row(x, b, 0, 4)), vec(p.get("b")!));
      const z = logits.reduce((s, v) => s + Math.exp(v), 0);
      expect(closeness(row(y, b, 0, 3), logits.map((v) => Math.exp(v) / z), 1e-12, 1e-12)).toBeLessThanOrEqual(1);
    }
  });
});
