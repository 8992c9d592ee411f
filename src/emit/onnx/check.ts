// ONNX's checker rules that need no shapes, run on every model rnnc writes before it is encoded (and by the export tests).

export interface OnnxGraphJson { name: string; node?: { op_type: string; input?: string[]; output?: string[]; attribute?: { name: string; g?: OnnxGraphJson }[] }[]; initializer?: { name: string }[]; input?: { name: string; type?: { tensor_type?: { elem_type?: number } } }[]; output?: { name: string; type?: { tensor_type?: { elem_type?: number } } }[] }
export interface OnnxModelJson { graph: OnnxGraphJson }

/** ONNX's checker rules that can be checked here: topological order (every input defined before use, in the graph or
 * an enclosing one), names defined once, typed graph inputs and outputs, outputs produced, subgraphs likewise; and no
 * initializer left unused. */
export function graphProblems(m: OnnxModelJson, opts: { unusedInitializers?: boolean } = { unusedInitializers: true }): string[] {
  const problems: string[] = [];
  const walk = (g: OnnxGraphJson, outer: ReadonlySet<string>) => {
    const known = new Set(outer);
    const define = (name: string) => { if (known.has(name) && !outer.has(name)) problems.push(`${g.name}: ${name} defined twice`); known.add(name); };
    for (const i of g.initializer ?? []) define(i.name);
    for (const i of g.input ?? []) { define(i.name); if (!i.type?.tensor_type?.elem_type) problems.push(`${g.name}: input ${i.name} has no element type`); }
    for (const n of g.node ?? []) {
      for (const i of n.input ?? []) if (i !== "" && !known.has(i)) problems.push(`${g.name}: ${n.op_type} reads ${i} before it is defined`);
      for (const a of n.attribute ?? []) if (a.g) walk(a.g, known);
      for (const o of n.output ?? []) define(o);
    }
    for (const o of g.output ?? []) { if (!known.has(o.name)) problems.push(`${g.name}: output ${o.name} is never produced`); if (!o.type?.tensor_type?.elem_type) problems.push(`${g.name}: output ${o.name} has no element type`); }
  };
  walk(m.graph, new Set());
  // Every initializer is read somewhere (in the graph or a body): nothing dead is shipped (valid ONNX either way, so
  // the export itself leaves this one to its tests).
  if (!opts.unusedInitializers) return problems;
  const used = new Set<string>();
  const reads = (g: OnnxGraphJson) => { for (const n of g.node ?? []) { for (const i of n.input ?? []) used.add(i); for (const a of n.attribute ?? []) if (a.g) reads(a.g); } };
  reads(m.graph);
  for (const t of m.graph.initializer ?? []) if (!used.has(t.name)) problems.push(`${m.graph.name}: initializer ${t.name} is never used`);
  return problems;
}
