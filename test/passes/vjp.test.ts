// The VJP pass: every op's derivative rule, through stdlib, example and random cells, against central differences of the float64 interpreter.
import { describe, expect, it } from "vitest";
import type { CellIR } from "../../src/ir/ir.js";
import { computes, opInfo, Op, type ComputeInfo, type OpInfo } from "../../src/ir/ops.js";
import { verifyCellIR } from "../../src/ir/verify.js";
import { optimize } from "../../src/passes/pipeline.js";
import { stepVjp } from "../../src/passes/vjp.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { cellFrom, compiler, rnnFiles } from "../helpers.js";
import { gradientErrors } from "./gradients.js";

/** Small, distinct sizes for a cell's dims, so a transposed or mixed-up axis changes a shape. */
/** Numbers for a cell's dims, and 4 positions for each sequence it reads whole. */
const envFor = (ir: CellIR): Map<string, number> => new Map([...ir.dims.map((d, k) => [d.name, 3 + k] as const), ...ir.inputs.flatMap((i) => (i.memory ? [[i.memory, 4] as const] : []))]);

function expectGradients(ir: CellIR, seed: number): void {
  for (const cell of [ir, optimize(ir)]) {
    const { vjp } = stepVjp(cell);
    expect(verifyCellIR(vjp)).toEqual([]);
    for (const [name, err] of gradientErrors(cell, envFor(cell), seed)) expect({ name, err }).toEqual({ name, err: expect.closeTo(0, 3) });
  }
}

/** Every cell of the stdlib and the examples, and every cell their models use as a layer. */
function allCells(): [string, CellIR][] {
  const out = new Map<string, CellIR>();
  for (const file of [...rnnFiles("stdlib"), ...rnnFiles("examples")]) {
    const parsed = compiler.check(file);
    if (parsed.diagnostics.some((d) => d.severity === "error")) continue; // the typo example
    for (const d of parsed.parsed?.module.decls ?? []) {
      if (d.kind === "cell") out.set(`${d.name.text}`, compiler.cell(file, d.name.text));
      if (d.kind === "model") for (const l of compiler.model(file, d.name.text).layers) out.set(l.ir.name, l.ir);
    }
  }
  return [...out];
}

describe("derivative rules", () => {
  it("every op outside the leaves and sequence constructs has one", () => {
    const missing = Object.entries(opInfo).filter(([, i]) => computes(i as OpInfo) !== ((i as OpInfo).category !== "leaf" && (i as OpInfo).category !== "sequence") || (computes(i as OpInfo) && typeof (i as ComputeInfo).vjp !== "function"));
    expect(missing.map(([op]) => op)).toEqual([]);
  });
});

describe("stdlib and example cells", () => {
  const cells = allCells();
  it("covers the stdlib and the examples' own cells", () => {
    expect(cells.map(([n]) => n)).toEqual(expect.arrayContaining(["Elman", "LSTM", "PeepholeLSTM", "GRU", "GRUResetBefore", "Dense", "Embedding", "PhoneDecoder", "Speller", "SeedElman", "SeedLSTM"]));
  });
  for (const [name, ir] of cells) it(name, () => expectGradients(ir, 11));
});

/** Expressions of shape [H] over x: [I], h[t-1], h[t-2], params and a token id, drawn at random. */
function randomExpr(rng: () => number, depth: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  if (depth === 0) return pick(["h[t-1]", "h[t-2]", "b", "W @ x", "U @ h[t-1]", "gather(E, i)", "x @ P"]);
  const e = () => `(${randomExpr(rng, depth - 1)})`;
  const forms: (() => string)[] = [
    () => `${pick(["sigmoid", "tanh", "hard_tanh", "hard_sigmoid", "relu", "elu", "selu", "softplus", "softsign", "swish", "gelu", "sin", "cos", "abs", "square", "linear", "exp"])}(${e()})`,
    () => `log(1.5 + square(${e()}))`,
    () => `sqrt(1 + square(${e()}))`,
    () => `pow(sigmoid(${e()}) + 0.5, ${e()})`,
    () => `(${e()} ${pick(["+", "-", "*"])} ${e()})`,
    () => `${e()} / (2 + sigmoid(${e()}))`,
    () => `${pick(["max", "min"])}(${e()}, ${e()})`,
    () => `${pick(["softmax", "log_softmax"])}(${e()})`,
    () => `${e()} * ${pick(["sum", "mean"])}(${e()})`,
    () => `transpose(U) @ ${e()}`,
    () => `${e()} @ (U @ U)`,
    () => `concat(${e()}, ${e()})[H:2*H]`,
    () => `sum(U * ${e()})`,
    () => `-${e()}`,
  ];
  return pick(forms)();
}

describe("random cells", () => {
  const rng = mulberry32(2024);
  for (let k = 0; k < 40; k++) {
    const h = randomExpr(rng, 3);
    const y = randomExpr(rng, 2);
    const spec = `cell R<I, H, V> {
  input x: [I]; input i: [] int
  state h: [H] = 0
  param W: [H, I]; param U: [H, H]; param P: [I, H]; param E: [V, H]; param b: [H]
  h = tanh(${h})
  output y = ${y}
}`;
    it(`#${k}: h = tanh(${h}), y = ${y}`, () => expectGradients(cellFrom(spec), 100 + k));
  }
});

describe("the VJP graph", () => {
  it("is the forward's step with gradients as outputs, named after what they are the gradient of", () => {
    const { step, vjp, reads, saved } = stepVjp(cellFrom(`cell C<I, H> { input x: [I]  state h: [H] = 0  param W: [H, I]  param U: [H, H]
      h = tanh(W @ x + U @ h[t-2])  output y = h[t-1] }`));
    // tanh's derivative reads its value: the one forward value saved.
    expect(saved.map((id) => step.nodes[id]!.op)).toEqual([Op.Tanh]);
    expect(reads).toEqual([{ state: "h", lag: 1 }, { state: "h", lag: 2 }]);
    expect(step.inputs.map((i) => i.name)).toEqual(["x", "h[t-1]", "h[t-2]"]);
    expect(step.outputs.map((o) => o.name)).toEqual(["y", "h[t]"]);
    expect(vjp.inputs.map((i) => i.name)).toEqual(["x", "h[t-1]", "h[t-2]", `%${saved[0]}`, "∂y", "∂h[t]"]);
    expect(vjp.outputs.map((o) => o.name)).toEqual(["∂x", "∂h[t-1]", "∂h[t-2]", "∂W", "∂U"]);
    expect(step.states).toEqual([]);
    expect(vjp.nodes.some((n) => n.op === Op.StateRead)).toBe(false);
    // No forward product is recomputed: the only products are the gradients' (dW: an outer product, dx, dh: W'dy).
    expect(vjp.nodes.filter((n) => n.op === Op.Tanh)).toEqual([]);
  });
});
