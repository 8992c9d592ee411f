// The optimization pipeline: pure CellIR → CellIR passes, in order, each switchable by name.
import type { CellIR } from "../ir/ir.js";
import { commonSubexpressions } from "./cse.js";
import { deadCodeElimination } from "./dce.js";
import { dropoutOff } from "./dropout-off.js";
import { fuseMatmuls } from "./fuse-matmul.js";
import { reassociateSums } from "./reassociate.js";
import { chooseLayouts } from "./layout.js";
import { stackAdds } from "./stack-adds.js";
import { stackBiases } from "./stack-biases.js";

export interface Pass {
  readonly name: string;
  readonly purpose: string;
  readonly run: (ir: CellIR) => CellIR;
}

export const passes: readonly Pass[] = [
  { name: "dropout-off", purpose: "dropout is the identity outside training (training has made it a product with a mask before)", run: dropoutOff },
  { name: "reassociate", purpose: "sum state-free terms first, so input projections and their biases hoist out of the loop", run: reassociateSums },
  { name: "fuse-matmul", purpose: "one product with stacked weights for products sharing an operand", run: fuseMatmuls },
  { name: "stack-biases", purpose: "the gates' biases added to the input product they are sliced from, once", run: stackBiases },
  { name: "stack-adds", purpose: "one add of the stacked input and recurrent parts, then the gates sliced from it", run: stackAdds },
  { name: "layout", purpose: "weights transposed once, outside the loop, so per-step products need no transposed operand", run: chooseLayouts },
  { name: "cse", purpose: "one node per distinct computation", run: commonSubexpressions },
  { name: "dce", purpose: "drop what no output or state needs", run: deadCodeElimination },
];

/** Runs the passes not switched off; `after` sees the IR after each pass (tests run the verifier there). */
export function optimize(ir: CellIR, disabled: ReadonlySet<string> = new Set(), after?: (pass: string, ir: CellIR) => void): CellIR {
  let cur = ir;
  for (const p of passes) {
    if (disabled.has(p.name)) continue;
    cur = p.run(cur);
    after?.(p.name, cur);
  }
  return cur;
}
