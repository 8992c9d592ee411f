// The VJP graphs (with the adjoint ops reshape, broadcast_to, reduce_to, one_hot and step) on tfjs cpu and wasm, batched, against the interpreter.
import { afterAll, describe, expect, it } from "vitest";
import { runCell } from "../../src/interp/run-cell.js";
import type { CellIR } from "../../src/ir/ir.js";
import { Op } from "../../src/ir/ops.js";
import { stepVjp } from "../../src/passes/vjp.js";
import { concreteShape } from "../../src/runtime/dims.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { alloc, type Tensor } from "../../src/runtime/tensor.js";
import { useBackend } from "../../src/tfjs/backend.js";
import { runCellTf } from "../../src/tfjs/run.js";
import { cellFrom, closeness, stdlibCell } from "../helpers.js";

const B = 3;
const cells: [string, () => CellIR][] = [
  ["LSTM", () => stdlibCell("lstm.rnn", "LSTM")],
  ["GRU", () => stdlibCell("gru.rnn", "GRU")],
  ["Embedding", () => stdlibCell("layers.rnn", "Embedding")],
  ["softmax, sums, max, relu, transpose", () => cellFrom(`cell C<I, H> { input x: [I]  state h: [H] = 0  param W: [H, I]  param U: [H, H]  param b: [H]
    h = softmax(max(relu(W @ x), transpose(U) @ h[t-1]) * mean(b) + sum(U * h[t-2]))  output y = log_softmax(h[t-1] @ U) }`)],
];

/** Random [B, 1, ...] values for every input of a stateless cell (token ids in range), and params. */
function feed(ir: CellIR, env: Map<string, number>, seed: number) {
  const rng = mulberry32(seed);
  const fill = (shape: number[], int: boolean): Tensor => {
    const t = alloc(shape, "f32");
    for (let k = 0; k < t.data.length; k++) t.data[k] = int ? Math.floor(rng() * 3) : 2 * rng() - 1;
    return t;
  };
  const inputs = Object.fromEntries(ir.inputs.map((i) => [i.name, fill([B, 1, ...concreteShape(i.shape, env, i.name)], i.dtype === "int")]));
  const params = new Map(ir.params.map((p) => [p.name, fill(concreteShape(p.shape, env, p.name), false)]));
  return { inputs, params };
}

afterAll(async () => { await useBackend("tfjs-cpu"); });

for (const backend of ["tfjs-cpu", "tfjs-wasm"] as const) {
  describe(`VJP graphs on ${backend}`, () => {
    for (const [name, make] of cells) {
      it(name, async () => {
        await useBackend(backend);
        const { vjp } = stepVjp(make());
        const env = new Map(vjp.dims.map((d, k) => [d.name, 4 + k]));
        const { inputs, params } = feed(vjp, env, 7);
        const want = runCell(vjp, env, params, { inputs }, "f64").outputs;
        for (const optimize of [false, true]) {
          const got = runCellTf(vjp, env, params, { inputs }, { optimize }).outputs;
          for (const o of vjp.outputs) expect({ o: o.name, optimize, err: closeness(got[o.name]!.data, want[o.name]!.data, 1e-4, 1e-5) }).toEqual({ o: o.name, optimize, err: expect.closeTo(0, 0) });
        }
      });
    }
    it("uses every adjoint op", () => {
      const ops = new Set(cells.flatMap(([, make]) => stepVjp(make()).vjp.nodes.map((n) => n.op)));
      for (const op of [Op.Reshape, Op.BroadcastTo, Op.ReduceTo, Op.OneHot, Op.Step]) expect(ops).toContain(op);
    });
  });
}
