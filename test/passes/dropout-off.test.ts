// dropout-off: outside training each dropout is its argument, so a cell with dropout runs what the cell without it does.
import { describe, expect, it } from "vitest";
import { Op } from "../../src/ir/ops.js";
import { dropoutOff } from "../../src/passes/dropout-off.js";
import { deadCodeElimination } from "../../src/passes/dce.js";
import { printCellIR } from "../../src/ir/print.js";
import { cellFrom, stdlibCell } from "../helpers.js";
import { expectSameMeaning } from "./common.js";

describe("dropout-off", () => {
  it.each([["LSTM", "lstm.rnn"], ["GRU", "gru.rnn"], ["GRUResetBefore", "gru.rnn"], ["Elman", "elman.rnn"]])("leaves %s with dropout as it is without", (name, file) => {
    const ir = stdlibCell(file, name, { dropout: 0.3, recurrent_dropout: 0.2 });
    expect(ir.nodes.filter((n) => n.op === Op.Dropout)).toHaveLength(2);
    const off = dropoutOff(ir);
    expect(off.nodes.some((n) => n.op === Op.Dropout)).toBe(false);
    expectSameMeaning(ir, off);
    const plain = stdlibCell(file, name);
    expect(printCellIR(deadCodeElimination(off)).replace(/\(.*\)\n/, "\n")).toBe(printCellIR(deadCodeElimination(plain)).replace(/\(.*\)\n/, "\n"));
  });

  it("keeps zoneout's expectation: p·prev + (1-p)·next", () => {
    const ir = cellFrom(`cell Z<I, H> { input x: [I]  state h: [H] = 0  param W: [H, I]  param U: [H, H]
      h = zoneout(tanh(W @ x + U @ h[t-1]), h[t-1], 0.4)  output h }`);
    const off = dropoutOff(ir);
    expect(off.nodes.some((n) => n.op === Op.Dropout)).toBe(false);
    expectSameMeaning(ir, off);
    expectSameMeaning(cellFrom(`cell Z<I, H> { input x: [I]  state h: [H] = 0  param W: [H, I]  param U: [H, H]
      h = 0.4 * h[t-1] + 0.6 * tanh(W @ x + U @ h[t-1])  output h }`), off);
  });
});
