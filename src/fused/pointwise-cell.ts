// A model-level op between layers as a one-op stateless cell: the fused kernels then run it, and its gradient, as a layer.
import type { CellIR, ModelIR, Node } from "../ir/ir.js";
import { Op } from "../ir/ops.js";

/**
 * The cell of model node `n`: one input per argument that is not a constant (in order), the constants as its own
 * nodes, and the op as its one output. Its shapes are the model's, so it runs in the model's dims.
 */
export function pointwiseCell(ir: ModelIR, n: Node): CellIR {
  const nodes: Node[] = [];
  const inputs: CellIR["inputs"][number][] = [];
  const args = n.args.map((a) => {
    const arg = ir.nodes[a]!;
    const id = nodes.length;
    if (arg.op === Op.Const) nodes.push({ id, op: Op.Const, args: [], shape: arg.shape, dtype: "float", batched: false, attrs: { value: arg.attrs.value! }, span: arg.span });
    else {
      const name = `x${inputs.length}`;
      inputs.push({ name, shape: arg.shape, dtype: arg.dtype, span: arg.span });
      nodes.push({ id, op: Op.Input, args: [], shape: arg.shape, dtype: arg.dtype, batched: true, attrs: { name }, span: arg.span });
    }
    return id;
  });
  const out: Node = { id: nodes.length, op: n.op, args, shape: n.shape, dtype: "float", batched: true, attrs: n.attrs, span: n.span };
  nodes.push(out);
  return {
    name: `${ir.name}.${n.op}${n.id}`, file: "", dims: [], options: new Map(), inputs, states: [], params: [], nodes, values: [],
    outputs: [{ name: "y", node: out.id, gate: false, span: n.span }],
  };
}
