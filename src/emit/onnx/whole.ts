// Sequences a layer reads whole (attention) in an exported graph: padding zeroed, and the mask of each example's positions.
import type { CellIR } from "../../ir/ir.js";
import type { OnnxGraph } from "./graph.js";
import { attr, DType } from "./proto.js";

/** A sequence read whole, by the cell's input name: its value [batch, S, …] and its float mask [batch, S]. */
export type Wholes = ReadonlyMap<string, { readonly value: string; readonly mask: string }>;

/** `value` [batch, S, …] (per position of rank `rank`) with int64 `lengths` [batch]: padding zeroed, and the mask. */
export function wholeSequence(g: OnnxGraph, value: string, lengths: string, rank: number): { value: string; mask: string } {
  const S = g.node("Squeeze", [g.node("Slice", [g.node("Shape", [value])[0]!, g.ints([1]), g.ints([2])])[0]!, g.ints([0])])[0]!;
  const steps = g.node("Range", [g.ints([0], true), S, g.ints([1], true)])[0]!;
  const on = g.node("Less", [g.node("Unsqueeze", [steps, g.ints([0])])[0]!, g.node("Unsqueeze", [lengths, g.ints([1])])[0]!])[0]!;
  const mask = g.node("Cast", [on], 1, [attr("to", DType.FLOAT)])[0]!;
  const m = rank ? g.node("Unsqueeze", [mask, g.ints(Array.from({ length: rank }, (_, k) => k + 2))])[0]! : mask;
  return { value: g.node("Mul", [value, m])[0]!, mask };
}

/** The step's leaves for sequences read whole: the value of each such input, and the mask of each length symbol. */
export function wholeLeaves(cell: CellIR, wholes: Wholes): { readonly value: (name: string) => string | undefined; readonly mask: (symbol: string) => string } {
  return {
    value: (name) => wholes.get(name)?.value,
    mask: (symbol) => wholes.get(cell.inputs.find((i) => i.memory === symbol)!.name)!.mask,
  };
}
