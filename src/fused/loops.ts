// Runs of elementwise ops in a step fused into one generated loop over rows and elements, intermediates kept in locals.
import { evalDim } from "../ir/dims.js";
import { usersOf } from "../ir/graph.js";
import type { Node, NodeId } from "../ir/ir.js";
import { Op, opInfo, type OpsIn } from "../ir/ops.js";
import { binaryFns, unaryFns } from "../interp/kernels.js";
import type { DimEnv } from "../runtime/dims.js";
import { sizeOf } from "../runtime/tensor.js";
import { evalMatMulAdd, evalRows, type Rows } from "./batched.js";
import { fastExp, fastSigmoid, fastTanh } from "./fast-math.js";
import { simdEnabled } from "./gemm.js";
import { kernelMemory } from "./kernel-memory.js";
import { compileSimdLoop, type Member, type Read } from "./simd-loop.js";
import { heapOffset, placeFor, rowsAt, viewOf, type Place, type Slots } from "./slots.js";

/**
 * One stage of a step: a node run alone (products, concatenations, …), a product added to a value (`addend +
 * node`, computed as node `as`: one accumulating gemm), or a fused loop of elementwise nodes.
 */
export type Stage =
  | { readonly kind: "node"; readonly node: Node; readonly addend?: NodeId; readonly as?: NodeId }
  | { readonly kind: "loop"; readonly loop: FusedLoop };


/** Expressions of the ops written inline; every other op calls its function (the fast versions for exp, σ, tanh). */
const inlineUnary: Partial<Record<Op, (x: string) => string>> = {
  [Op.Neg]: (x) => `-${x}`,
  [Op.Identity]: (x) => x,
  [Op.Dropout]: (x) => x, // its meaning; training makes it a product with a mask first (src/runtime/dropout.ts)
  [Op.Square]: (x) => `${x} * ${x}`,
};
const inlineBinary: Partial<Record<Op, (a: string, b: string) => string>> = {
  [Op.Add]: (a, b) => `${a} + ${b}`,
  [Op.Sub]: (a, b) => `${a} - ${b}`,
  [Op.Mul]: (a, b) => `${a} * ${b}`,
  [Op.Div]: (a, b) => `${a} / ${b}`,
};
const fastUnary: Partial<Record<Op, (x: number) => number>> = { [Op.Exp]: fastExp, [Op.Sigmoid]: fastSigmoid, [Op.Tanh]: fastTanh };

/** The elementwise loop body's functions, passed into the generated code by position (no text from a spec is in it). */
const unaryOps = Object.keys(unaryFns) as OpsIn<"unary">[];
const binaryOps = Object.keys(binaryFns) as OpsIn<"binary">[];
const fnArgs = [...unaryOps.map((op) => fastUnary[op] ?? unaryFns[op]), ...binaryOps.map((op) => binaryFns[op])];
const fnNames = [...unaryOps.map((_, k) => `u${k}`), ...binaryOps.map((_, k) => `b${k}`)];

/**
 * Elementwise nodes that share a per-example size S, computed in one pass over rows r and elements j. Values read from
 * outside come with a row stride given at run time (0 for values shared by all rows); the members used after the
 * loop are written out, each to its own buffer.
 */
export class FusedLoop {
  readonly members: Member[] = [];
  readonly outside: NodeId[] = [];
  readonly writes: NodeId[] = [];
  private fn?: (...args: unknown[]) => void;
  /** The WebAssembly SIMD form, or why there is none. */
  private simd?: ((...args: number[]) => void) | string;
  /** How the last run went: in WebAssembly SIMD or the generated JS. */
  path?: "simd" | "js";
  /** Why the last run was in JS (SIMD off, or why this loop has no SIMD form), for --explain. */
  whyJs?: string;

  /** Each member's shape per example (its written value's shape). */
  private readonly shapes = new Map<NodeId, readonly number[]>();

  constructor(readonly S: number) {}

  has(id: NodeId): boolean {
    return this.members.some((m) => m.node.id === id);
  }

  add(node: Node, reads: readonly Read[], shape: readonly number[]): void {
    this.members.push({ node, reads });
    this.shapes.set(node.id, shape);
  }

  outsideSlot(id: NodeId): number {
    const k = this.outside.indexOf(id);
    return k >= 0 ? k : this.outside.push(id) - 1;
  }

  /** The loop as JavaScript: only numbers (ids, offsets) and the fixed names above appear in it. */
  source(): string {
    const S = this.S;
    const slot = (k: number) => `d${k}`;
    const value = (rd: Read): string => {
      if ("local" in rd) return `v${rd.local}`;
      return `${slot(rd.outside)}[o${rd.outside} + ${rd.off}${rd.scalar ? "" : " + j"}]`;
    };
    const body = this.members.map(({ node, reads }) => {
      const [a, b] = reads.map(value);
      const op = node.op;
      let e: string;
      if (op === Op.Slice || op === Op.Reshape) e = a!;
      else if (opInfo[op].category === "unary") e = inlineUnary[op]?.(a!) ?? `u${unaryOps.indexOf(op as OpsIn<"unary">)}(${a})`;
      else e = inlineBinary[op]?.(a!, b!) ?? `b${binaryOps.indexOf(op as OpsIn<"binary">)}(${a}, ${b})`;
      return `const v${node.id} = fround(${e});`; // float32 after every op, as the SIMD form and tfjs
    });
    const stores = this.writes.map((id, k) => `w${k}[o + j] = v${id};`);
    const params = [...this.outside.flatMap((_, k) => [`d${k}`, `s${k}`]), ...this.writes.map((_, k) => `w${k}`)];
    return [
      `const fround = Math.fround;`,
      `return function loop(R, ${params.join(", ")}) {`,
      `  for (let r = 0; r < R; r++) {`,
      `    const o = r * ${S};`,
      ...this.outside.map((_, k) => `    const o${k} = r * s${k};`),
      `    for (let j = 0; j < ${S}; j++) {`,
      ...body.map((l) => `      ${l}`),
      ...stores.map((l) => `      ${l}`),
      `    }`,
      `  }`,
      `};`,
    ].join("\n");
  }

  /** Runs the loop over R rows: reads `values` of the outside nodes, sets those of the written members. */
  run(values: Rows[], R: number, pool?: Slots): void {
    // The written members' buffers first: taking them may grow the kernel memory, which would lose views made before.
    const places = this.writes.map((id) => placeFor(pool, id, R * this.S));
    if (simdEnabled()) {
      this.simd ??= compileSimdLoop(this);
      if (typeof this.simd !== "string") {
        this.path = "simd";
        this.runSimd(this.simd, values, R, places);
        return;
      }
    }
    this.path = "js";
    this.whyJs = simdEnabled() ? this.simd as string : "SIMD is off";
    // The text is built from op names and numbers only (see source()): nothing from a spec.
    this.fn ??= new Function(...fnNames, this.source())(...fnArgs) as (...args: unknown[]) => void;
    const args: unknown[] = [R];
    for (const id of this.outside) {
      const v = values[id]!;
      args.push(v.data, v.shared ? 0 : v.data.length / v.rows);
    }
    for (const p of places) args.push(viewOf(p, R * this.S));
    this.fn(...args);
    this.setWrites(values, places, R);
  }

  /**
   * The SIMD form, in the kernel memory: values already there are read in place and buffers there written in place;
   * others are copied into scratch space before and out of it after.
   */
  private runSimd(fn: (...args: number[]) => void, values: Rows[], R: number, places: readonly Place[]): void {
    const mem = kernelMemory()!;
    const mark = mem.top;
    const copyIn: [number, Float32Array][] = [];
    const args: number[] = [R];
    for (const id of this.outside) {
      const v = values[id]!;
      const length = v.data.length;
      let at = heapOffset(v);
      if (at === undefined) {
        at = mem.alloc(Math.ceil(length / 4) * 4);
        copyIn.push([at, v.data]);
      }
      args.push(4 * at, v.shared ? 0 : (4 * length) / v.rows);
    }
    const copyOut: [number, Float32Array][] = [];
    for (const p of places) {
      let at: number;
      if (typeof p === "number") at = p;
      else {
        at = mem.alloc(R * this.S);
        copyOut.push([at, p]);
      }
      args.push(4 * at);
    }
    let heap = mem.heap;
    for (const [at, data] of copyIn) heap.set(data, at);
    fn(...args);
    heap = mem.heap;
    for (const [at, out] of copyOut) out.set(heap.subarray(at, at + out.length));
    mem.release(mark);
    this.setWrites(values, places, R);
  }

  private setWrites(values: Rows[], places: readonly Place[], R: number): void {
    this.writes.forEach((id, k) => { values[id] = rowsAt(places[k]!, R * this.S, this.shapes.get(id)!, false, R); });
  }
}

/** Elements per example of a node. */
const sizeIn = (n: Node, env: DimEnv): number => sizeOf(n.shape.map((d) => evalDim(d, env)!));

/** Whether a node can be a loop member: an elementwise float op whose arguments are its own size or scalars, or a slice. */
function fusible(n: Node, nodes: readonly Node[], env: DimEnv): boolean {
  if (!n.batched || n.dtype !== "float") return false;
  const S = sizeIn(n, env);
  const argOk = (a: NodeId) => nodes[a]!.dtype === "float" && (sizeIn(nodes[a]!, env) === S || sizeIn(nodes[a]!, env) === 1);
  const cat = opInfo[n.op].category;
  if (cat === "unary" || n.op === Op.Reshape) return argOk(n.args[0]!);
  if (cat === "binary") return n.args.every(argOk) && (sameShape(n, nodes[n.args[0]!]!, env) || sizeIn(nodes[n.args[0]!]!, env) === 1) && (sameShape(n, nodes[n.args[1]!]!, env) || sizeIn(nodes[n.args[1]!]!, env) === 1);
  return n.op === Op.Slice && nodes[n.args[0]!]!.dtype === "float";
}

const sameShape = (a: Node, b: Node, env: DimEnv): boolean =>
  a.shape.length === b.shape.length && a.shape.every((d, i) => evalDim(d, env) === evalDim(b.shape[i]!, env));

/**
 * The stages of `nodes` (a step's computed nodes in order; `all` indexes every node by id): each elementwise node joins
 * the earliest loop of its size that every argument is ready for, else starts a new one. `kept` are read after the
 * stages run, so loops write them out.
 */
export function planStages(nodes: readonly Node[], all: readonly Node[], env: DimEnv, kept: Iterable<NodeId>): Stage[] {
  const stages: Stage[] = [];
  const stageOf = new Map<NodeId, number>();
  const usedOutside = new Set<NodeId>(kept);
  const uses = new Map<NodeId, number>();
  for (const n of nodes) for (const a of n.args) uses.set(a, (uses.get(a) ?? 0) + 1);
  const keptSet = new Set(kept);
  // Slices of values from outside the stages that only elementwise members read: never copied out, each member reads
  // its piece of the outside value in place, by offset.
  const inStages = new Set(nodes.map((n) => n.id));
  const readersOf = usersOf(nodes);
  const inPlace = new Map<NodeId, { of: NodeId; off: number }>();
  for (const n of nodes) {
    const src = n.args[0]!;
    if (n.op !== Op.Slice || inStages.has(src) || keptSet.has(n.id) || all[src]!.dtype !== "float") continue;
    const rs = readersOf.get(n.id) ?? [];
    // (An add to a product is not a loop member: the product accumulates onto it, which needs it as a value.)
    const elementwise = (u: Node) => u.op !== Op.Slice && u.op !== Op.Reshape && fusible(u, all, env) && sizeIn(u, env) === sizeIn(n, env)
      && !(u.op === Op.Add && u.args.some((a) => all[a]!.op === Op.MatMul));
    if (!rs.length || !rs.every(elementwise)) continue;
    inPlace.set(n.id, { of: src, off: evalDim(n.attrs.start!, env)! * sizeOf(all[src]!.shape.slice(1).map((d) => evalDim(d, env)!)) });
  }
  for (const n of nodes) {
    if (inPlace.has(n.id)) continue;
    const ready = Math.max(-1, ...n.args.map((a) => stageOf.get(a) ?? -1));
    // addend + product, where the product is read by nothing else: the product's stage accumulates onto the addend.
    const k = productAdded(n, all, env, stages, stageOf, uses, keptSet);
    if (k !== undefined) {
      const st = stages[k] as { node: Node };
      const addend = n.args.find((a) => a !== st.node.id)!;
      stages[k] = { kind: "node", node: st.node, addend, as: n.id };
      usedOutside.add(addend);
      stageOf.set(n.id, k);
      continue;
    }
    if (!fusible(n, all, env)) {
      stages.push({ kind: "node", node: n });
      stageOf.set(n.id, stages.length - 1);
      for (const a of n.args) usedOutside.add(a);
      continue;
    }
    const S = sizeIn(n, env);
    const viaOffset = n.op === Op.Slice;
    // A loop at or after `ready` of the same size, reading its own members only element for element.
    let at = -1;
    for (let k = Math.max(ready, 0); k < stages.length; k++) {
      const st = stages[k]!;
      if (st.kind !== "loop" || st.loop.S !== S) continue;
      if (n.args.every((a) => (stageOf.get(a) ?? -1) < k || (!viaOffset && st.loop.has(a) && sizeIn(all[a]!, env) === S))) {
        at = k;
        break;
      }
    }
    if (at < 0) {
      stages.push({ kind: "loop", loop: new FusedLoop(S) });
      at = stages.length - 1;
    }
    const loop = (stages[at] as { loop: FusedLoop }).loop;
    const reads: Read[] = n.args.map((a) => {
      const piece = inPlace.get(a);
      if (piece) return { outside: loop.outsideSlot(piece.of), off: piece.off, scalar: false };
      if (loop.has(a) && !viaOffset) return { local: a };
      usedOutside.add(a);
      const off = viaOffset ? evalDim(n.attrs.start!, env)! * sizeOf(all[a]!.shape.slice(1).map((d) => evalDim(d, env)!)) : 0;
      return { outside: loop.outsideSlot(a), off, scalar: !viaOffset && sizeIn(all[a]!, env) === 1 && S !== 1 };
    });
    loop.add(n, reads, n.shape.map((d) => evalDim(d, env)!));
    stageOf.set(n.id, at);
  }
  for (const st of stages) if (st.kind === "loop") for (const m of st.loop.members) if (usedOutside.has(m.node.id)) st.loop.writes.push(m.node.id);
  return stages;
}

/**
 * The stage of the product `n` adds to a value, when `n` is `a + b` of one shape with one side a product only `n`
 * reads, run as its own stage, and the other side computed before that stage; else undefined.
 */
function productAdded(n: Node, all: readonly Node[], env: DimEnv, stages: readonly Stage[], stageOf: ReadonlyMap<NodeId, number>, uses: ReadonlyMap<NodeId, number>, kept: ReadonlySet<NodeId>): number | undefined {
  if (n.op !== Op.Add || !n.batched || n.dtype !== "float" || n.args[0] === n.args[1]) return undefined;
  for (const [p, q] of [[n.args[0]!, n.args[1]!], [n.args[1]!, n.args[0]!]] as const) {
    const k = stageOf.get(p);
    const st = k === undefined ? undefined : stages[k];
    if (!st || st.kind !== "node" || st.node.id !== p || st.addend !== undefined || st.node.op !== Op.MatMul) continue;
    if (uses.get(p) !== 1 || kept.has(p)) continue;
    if (!sameShape(n, all[p]!, env) || !sameShape(n, all[q]!, env) || all[q]!.dtype !== "float") continue;
    if ((stageOf.get(q) ?? -1) >= k!) continue;
    return k;
  }
  return undefined;
}

/** Runs the stages over R rows, setting `values` of every node they compute (loop locals excepted). */
export function runStages(stages: readonly Stage[], values: Rows[], R: number, env: DimEnv, pool?: Slots): void {
  for (const st of stages) {
    if (st.kind === "loop") st.loop.run(values, R, pool);
    else if (st.as !== undefined) values[st.as] = evalMatMulAdd(st.node, st.node.args.map((a) => values[a]!), values[st.addend!]!, env, R, st.as, pool);
    else values[st.node.id] = evalRows(st.node, st.node.args.map((a) => values[a]!), env, R, pool);
  }
}
