// Layers that read a sequence whole (attention): whether a model has one, which reductions see only an example's own positions, what is fixed per sequence.
import { dimAsName } from "./dims.js";
import type { CellIR, ModelIR, Node, NodeId } from "./ir.js";
import { Op } from "./ops.js";

/** The first layer of the model with an input read whole, and that input; undefined when there is none. */
export function readsWhole(ir: ModelIR): { readonly layer: string; readonly input: string } | undefined {
  for (const l of ir.layers) {
    const input = l.ir.inputs.find((i) => i.memory !== undefined);
    if (input) return { layer: l.name, input: input.name };
  }
  return undefined;
}

/** The input holding the mask [S] of the sequences of length `symbol` (1 at an example's own positions, 0 past them). */
export const maskInputName = (symbol: string): string => `#mask ${symbol}`;

/** The lengths of the sequences a cell reads whole (`input enc: [S, H]`: S). */
export const lengthSymbols = (cell: CellIR): ReadonlySet<string> => new Set(cell.inputs.flatMap((i) => (i.memory !== undefined ? [i.memory] : [])));

const maskedOps = new Set<Op>([Op.Softmax, Op.LogSoftmax, Op.Sum, Op.Mean]);

/**
 * The length symbol when `n` is a softmax, log_softmax, sum or mean over the positions of a sequence read whole
 * (its argument's last axis is one of `symbols`): every backend leaves the positions past each example's length out.
 */
export function maskedOver(n: Node, nodes: readonly Node[], symbols: ReadonlySet<string>): string | undefined {
  if (!maskedOps.has(n.op)) return undefined;
  const s = dimAsName(nodes[n.args[0]!]!.shape.at(-1)!);
  return s !== undefined && symbols.has(s) ? s : undefined;
}

/** The nodes whose value is the same at every step of a sequence: params, constants, the inputs read whole, and what reads only them. */
export function perSequenceNodes(cell: CellIR, nodes: readonly Node[] = cell.nodes): Set<NodeId> {
  const whole = new Set(cell.inputs.filter((i) => i.memory !== undefined).map((i) => i.name));
  const fixed = new Set<NodeId>();
  for (const n of nodes)
    if (n.op === Op.Param || n.op === Op.Const || (n.op === Op.Input && whole.has(n.attrs.name!)) || (n.args.length && n.args.every((a) => fixed.has(a)))) fixed.add(n.id);
  return fixed;
}
