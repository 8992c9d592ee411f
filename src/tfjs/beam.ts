// generate with beam search on TensorFlow.js: every live hypothesis of every example stepped as one batch.
import * as tf from "@tensorflow/tfjs";
import type { Node } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { beamSearch, logProbabilities } from "../runtime/beam.js";
import type { History, TfCell } from "./cell.js";

/** A hypothesis' states: row `row` of a batched history; `example`: the batch's example it extends. */
interface Row { readonly history: History; readonly row: number; readonly example: number }

/**
 * Each example's best sequence (token ids, without the end token) and its states after its last step ([batch, …]
 * per state), by the decoding rule of src/runtime/beam.ts; `first` picks the layer's output from a step's outputs.
 * `wholes` are what the layer reads whole, by input name, one row per example (each hypothesis reads its example's).
 */
export function tfBeamSearch(n: Node, cell: TfCell, start: History, batch: number, first: (outputs: Map<string, tf.Tensor>) => tf.Tensor, wholes: ReadonlyMap<string, tf.Tensor> = new Map()): { tokens: number[][]; finals: Map<string, tf.Tensor> } {
  const probabilities = cell.ir.nodes[cell.ir.outputs[0]!.node]!.op === Op.Softmax;
  const input = cell.ir.inputs[0]!.name;
  const results = beamSearch(Array.from({ length: batch }, (_, row) => ({ history: start, row, example: row })),
    { beam: n.attrs.beam!, steps: n.attrs.steps!, until: n.attrs.until!, start: n.attrs.startToken!, lengthNorm: n.attrs.lengthNorm ?? 0 },
    (hyps) => {
      const history = gatherRows(hyps.map((h) => h.state));
      const examples = hyps.map((h) => h.state.example);
      const read = [...wholes].map(([name, t]) => [name, tf.gather(t, examples)] as const);
      const r = cell.step(new Map([[input, tf.tensor1d(hyps.map((h) => h.token), "int32")], ...read]), history, hyps.length);
      const y = first(r.outputs).dataSync();
      const V = y.length / hyps.length;
      return {
        logp: hyps.map((_, k) => logProbabilities(y.subarray(k * V, (k + 1) * V), probabilities)),
        states: hyps.map((h, row) => ({ history: r.history, row, example: h.state.example })),
      };
    });
  const finals = gatherRows(results.map((r) => r.state));
  return { tokens: results.map((r) => r.tokens), finals: new Map([...finals].map(([k, h]) => [k, h[0]!])) };
}

/** The rows of (possibly several) batched histories, in order, as one history. */
function gatherRows(rows: readonly Row[]): History {
  const out: History = new Map();
  for (const [name, lags] of rows[0]!.history)
    out.set(name, lags.map((_, lag) => {
      // Runs of rows from the same history are gathered at once, then joined.
      const parts: tf.Tensor[] = [];
      for (let i = 0; i < rows.length;) {
        let j = i;
        while (j < rows.length && rows[j]!.history === rows[i]!.history) j++;
        parts.push(tf.gather(rows[i]!.history.get(name)![lag]!, rows.slice(i, j).map((r) => r.row)));
        i = j;
      }
      return parts.length === 1 ? parts[0]! : tf.concat(parts);
    }));
  return out;
}
