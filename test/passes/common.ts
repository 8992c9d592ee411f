// Shared by the pass specs: sample cells, a seeded run of a cell, and a check that a pass keeps a cell's meaning and validity.
import { expect } from "vitest";
import { runCell } from "../../src/interp/run-cell.js";
import type { CellIR } from "../../src/ir/ir.js";
import { verifyCellIR } from "../../src/ir/verify.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { alloc } from "../../src/runtime/tensor.js";
import { cellParamSpecs, initParams } from "../../src/weights/weights.js";
import { cellFrom, closeness, stdlibCell } from "../helpers.js";

export const cells: [string, () => CellIR][] = [
  ["Elman", () => stdlibCell("elman.rnn", "Elman")],
  ["LSTM", () => stdlibCell("lstm.rnn", "LSTM")],
  ["PeepholeLSTM", () => stdlibCell("lstm.rnn", "PeepholeLSTM")],
  ["GRU", () => stdlibCell("gru.rnn", "GRU")],
  ["GRUResetBefore", () => stdlibCell("gru.rnn", "GRUResetBefore")],
  ["second order with a layer", () => cellFrom(`import { LSTM } from "std"
    cell C<I, H> { input x: [I]  state h: [H] = 0  param A, B2: [H, H]  layer l = LSTM<I, H>
      h = tanh(A @ h[t-1] + l(x) + B2 @ h[t-2] + A @ h[t-1])  output h }`)],
];

/** Runs a cell (I = 3, H = 5) on 2 sequences of 6 random steps, with seeded params. */
export function run(ir: CellIR, seed: number) {
  const env = new Map([["I", 3], ["H", 5]]);
  const rng = mulberry32(seed);
  const x = alloc([2, 6, 3], "f32");
  x.data.forEach((_, i) => { x.data[i] = 2 * rng() - 1; });
  return runCell(ir, env, initParams(cellParamSpecs(ir, env), seed), { inputs: { x } });
}

/** The rewritten cell is valid IR and computes what the original did (outputs and final states within 1e-5). */
export function expectSameMeaning(before: CellIR, after: CellIR, seed = 5): void {
  expect(verifyCellIR(after)).toEqual([]);
  const a = run(before, seed);
  const b = run(after, seed);
  for (const o of before.outputs) expect(closeness(b.outputs[o.name]!.data, a.outputs[o.name]!.data)).toBeLessThanOrEqual(1);
  for (const s of before.states) expect(closeness(b.states[s.name]!.data, a.states[s.name]!.data)).toBeLessThanOrEqual(1);
}
