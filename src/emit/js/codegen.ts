// Emits plain JavaScript for a graph of IR nodes on preallocated Float32Arrays: views for slices, fused loops for elementwise runs.
import type { Node, NodeId } from "../../ir/ir.js";
import { Op, opInfo, type OpsIn, type StructuralOp } from "../../ir/ops.js";
import { evalDim } from "../../ir/dims.js";
import type { DimEnv } from "../../runtime/dims.js";

/** Where a value lives: `arr[off + k]` for element k, or a scalar expression. */
export type Ref = { readonly kind: "buf"; readonly arr: string; readonly off: string } | { readonly kind: "scalar"; readonly expr: string };

const isElementwise = (op: Op): boolean => opInfo[op].category === "unary" || opInfo[op].category === "binary";
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** JS for element `idx` of a value. */
export function read(r: Ref, idx: string): string {
  if (r.kind === "scalar") return r.expr;
  const off = r.off === "0" ? idx : idx === "0" ? r.off : `${r.off} + ${idx}`;
  return `${r.arr}[${off}]`;
}

export function literal(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v < 0 || Object.is(v, -0) ? `(${String(v)})` : String(v);
}

/** Scalar formulas of the elementwise ops, the same definitions as the interpreter's kernels. */
const unaryJs: Record<OpsIn<"unary">, (x: string) => string> = {
  [Op.Neg]: (x) => `-${x}`,
  [Op.Sigmoid]: (x) => `1 / (1 + Math.exp(-${x}))`,
  [Op.HardSigmoid]: (x) => `Math.min(1, Math.max(0, 0.2 * ${x} + 0.5))`,
  [Op.Tanh]: (x) => `Math.tanh(${x})`,
  [Op.HardTanh]: (x) => `Math.min(1, Math.max(-1, ${x}))`,
  [Op.Relu]: (x) => `(${x} > 0 ? ${x} : 0)`,
  [Op.Elu]: (x) => `(${x} > 0 ? ${x} : Math.exp(${x}) - 1)`,
  [Op.Selu]: (x) => `(${x} > 0 ? 1.0507009873554805 * ${x} : 1.7580993408473766 * (Math.exp(${x}) - 1))`,
  [Op.Softplus]: (x) => `(Math.max(${x}, 0) + Math.log1p(Math.exp(-Math.abs(${x}))))`,
  [Op.Softsign]: (x) => `${x} / (1 + Math.abs(${x}))`,
  [Op.Swish]: (x) => `${x} / (1 + Math.exp(-${x}))`,
  [Op.Gelu]: (x) => `0.5 * ${x} * (1 + Math.tanh(0.7978845608028654 * (${x} + 0.044715 * ${x} * ${x} * ${x})))`,
  [Op.Exp]: (x) => `Math.exp(${x})`,
  [Op.Log]: (x) => `Math.log(${x})`,
  [Op.Abs]: (x) => `Math.abs(${x})`,
  [Op.Sqrt]: (x) => `Math.sqrt(${x})`,
  [Op.Square]: (x) => `${x} * ${x}`,
  [Op.Sin]: (x) => `Math.sin(${x})`,
  [Op.Cos]: (x) => `Math.cos(${x})`,
  [Op.Identity]: (x) => x,
  [Op.Dropout]: (x) => x, // its meaning; training makes it a product with a mask first (src/runtime/dropout.ts)
  [Op.Step]: (x) => `(${x} > 0 ? 1 : 0)`,
};
const binaryJs: Record<OpsIn<"binary">, (a: string, b: string) => string> = {
  [Op.Add]: (a, b) => `${a} + ${b}`,
  [Op.Sub]: (a, b) => `${a} - ${b}`,
  [Op.Mul]: (a, b) => `${a} * ${b}`,
  [Op.Div]: (a, b) => `${a} / ${b}`,
  [Op.Maximum]: (a, b) => `Math.max(${a}, ${b})`,
  [Op.Minimum]: (a, b) => `Math.min(${a}, ${b})`,
  [Op.Pow]: (a, b) => `Math.pow(${a}, ${b})`,
};

type Dot = (row: (q: string) => string, vec: (q: string) => string, into: string) => string;

/**
 * out = A v for a row-major [m, k] matrix. Four rows at a time share each load of v, with two partial sums per row
 * (measured fastest on V8: about twice a plain dot product per row); other sizes take a dot product per row.
 */
function matVec(m: number, k: number, A: Ref, v: Ref, out: string, dot: Dot): string {
  if (m % 4 !== 0 || k % 2 !== 0 || A.kind !== "buf") return `for (let r = 0; r < ${m}; r++) {\n${dot((q) => read(A, `r * ${k} + ${q}`), (q) => read(v, q), `${out}[r]`)}\n}`;
  const base = A.off === "0" ? `r * ${k}` : `${A.off} + r * ${k}`;
  const at = (row: number, q: string) => `${A.arr}[o${row} + ${q}]`;
  const rows = [0, 1, 2, 3];
  return [
    `for (let r = 0; r < ${m}; r += 4) {`,
    `const o0 = ${base}, o1 = o0 + ${k}, o2 = o1 + ${k}, o3 = o2 + ${k};`,
    `let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;`,
    `for (let q = 0; q < ${k}; q += 2) {`,
    `const u = ${read(v, "q")}, w = ${read(v, "q + 1")};`,
    ...rows.map((j) => `s${j} += ${at(j, "q")} * u; t${j} += ${at(j, "q + 1")} * w;`),
    `}`,
    ...rows.map((j) => `${out}[r + ${j}] = s${j} + t${j};`),
    `}`,
  ].join("\n");
}

/** The flat index into an argument of shape `arg` broadcast (numpy-style) to `out`, at flat output index `i`. */
function broadcastIndex(arg: readonly number[], out: readonly number[]): string {
  if (size(arg) === 1) return "0";
  if (arg.length === out.length && arg.every((d, k) => d === out[k])) return "i";
  const pad = [...Array(out.length - arg.length).fill(1), ...arg] as number[];
  const terms: string[] = [];
  for (let d = 0; d < out.length; d++) {
    if (pad[d] === 1) continue;
    const outStride = size(out.slice(d + 1));
    const argStride = size(pad.slice(d + 1));
    const coord = d === 0 ? `Math.floor(i / ${outStride})` : `(Math.floor(i / ${outStride}) % ${out[d]})`;
    terms.push(argStride === 1 ? coord : `${coord} * ${argStride}`);
  }
  return terms.join(" + ") || "0";
}

/**
 * Where buffers come from: plain Float32Arrays, or (`arena`) slices of one memory the WebAssembly kernel can address,
 * in which case products with 4-aligned sizes run in the kernel (`mv`, byte addresses).
 */
export class Allocator {
  floats = 0;
  constructor(readonly arena: boolean) {}
  alloc(n: number): string {
    if (!this.arena) return `new Float32Array(${n})`;
    this.floats += Math.ceil(n / 4) * 4;
    return `arena(${n})`;
  }
}

/** The byte address of element 0 of a value in the arena. */
const address = (r: Ref & { kind: "buf" }): string => (r.off === "0" ? `${r.arr}.byteOffset` : `${r.arr}.byteOffset + (${r.off}) * 4`);

export interface GraphSpec {
  readonly nodes: readonly Node[];
  readonly env: DimEnv;
  /** The nodes to compute, in topological order. */
  readonly todo: readonly Node[];
  /** Values needed after the emitted code (outputs, state updates): always materialized. */
  readonly roots: ReadonlySet<NodeId>;
  /** Where leaves and values computed elsewhere live. */
  readonly refs: Map<NodeId, Ref>;
  /** Static values: known before any step (params, constants, work on them only). */
  readonly isStatic: (id: NodeId) => boolean;
  readonly alloc: Allocator;
  /** Code for ops the emitter does not know (a model's layer calls): returns the value's place, or undefined. */
  readonly custom?: (n: Node, args: readonly Ref[], e: GraphEmitter) => Ref | undefined;
}

/** Emits declarations (run once) and code (run each time) computing `todo`; refs gains every computed node. */
export class GraphEmitter {
  readonly decls: string[] = [];
  readonly code: string[] = [];
  private readonly users = new Map<NodeId, NodeId[]>();
  private readonly shapes: number[][] = [];

  constructor(private readonly g: GraphSpec, readonly prefix: string) {
    for (const n of g.todo) for (const a of n.args) {
      const us = this.users.get(a);
      if (us) us.push(n.id);
      else this.users.set(a, [n.id]);
    }
    for (const n of g.nodes) this.shapes[n.id] = n.shape.map((d) => evalDim(d, g.env)!);
  }

  get env(): DimEnv {
    return this.g.env;
  }

  shapeOf(id: NodeId): number[] {
    return this.shapes[id]!;
  }

  private buffer(id: NodeId, n: number): Ref {
    const name = `${this.prefix}${id}`;
    this.decls.push(`const ${name} = ${this.g.alloc.alloc(n)};`);
    return { kind: "buf", arr: name, off: "0" };
  }

  /** Schedules `todo` so that elementwise nodes of one shape run in one loop, then emits it all. */
  emit(): void {
    const pendingArgs = new Map(this.g.todo.map((n) => [n.id, n.args.filter((a) => !this.g.refs.has(a)).length]));
    const position = new Map(this.g.todo.map((n, k) => [n.id, k]));
    // Nodes whose arguments are all computed, in `todo` order (kept sorted as nodes become ready: no rescans).
    const ready: Node[] = this.g.todo.filter((n) => pendingArgs.get(n.id) === 0);
    const makeReady = (n: Node) => {
      const at = position.get(n.id)!;
      let lo = 0, hi = ready.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (position.get(ready[mid]!.id)! < at) lo = mid + 1;
        else hi = mid;
      }
      ready.splice(lo, 0, n);
    };
    let done = 0;
    let group: Node[] = [];
    let groupKey = "";
    const groupIds = new Set<NodeId>();
    const flush = () => {
      if (group.length) this.emitGroup(group, new Set(groupIds));
      group = [];
      groupIds.clear();
    };
    const finish = (n: Node) => {
      done++;
      ready.splice(ready.indexOf(n), 1);
      for (const u of new Set(this.users.get(n.id) ?? [])) {
        const pending = pendingArgs.get(u);
        if (pending === undefined) continue; // not scheduled here
        const left = pending - this.g.todo[position.get(u)!]!.args.filter((a) => a === n.id).length;
        pendingArgs.set(u, left);
        if (left === 0) makeReady(this.g.todo[position.get(u)!]!);
      }
    };
    while (done < this.g.todo.length) {
      const key = (n: Node) => this.shapes[n.id]!.join("x");
      const joins = ready.find((n) => group.length && isElementwise(n.op) && key(n) === groupKey);
      const free = ready.find((n) => !isElementwise(n.op) && !n.args.some((a) => groupIds.has(a)));
      const next = joins ?? free ?? ready[0]!;
      if (next !== joins && next !== free) flush();
      if (isElementwise(next.op)) {
        if (!group.length) groupKey = key(next);
        group.push(next);
        groupIds.add(next.id);
      } else {
        this.emitNode(next);
      }
      finish(next);
    }
    flush();
  }

  private ref(id: NodeId): Ref {
    const r = this.g.refs.get(id);
    if (!r) throw new Error(`internal: no value for node ${id}`);
    return r;
  }

  /** One loop over the group's shape; members used only inside it stay in locals. */
  private emitGroup(members: readonly Node[], ids: ReadonlySet<NodeId>): void {
    const shape = this.shapes[members[0]!.id]!;
    const n = size(shape);
    const body: string[] = [];
    const stores: NodeId[] = [];
    for (const m of members) {
      const args = m.args.map((a) => (ids.has(a) ? `e${a}` : read(this.ref(a), broadcastIndex(this.shapes[a]!, shape))));
      const expr = opInfo[m.op].category === "unary" ? unaryJs[m.op as OpsIn<"unary">](args[0]!) : binaryJs[m.op as OpsIn<"binary">](args[0]!, args[1]!);
      body.push(`const e${m.id} = ${expr};`);
      const outside = this.g.roots.has(m.id) || (this.users.get(m.id) ?? []).some((u) => !ids.has(u)) || this.g.isStatic(m.id);
      if (outside) stores.push(m.id);
    }
    for (const id of stores) {
      const r = this.buffer(id, n);
      this.g.refs.set(id, r);
      body.push(`${read(r, "i")} = e${id};`);
    }
    if (!stores.length) return;
    this.code.push(n === 1 ? `{ const i = 0; ${body.join(" ")} }` : `for (let i = 0; i < ${n}; i++) {\n${body.join("\n")}\n}`);
  }

  private emitNode(n: Node): void {
    const a = n.args.map((x) => this.ref(x));
    const special = this.g.custom?.(n, a, this);
    if (special) {
      this.g.refs.set(n.id, special);
      return;
    }
    if (n.op === Op.Const) {
      this.g.refs.set(n.id, { kind: "scalar", expr: literal(n.attrs.value!) });
      return;
    }
    const view = viewJs[n.op as ViewOp];
    if (view) {
      this.g.refs.set(n.id, view(this, n, a));
      return;
    }
    const compute = computeJs[n.op as ComputeOp];
    if (!compute) throw new Error(`internal: the js target has no code for ${n.op}`);
    const out = this.buffer(n.id, size(this.shapes[n.id]!));
    this.g.refs.set(n.id, out);
    compute(this, n, a, out.kind === "buf" ? out.arr : "");
  }

  /** The shape of argument k of a node. */
  argShape(n: Node, k: number): number[] {
    return this.shapes[n.args[k]!]!;
  }

  /** Appends code run each time. */
  push(...lines: string[]): void {
    for (const l of lines) this.code.push(l);
  }

  /** The product in the WebAssembly kernel, when buffers live in its arena and the sizes suit it. */
  private kernel(m: number, k: number, A: Ref, v: Ref, out: string): string | undefined {
    if (!this.g.alloc.arena || m % 4 !== 0 || k % 4 !== 0 || A.kind !== "buf" || v.kind !== "buf") return undefined;
    return `mv(${address(A)}, ${address(v)}, ${out}.byteOffset, ${m}, ${k});`;
  }

  /**
   * Products. A static matrix times a vector runs row by row over contiguous memory; a vector times a static matrix
   * uses that matrix transposed once, when the weights are set (the layout is chosen here, not per step).
   */
  matmul(n: Node, a: Ref, b: Ref, as: readonly number[], bs: readonly number[], o: string): void {
    const k = as[as.length - 1]!;
    // Four accumulators: the sum is not one chain of dependent additions (sums in float64, as the interpreter's).
    const dot = (row: (q: string) => string, vec: (q: string) => string, into: string) => {
      const main = k - (k % 4);
      if (main === 0) return `let s = 0;\nfor (let q = 0; q < ${k}; q++) s += ${row("q")} * ${vec("q")};\n${into} = s;`;
      const term = (j: number) => `${row(`q + ${j}`)} * ${vec(`q + ${j}`)}`;
      return [
        `let s0 = 0, s1 = 0, s2 = 0, s3 = 0;`,
        `for (let q = 0; q < ${main}; q += 4) { s0 += ${term(0)}; s1 += ${term(1)}; s2 += ${term(2)}; s3 += ${term(3)}; }`,
        ...(main < k ? [`for (let q = ${main}; q < ${k}; q++) s0 += ${row("q")} * ${vec("q")};`] : []),
        `${into} = s0 + s1 + (s2 + s3);`,
      ].join("\n");
    };
    if (as.length === 2 && bs.length === 1) {
      this.code.push(this.kernel(as[0]!, k, a, b, o) ?? matVec(as[0]!, k, a, b, o, dot));
      return;
    }
    if (as.length === 1 && bs.length === 2 && this.g.isStatic(n.args[1]!) && !this.g.isStatic(n.args[0]!)) {
      const m = bs[1]!;
      const t = `${this.prefix}t${n.id}`;
      this.decls.push(`const ${t} = ${this.g.alloc.alloc(k * m)};`, `for (let i = 0; i < ${k}; i++) for (let j = 0; j < ${m}; j++) ${t}[j * ${k} + i] = ${read(b, `i * ${m} + j`)};`);
      const tr: Ref = { kind: "buf", arr: t, off: "0" };
      this.code.push(this.kernel(m, k, tr, a, o) ?? matVec(m, k, tr, a, o, dot));
      return;
    }
    const rows = as.length === 2 ? as[0]! : 1;
    const cols = bs.length === 2 ? bs[1]! : 1;
    this.code.push(`for (let r = 0; r < ${rows}; r++) for (let c = 0; c < ${cols}; c++) {\n${dot((q) => read(a, `r * ${k} + ${q}`), (q) => read(b, `${q} * ${cols} + c`), `${o}[r * ${cols} + c]`)}\n}`);
  }
}

type ViewOp = OpsIn<"slice" | "gather"> | Op.Reshape;
/** Ops that need no buffer of their own: the value is a view into an argument's. */
const viewJs: Record<ViewOp, (e: GraphEmitter, n: Node, a: readonly Ref[]) => Ref> = {
  [Op.Slice]: (e, n, a) => {
    const inner = size(e.argShape(n, 0).slice(1));
    const start = evalDim(n.attrs.start!, e.env)! * inner;
    const src = a[0]!;
    return src.kind === "scalar" ? src : { kind: "buf", arr: src.arr, off: src.off === "0" ? String(start) : start === 0 ? src.off : `${src.off} + ${start}` };
  },
  [Op.Reshape]: (_e, _n, a) => a[0]!,
  [Op.Gather]: (e, n, a) => {
    const [rows, ...rest] = e.argShape(n, 0);
    const inner = size(rest);
    const g = `g${e.prefix}${n.id}`;
    e.push(`const ${g} = ${read(a[1]!, "0")};`, `if (!(${g} >= 0 && ${g} < ${rows} && Math.floor(${g}) === ${g})) throw tokenRangeError(${g}, ${rows});`);
    const t = a[0] as Ref & { kind: "buf" };
    const dyn = inner === 1 ? g : `${g} * ${inner}`;
    return { kind: "buf", arr: t.arr, off: t.off === "0" ? dyn : `${t.off} + ${dyn}` };
  },
};

/** Softmax, log-softmax, sum or mean over the last axis, a row at a time. */
function lastAxisJs(e: GraphEmitter, n: Node, a: readonly Ref[], o: string): void {
  const full = e.argShape(n, 0);
  const len = full[full.length - 1] ?? 1;
  const rows = size(full) / len;
  const x = (k: string) => read(a[0]!, `r * ${len} + ${k}`);
  const loop: string[] = [`for (let r = 0; r < ${rows}; r++) {`];
  if (n.op === Op.Sum || n.op === Op.Mean) {
    loop.push(`let s = 0;`, `for (let j = 0; j < ${len}; j++) s += ${x("j")};`, `${o}[r] = ${n.op === Op.Mean ? `s / ${len}` : "s"};`);
  } else {
    loop.push(`let m = -Infinity;`, `for (let j = 0; j < ${len}; j++) if (${x("j")} > m) m = ${x("j")};`,
      `let z = 0;`, `for (let j = 0; j < ${len}; j++) z += Math.exp(${x("j")} - m);`,
      n.op === Op.Softmax ? `for (let j = 0; j < ${len}; j++) ${o}[r * ${len} + j] = Math.exp(${x("j")} - m) / z;`
        : `const lz = Math.log(z);\nfor (let j = 0; j < ${len}; j++) ${o}[r * ${len} + j] = ${x("j")} - m - lz;`);
  }
  loop.push("}");
  e.push(loop.join("\n"));
}

type ComputeOp = Exclude<StructuralOp, ViewOp>;
/** Ops that write a buffer of their own (`o`, preallocated). */
const computeJs: Record<ComputeOp, (e: GraphEmitter, n: Node, a: readonly Ref[], o: string) => void> = {
  [Op.MatMul]: (e, n, a, o) => e.matmul(n, a[0]!, a[1]!, e.argShape(n, 0), e.argShape(n, 1), o),
  [Op.Concat]: (e, n, a, o) => {
    let at = 0;
    n.args.forEach((x, k) => {
      const m = size(e.shapeOf(x));
      e.push(`for (let i = 0; i < ${m}; i++) ${o}[${at} + i] = ${read(a[k]!, m === 1 ? "0" : "i")};`);
      at += m;
    });
  },
  [Op.Transpose]: (e, n, a, o) => {
    const [r, c] = e.argShape(n, 0) as [number, number];
    e.push(`for (let i = 0; i < ${r}; i++) for (let j = 0; j < ${c}; j++) ${o}[j * ${r} + i] = ${read(a[0]!, `i * ${c} + j`)};`);
  },
  [Op.BroadcastTo]: (e, n, a, o) => {
    const out = e.shapeOf(n.id);
    e.push(`for (let i = 0; i < ${size(out)}; i++) ${o}[i] = ${read(a[0]!, broadcastIndex(e.argShape(n, 0), out))};`);
  },
  [Op.ReduceTo]: (e, n, a, o) => {
    const from = e.argShape(n, 0);
    e.push(`${o}.fill(0);`, `for (let i = 0; i < ${size(from)}; i++) ${o}[${broadcastIndex(e.shapeOf(n.id), from)}] += ${read(a[0]!, "i")};`);
  },
  [Op.OneHot]: (e, n, a, o) => {
    const depth = e.shapeOf(n.id)[0]!;
    const g = `g${e.prefix}${n.id}`;
    e.push(`const ${g} = ${read(a[0]!, "0")};`, `if (!(${g} >= 0 && ${g} < ${depth} && Math.floor(${g}) === ${g})) throw tokenRangeError(${g}, ${depth});`,
      `${o}.fill(0);`, `${o}[${g}] = 1;`);
  },
  [Op.Softmax]: lastAxisJs,
  [Op.LogSoftmax]: lastAxisJs,
  [Op.Sum]: lastAxisJs,
  [Op.Mean]: lastAxisJs,
};
