// When `generate` can decode by beam search: the one rule the checker (a spec's `beam`) and `rnnc eval --beam` apply.
import type { CellIR } from "./ir.js";

/** Why generating with this cell cannot search (sampling at `temperature`, or a state read more than one step back), or undefined. */
export function beamRefusal(cell: CellIR, layer: string, temperature: number): { readonly why: string; readonly help: string } | undefined {
  if (temperature > 0)
    return { why: `\`generate\` either samples (temperature ${temperature}) or searches (a beam), not both: beam search keeps the K most probable sequences and is deterministic`, help: "leave out `temperature` to search, or `beam` to sample" };
  const deep = cell.states.find((s) => s.maxLag > 1);
  if (deep) return { why: `beam search restarts each hypothesis from its states, and \`${layer}\` reads \`${deep.name}\` ${deep.maxLag} steps back`, help: "search with a cell that reads each state one step back, or decode greedily (leave out `beam`)" };
  return undefined;
}
