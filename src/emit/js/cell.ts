// Emits one cell as a JS factory: weights in, then an allocation-free `step` over preallocated buffers and rotating state histories.
import type { CellIR, NodeId } from "../../ir/ir.js";
import { Op } from "../../ir/ops.js";
import { concreteShape, type DimEnv } from "../../runtime/dims.js";
import { reachable } from "../../ir/graph.js";
import { Allocator, GraphEmitter, read, type Ref } from "./codegen.js";
import { matVecModule } from "./wasm-kernel.js";

/** The passes the js target runs: the layout pass is left out, as the js code chooses its own layouts. */
export const JS_DISABLED_PASSES: ReadonlySet<string> = new Set(["layout"]);

/**
 * `function NAME(P)`: P maps param names to Float32Arrays. Returns { step(x0, x1, …), reset(init?), state(k), out }:
 * float inputs are arrays, token ids numbers; `step` returns `out`, the first output, overwritten by the next step.
 */
export function emitCell(name: string, ir: CellIR, env: DimEnv, simd = false): string {
  const refs = new Map<NodeId, Ref>();
  const lines: string[] = [];
  const alloc = new Allocator(simd);
  ir.params.forEach((p, k) => {
    // With the kernel, weights are copied into its memory (once, when the weights are set).
    const size = concreteShape(p.shape, env, `param ${p.name}`).reduce((a, b) => a * b, 1);
    lines.push(simd ? `const p${k} = ${alloc.alloc(size)}; p${k}.set(P[${JSON.stringify(p.name)}]);` : `const p${k} = P[${JSON.stringify(p.name)}];`);
    for (const n of ir.nodes) if (n.op === Op.Param && n.attrs.name === p.name) refs.set(n.id, { kind: "buf", arr: `p${k}`, off: "0" });
  });
  const stateIndex = new Map(ir.states.map((s, k) => [s.name, k]));
  const inputIndex = new Map(ir.inputs.map((i, k) => [i.name, k]));
  for (const n of ir.nodes) {
    if (n.op === Op.Input) {
      const k = inputIndex.get(n.attrs.name!)!;
      // Float inputs are copied into a buffer of the cell's own: every load in the step is then from a Float32Array.
      refs.set(n.id, n.dtype === "int" ? { kind: "scalar", expr: `x${k}` } : { kind: "buf", arr: `xb${k}`, off: "0" });
    }
    if (n.op === Op.StateRead) refs.set(n.id, { kind: "buf", arr: `r${stateIndex.get(n.attrs.name!)}_${n.attrs.lag}`, off: "0" });
  }
  const isStatic = (id: NodeId) => !ir.nodes[id]!.batched;
  const out = ir.outputs[0]!;
  const stepRoots = [out.node, ...ir.states.map((s) => s.update)];
  const stepNodes = reachable(ir.nodes, stepRoots).filter((n) => !refs.has(n.id));
  const initNodes = reachable(ir.nodes, ir.states.map((s) => s.init)).filter((n) => !refs.has(n.id));
  // Static work (on weights and constants only) runs once, when the weights are set.
  const staticNodes = [...new Map([...stepNodes, ...initNodes].filter((n) => isStatic(n.id)).map((n) => [n.id, n])).values()].sort((a, b) => a.id - b.id);
  const once = new GraphEmitter({ nodes: ir.nodes, env, todo: staticNodes, roots: new Set(), refs, isStatic, alloc }, "c");
  once.emit();
  const each = new GraphEmitter({ nodes: ir.nodes, env, todo: stepNodes.filter((n) => !isStatic(n.id)), roots: new Set(stepRoots), refs, isStatic, alloc }, "b");
  each.emit();
  for (const part of [once.decls, once.code, each.decls]) for (const l of part) lines.push(l);

  const sizes = ir.states.map((s) => concreteShape(s.shape, env, `state ${s.name}`).reduce((a, b) => a * b, 1));
  const lags = ir.states.map((s) => Math.max(1, s.maxLag));
  ir.states.forEach((s, k) => {
    lines.push(`const H${k} = [${Array.from({ length: lags[k]! }, () => alloc.alloc(sizes[k]!)).join(", ")}];`);
    lines.push(`const i${k} = ${alloc.alloc(sizes[k]!)};`, fill(`i${k}`, refs.get(s.init)!, sizes[k]!, each.shapeOf(s.init)));
  });
  const outSize = concreteShape(ir.nodes[out.node]!.shape, env, `output ${out.name}`).reduce((a, b) => a * b, 1);
  const outRef = refs.get(out.node)!;
  const ownBuffer = outRef.kind === "buf" && outRef.off === "0" && /^b\d+$/.test(outRef.arr);
  if (!ownBuffer) lines.push(`const out = ${alloc.alloc(outSize)};`);
  const outName = ownBuffer ? (outRef as { arr: string }).arr : "out";

  const reset = ir.states.map((_, k) => `{ const v = init && init[${k}]; for (const h of H${k}) { if (!v) h.set(i${k}); else if (v.length === 1) h.fill(v[0]); else h.set(v); } }`);
  const reads = ir.nodes.filter((n) => n.op === Op.StateRead);
  const readLines = [...new Set(reads.map((n) => `const r${stateIndex.get(n.attrs.name!)}_${n.attrs.lag} = H${stateIndex.get(n.attrs.name!)}[${n.attrs.lag! - 1}];`))];
  const advance = ir.states.map((s, k) => {
    const rotate = lags[k]! > 1 ? `{ const last = H${k}[${lags[k]! - 1}]; for (let j = ${lags[k]! - 1}; j > 0; j--) H${k}[j] = H${k}[j - 1]; H${k}[0] = last; }\n` : "";
    return rotate + fill(`H${k}[0]`, refs.get(s.update)!, sizes[k]!, each.shapeOf(s.update));
  });
  const params = ir.inputs.map((_, k) => `x${k}`).join(", ");
  const inputCopies = ir.inputs.flatMap((inp, k) => {
    if (inp.dtype === "int") return [];
    const n = concreteShape(inp.shape, env, `input ${inp.name}`).reduce((a, b) => a * b, 1);
    lines.push(`const xb${k} = ${alloc.alloc(n)};`);
    return [`for (let i = 0; i < ${n}; i++) xb${k}[i] = x${k}[i];`];
  });
  // The arena: one memory for every buffer of this instance, sized here, so that no view is ever detached by growth.
  const bytes = Math.max(16, alloc.floats * 4);
  const arena = simd ? [
    `const mem = __rnnc_kernel ? new WebAssembly.Memory({ initial: ${Math.ceil(bytes / 65536)} }) : null;`,
    `const heap = mem ? mem.buffer : new ArrayBuffer(${bytes});`,
    `let top = 0;`,
    `const arena = (n) => { const a = new Float32Array(heap, top, n); top += Math.ceil(n / 4) * 16; return a; };`,
    `const mv = mem ? new WebAssembly.Instance(__rnnc_kernel, { m: { mem } }).exports.mv : __rnnc_mv(heap);`,
  ] : [];
  return [
    `function ${name}(P) {`,
    ...arena,
    ...lines,
    `function reset(init) {`, ...reset, `}`,
    `function step(${params}) {`, ...inputCopies, ...readLines, ...each.code, ...(ownBuffer ? [] : [fill("out", outRef, outSize, each.shapeOf(out.node))]), ...advance, `return ${outName};`, `}`,
    `reset();`,
    `return { step, reset, state: (k) => [${ir.states.map((_, k) => `H${k}`).join(", ")}][k][0], out: ${outName} };`,
    `}`,
  ].join("\n");
}

/** Copies a value into a buffer of `n` elements (a one-element value fills it). */
function fill(dst: string, src: Ref, n: number, srcShape: readonly number[]): string {
  const one = srcShape.reduce((a, b) => a * b, 1) === 1;
  if (src.kind === "buf" && src.off === "0" && !one && /^[bc]\d+$|^p\d+$/.test(src.arr)) return `${dst}.set(${src.arr});`;
  return `for (let i = 0; i < ${n}; i++) ${dst}[i] = ${read(src, one ? "0" : "i")};`;
}

/**
 * Module-level code for cells emitted with `simd`: the kernel module (null where WebAssembly SIMD is missing) and
 * the same product in plain JS over the arena, for that case.
 */
export function kernelPrelude(): string {
  return [
    `const __rnnc_kernel = (() => {`,
    `  try {`,
    `    return typeof WebAssembly === "object" ? new WebAssembly.Module(Uint8Array.from([${[...matVecModule()].join(", ")}])) : null;`,
    `  } catch {`,
    `    return null;`,
    `  }`,
    `})();`,
    `function __rnnc_mv(heap) {`,
    `  const F = new Float32Array(heap);`,
    `  return (a, x, out, m, k) => {`,
    `    a >>= 2; x >>= 2; out >>= 2;`,
    `    for (let r = 0; r < m; r++) {`,
    `      let s = 0;`,
    `      for (let q = 0; q < k; q++) s += F[a + r * k + q] * F[x + q];`,
    `      F[out + r] = s;`,
    `    }`,
    `  };`,
    `}`,
  ].join("\n");
}
