// Emits a streamable model's step as JS: layer instances stepped in order, pointwise work fused, outputs in fixed buffers.
import type { ModelIR, Node, NodeId } from "../../ir/ir.js";
import type { SequenceOp } from "../../ir/model-driver.js";
import { Op, sequenceOps } from "../../ir/ops.js";
import { concreteShape, type DimEnv } from "../../runtime/dims.js";
import { Allocator, GraphEmitter, read, type Ref } from "./codegen.js";

/**
 * `function NAME(cell, check)`: `cell(layer)` makes a new instance of a layer's compiled cell; `check(name, value, size)`
 * validates one input of a step. Returns { step(inputs), reset(), outputs } where `outputs[k]` is the buffer output
 * k is written to at every step.
 */
export function emitStream(name: string, ir: ModelIR, env: DimEnv): string {
  const refs = new Map<NodeId, Ref>();
  const head: string[] = [];
  const resets: string[] = [];
  ir.inputs.forEach((inp, k) => {
    const n = ir.nodes.find((x) => x.op === Op.Input && x.attrs.name === inp.name)!;
    refs.set(n.id, n.dtype === "int" ? { kind: "scalar", expr: `x${k}` } : { kind: "buf", arr: `x${k}`, off: "0" });
  });
  const layerOf = new Map(ir.layers.map((l) => [l.name, l]));
  /** A layer stepped once per call: scans keep their states in the instance, maps and applies are reset each call. */
  const layerStep = (n: Node, args: readonly Ref[], e: GraphEmitter): Ref => {
    const layer = layerOf.get(n.attrs.layer!)!;
    const c = `L${n.id}`;
    head.push(`const ${c} = cell(${JSON.stringify(layer.name)});`, `const o${n.id} = ${c}.out;`);
    resets.push(`${c}.reset();`);
    const callArgs = layer.ir.inputs.map((inp, k) => {
      const r = args[k]!;
      if (inp.dtype === "int") return read(r, "0");
      if (r.kind === "buf" && r.off === "0") return r.arr;
      const size = e.shapeOf(n.args[k]!).reduce((a, b) => a * b, 1);
      const tmp = `a${n.id}_${k}`;
      e.decls.push(`const ${tmp} = new Float32Array(${size});`);
      e.code.push(`for (let i = 0; i < ${size}; i++) ${tmp}[i] = ${read(r, size === 1 ? "0" : "i")};`);
      return tmp;
    });
    if (n.op !== Op.Scan) e.code.push(`${c}.reset();`);
    e.code.push(`${c}.step(${callArgs.join(", ")});`);
    return { kind: "buf", arr: `o${n.id}`, off: "0" };
  };
  const notStreamable = (n: Node): never => { throw new Error(`internal: ${n.op} in a streamable model`); };
  /** Every sequence construct as one step (a new one is a type error here until it has its line). */
  const streamStep: Record<SequenceOp, (n: Node, args: readonly Ref[], e: GraphEmitter) => Ref> = {
    [Op.Scan]: layerStep, [Op.Map]: layerStep, [Op.Apply]: layerStep,
    [Op.Last]: (_n, args) => args[0]!, // the newest step
    [Op.Generate]: notStreamable, [Op.Final]: notStreamable, [Op.States]: notStreamable, [Op.Field]: notStreamable,
  };
  const emitter = new GraphEmitter({
    nodes: ir.nodes, env, refs, roots: new Set(ir.outputs.map((o) => o.node)),
    todo: ir.nodes.filter((n) => !refs.has(n.id)),
    isStatic: (id) => !ir.nodes[id]!.batched && !ir.nodes[id]!.seq,
    alloc: new Allocator(false),
    custom: (n, args, e) => (sequenceOps.has(n.op) ? streamStep[n.op as SequenceOp](n, args, e) : undefined),
  }, "b");
  emitter.emit();
  const checks = ir.inputs.map((inp, k) => {
    const size = concreteShape(inp.shape, env, `input ${inp.name}`).reduce((a, b) => a * b, 1);
    return `const x${k} = check(${JSON.stringify(inp.name)}, inputs[${JSON.stringify(inp.name)}], ${inp.dtype === "int" ? -1 : size});`;
  });
  const views = ir.outputs.map((o, k) => {
    const r = refs.get(o.node)!;
    const size = emitter.shapeOf(o.node).reduce((a, b) => a * b, 1);
    if (r.kind === "buf" && r.off === "0") return { decl: "", name: r.arr };
    if (r.kind === "buf" && /^\d+$/.test(r.off)) return { decl: `const y${k} = ${r.arr}.subarray(${r.off}, ${r.off} + ${size});`, name: `y${k}` };
    return { decl: `const y${k} = new Float32Array(${size});`, name: `y${k}`, copy: `for (let i = 0; i < ${size}; i++) y${k}[i] = ${read(r, size === 1 ? "0" : "i")};` };
  });
  return [
    `function ${name}(cell, check) {`,
    ...head, ...emitter.decls, ...views.map((v) => v.decl).filter(Boolean),
    `function step(inputs) {`, ...checks, ...emitter.code, ...views.flatMap((v) => ("copy" in v && v.copy ? [v.copy] : [])), `}`,
    `function reset() {`, ...resets, `}`,
    `return { step, reset, outputs: [${views.map((v) => v.name).join(", ")}] };`,
    `}`,
  ].join("\n");
}
