// The verifier accepts every elaborated cell of the stdlib and examples, and catches broken IR.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { verifyCellIR, verifyModelIR } from "../../src/ir/verify.js";
import { Op } from "../../src/ir/ops.js";
import { compiler, rnnFiles, root, stdlibCell } from "../helpers.js";

const files = [...rnnFiles("stdlib"), ...rnnFiles("test/fixtures/ir"), ...rnnFiles("examples").filter((f) => !f.includes("typo"))];

describe("IR verifier", () => {
  it.each(files)("accepts every cell and model of %s", (file) => {
    const r = compiler.check(file);
    expect(r.cells.size + r.models.size).toBeGreaterThan(0);
    for (const c of r.cells.values()) {
      expect(c.ok).toBe(true);
      expect(verifyCellIR(c.ir)).toEqual([]);
    }
    for (const m of r.models.values()) {
      expect(m.ok).toBe(true);
      expect(verifyModelIR(m.ir)).toEqual([]);
    }
  });

  it("rejects a model node that mixes sequence lengths", () => {
    const r = compiler.check(join(root, "test/fixtures/ir/model-classifier.rnn"));
    const ir = r.models.get("Classifier")!.ir;
    const i = ir.nodes.findIndex((n) => n.op === Op.Last);
    const broken = { ...ir, nodes: ir.nodes.map((n, k) => (k === i ? Object.freeze({ ...n, seq: "T" }) : n)) };
    expect(verifyModelIR(broken).join("\n")).toMatch(/last takes a sequence and gives a single value/);
  });

  it("rejects a node whose shape breaks the op's rule", () => {
    const ir = stdlibCell("lstm.rnn", "LSTM");
    const i = ir.nodes.findIndex((n) => n.op === Op.MatMul);
    const broken = { ...ir, nodes: ir.nodes.map((n, k) => (k === i ? Object.freeze({ ...n, shape: [] }) : n)) };
    expect(verifyCellIR(broken).join("\n")).toMatch(/shape \[\], rules give \[H\]/);
  });

  it("rejects arguments that come after their user", () => {
    const ir = stdlibCell("elman.rnn", "Elman");
    const last = ir.nodes.length - 1;
    const broken = { ...ir, nodes: ir.nodes.map((n, k) => (k === 2 ? Object.freeze({ ...n, args: [last, 1] }) : n)) };
    expect(verifyCellIR(broken).join("\n")).toMatch(/does not come before/);
  });
});
