// A register-blocked float32 matrix product in WebAssembly SIMD: 4 rows × 8 columns of C in registers over the inner dimension.
import {
  block, br, br_if, end, I32, i32add, i32c, i32ge_u, i32mul, i32ne, i32shl, lget, loop, lset, multiplyAdd, oneFunctionModule, V128, v128load, v128load32splat, v128store,
} from "../runtime/wasm-encoding.js";
import { kernelMemory, relaxedSimdAvailable, type KernelMemory } from "./kernel-memory.js";
import { packers, type Packers } from "./simd-pack.js";
import { versionOf } from "./weight-versions.js";

/**
 * `gemm(a, b, c, m, n, k, init, initStride)`: C[m, n] += A[m, k] · B[k, n] (init ≠ -1: C = R + A·B, C not read, R's
 * row i at byte address init + i·initStride: a row of n floats added to every row with stride 0, a matrix laid out
 * as C with stride 4n), byte addresses into `m.mem`; C row-major; A packed in panels of MR
 * rows (panel i/MR: its k steps of MR floats side by side, read through one pointer); B `packed` in panels of 8
 * columns (panel p: its k rows of 8 floats one after another, so the inner loop reads B contiguously, as XNNPACK's
 * packed weights) or row-major (a B used once, where packing would cost as much as it saves); m a multiple of MR, n
 * of 8. Each step of the inner loop loads 8 floats of B once and MR of A, for 8·MR multiply-adds, and moves two
 * pointers: measured on V8, one pointer for A runs ~10% faster than a pointer per row, and unrolling it slower.
 */
function gemmBody(MR: number, packed: boolean, fma: boolean): number[] {
  const A = 0, B = 1, C = 2, M = 3, N = 4, K = 5, INIT = 6, ISTRIDE = 7;
  const I = 8, J = 9, NB = 10, AP = 11, BP = 12, CP = 13, AEND = 14, APANEL = 15; // i32 locals
  const ACC = 16, B0 = ACC + 2 * MR, B1 = B0 + 1, AV = B0 + 2; // v128 locals (ACC: 2 per row)
  const acc = (r: number, h: number) => ACC + 2 * r + h;
  const cRow = (r: number) => [...lget(CP), ...Array.from({ length: r }, () => [...lget(NB), i32add]).flat()];
  const rows = Array.from({ length: MR }, (_, r) => r);
  /** One step of the inner dimension: 8 floats of B at BP, MR floats of A at AP. */
  const step = [
    ...lget(BP), ...v128load(0), ...lset(B0),
    ...lget(BP), ...v128load(16), ...lset(B1),
    ...rows.flatMap((r) => [
      ...lget(AP), ...v128load32splat(4 * r), ...lset(AV), // one instruction: load a float of A into all four lanes
      ...multiplyAdd(acc(r, 0), AV, B0, fma),
      ...multiplyAdd(acc(r, 1), AV, B1, fma),
    ]),
  ];
  return [
    ...lget(N), ...i32c(2), i32shl, ...lset(NB),
    ...lget(A), ...lset(APANEL),
    ...i32c(0), ...lset(I),
    block, 0x40, loop, 0x40,
    ...lget(I), ...lget(M), i32ge_u, br_if, 1,
    ...lget(APANEL), ...lget(K), ...i32c(4 * MR), i32mul, i32add, ...lset(AEND), // the panel's k steps of MR floats
    ...i32c(0), ...lset(J),
    block, 0x40, loop, 0x40,
    ...lget(J), ...lget(NB), i32ge_u, br_if, 1,
    ...lget(C), ...lget(I), ...lget(NB), i32mul, i32add, ...lget(J), i32add, ...lset(CP),
    // The tile starts from C, or (INIT ≠ -1) from the rows at INIT (row I+r at INIT + (I+r)·ISTRIDE: 0 for one row).
    ...lget(INIT), ...i32c(-1), i32ne, 0x04, 0x40, // if
    ...rows.flatMap((r) => [
      ...lget(INIT), ...lget(I), ...(r ? [...i32c(r), i32add] : []), ...lget(ISTRIDE), i32mul, i32add, ...lget(J), i32add, ...lset(AP), // AP as a scratch address
      ...lget(AP), ...v128load(0), ...lset(acc(r, 0)), ...lget(AP), ...v128load(16), ...lset(acc(r, 1)),
    ]),
    0x05, // else
    ...rows.flatMap((r) => [...cRow(r), ...v128load(0), ...lset(acc(r, 0)), ...cRow(r), ...v128load(16), ...lset(acc(r, 1))]),
    end,
    ...(packed ? [...lget(B), ...lget(J), ...lget(K), i32mul, i32add, ...lset(BP)] // panel J/32 starts J·k bytes in
      : [...lget(B), ...lget(J), i32add, ...lset(BP)]), // row-major: column J/4 of the first row
    ...lget(APANEL), ...lset(AP),
    block, 0x40, loop, 0x40,
    ...lget(AP), ...lget(AEND), i32ge_u, br_if, 1,
    ...step,
    ...lget(AP), ...i32c(4 * MR), i32add, ...lset(AP),
    ...lget(BP), ...(packed ? i32c(32) : lget(NB)), i32add, ...lset(BP),
    br, 0,
    end, end,
    ...rows.flatMap((r) => [...cRow(r), ...lget(acc(r, 0)), ...v128store(0), ...cRow(r), ...lget(acc(r, 1)), ...v128store(16)]),
    ...lget(J), ...i32c(32), i32add, ...lset(J),
    br, 0,
    end, end,
    ...lget(I), ...i32c(MR), i32add, ...lset(I),
    ...lget(AEND), ...lset(APANEL), // the next panel starts where this one ends
    br, 0,
    end, end,
    end,
  ];
}

/** Rows of C the kernel holds in registers (two f32x4 each): measured, 5 and 6 spill in V8 and run slower. */
const MR = 4;

type GemmFn = (a: number, b: number, c: number, m: number, n: number, k: number, init: number, initStride: number) => void;

interface Kernels { readonly fn: GemmFn; readonly rowMajor: GemmFn; readonly pack: Packers; readonly memory: KernelMemory }

/** The compiled kernels (in the thread's kernel memory), with fused multiply-adds where the engine has them; null where WebAssembly SIMD is missing. */
let kernel: { plain: Kernels; fma: Kernels | undefined } | null | undefined;
/** Whether products use the fused multiply-add kernels when there are any (tests compare both). */
let fmaWanted = true;

function load(): Kernels | undefined {
  if (kernel === undefined) {
    try {
      const memory = kernelMemory()!;
      const make = (packed: boolean, fma: boolean) => memory.instantiate<GemmFn>(oneFunctionModule("gemm", 8, [[8, I32], [2 * MR + 3, V128]], gemmBody(MR, packed, fma)), "gemm");
      const pack = packers(memory);
      const fma = relaxedSimdAvailable() ? { fn: make(true, true), rowMajor: make(false, true), pack, memory } : undefined;
      kernel = { plain: { fn: make(true, false), rowMajor: make(false, false), pack, memory }, fma };
    } catch {
      kernel = null;
    }
  }
  if (!kernel) return undefined;
  return fmaWanted && kernel.fma ? kernel.fma : kernel.plain;
}

/** Products on the fused multiply-add kernels (the default where the engine has relaxed SIMD) or on multiplies and adds. */
export function setFma(on: boolean): void {
  fmaWanted = on;
}

/** Whether products run on fused multiply-adds (relaxed SIMD), for --explain and the bench. */
export const gemmUsesFma = (): boolean => load() !== undefined && fmaWanted && kernel?.fma !== undefined;

/** Whether the SIMD kernel is there (every size fits: edges are padded with zeros). */
export const simdAvailable = (): boolean => load() !== undefined;

const up = (x: number, to: number) => Math.ceil(x / to) * to;

/** Fixed matrices (weights) kept in the kernel memory during a kernel call, so each step does not copy them again. */
const FIXED_LIMIT = 1 << 26; // floats of kernel memory in use past which a fixed matrix is copied at each use instead
let fixedAt = new WeakMap<Float32Array, Map<string, number>>();
/** Fixed matrices as packed, across calls: valid while the array's version is (weights written in place get a new one). */
const packedKept = new WeakMap<Float32Array, Map<string, { version: number; data: Float32Array }>>();

/**
 * A kernel call starts: the kernel memory starts over (nothing an earlier call left there is kept) and every fixed
 * matrix is forgotten (arrays from earlier calls may have changed since).
 */
export function forgetFixedInKernel(): void {
  fixedAt = new WeakMap();
  kernelMemory()?.release(0);
}

/**
 * Where a fixed B (k × n from `off`, packed in panels of N/8) lives in the kernel memory, packed there on first use.
 * `t`: B is stored transposed, as the rows of an [n, stride] matrix, and its k rows here start at column `off`.
 */
function fixedPlace(b: Float32Array, off: number, k: number, n: number, N: number, memory: KernelMemory, t = false, stride = 0): number {
  const key = `${t ? "t" : ""}${off}:${k}:${n}`;
  const known = fixedAt.get(b)?.get(key);
  if (known !== undefined) return known;
  const at = memory.alloc(k * N);
  // Packed once per version of the weights (see weight-versions.ts), copied into the kernel memory at each call.
  const kept = packedKept.get(b)?.get(key);
  if (kept && kept.version === versionOf(b)) memory.heap.set(kept.data, at);
  else {
    if (t) packPanelsTransposed(memory.heap, at, b, off, k, n, N, stride);
    else packPanels(memory.heap, at, b, off, k, n, N);
    let byKey = packedKept.get(b);
    if (!byKey) packedKept.set(b, (byKey = new Map()));
    // The array of the version before is written over (weights change at every update: no new array each time).
    const data = kept && kept.data.length === k * N ? kept.data : new Float32Array(k * N);
    data.set(memory.heap.subarray(at, at + k * N));
    byKey.set(key, { version: versionOf(b), data });
  }
  let byKey = fixedAt.get(b);
  if (!byKey) fixedAt.set(b, (byKey = new Map()));
  byKey.set(key, at);
  return at;
}

/** Panels of 8 columns of B = Mᵀ, M [n, stride] row-major, B's k rows from M's column `off` (zero-padded to N columns). */
function packPanelsTransposed(heap: Float32Array, at: number, m: Float32Array, off: number, k: number, n: number, N: number, stride: number): void {
  for (let j0 = 0; j0 < N; j0 += 8) {
    const base = at + j0 * k; // panel j0/8: k rows of 8
    if (j0 + 8 <= n) {
      // A whole panel: each of its rows written in turn from eight rows of M read side by side (2.5× the loop below).
      const r0 = j0 * stride + off, r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride, r4 = r3 + stride, r5 = r4 + stride, r6 = r5 + stride, r7 = r6 + stride;
      for (let q = 0, d = base; q < k; q++, d += 8) {
        heap[d] = m[r0 + q]!; heap[d + 1] = m[r1 + q]!; heap[d + 2] = m[r2 + q]!; heap[d + 3] = m[r3 + q]!;
        heap[d + 4] = m[r4 + q]!; heap[d + 5] = m[r5 + q]!; heap[d + 6] = m[r6 + q]!; heap[d + 7] = m[r7 + q]!;
      }
      continue;
    }
    for (let j = 0; j < 8; j++) {
      if (j0 + j >= n) {
        for (let q = 0; q < k; q++) heap[base + q * 8 + j] = 0;
        continue;
      }
      for (let q = 0, s = (j0 + j) * stride + off; q < k; q++, s++) heap[base + q * 8 + j] = m[s]!;
    }
  }
}

/** k rows of n floats from `src` (row-major) into panels of 8 columns at `at` (N/8 panels of k × 8, zero-padded). */
function packPanels(heap: Float32Array, at: number, src: Float32Array, off: number, k: number, n: number, N: number): void {
  for (let p = 0, j0 = 0; j0 < N; p++, j0 += 8) {
    const base = at + p * k * 8;
    const w = Math.min(8, n - j0);
    if (w === 8) for (let q = 0; q < k; q++) {
      const s = off + q * n + j0, d = base + q * 8;
      heap[d] = src[s]!; heap[d + 1] = src[s + 1]!; heap[d + 2] = src[s + 2]!; heap[d + 3] = src[s + 3]!;
      heap[d + 4] = src[s + 4]!; heap[d + 5] = src[s + 5]!; heap[d + 6] = src[s + 6]!; heap[d + 7] = src[s + 7]!;
    }
    else for (let q = 0; q < k; q++) for (let j = 0; j < 8; j++) heap[base + q * 8 + j] = j < w ? src[off + q * n + j0 + j]! : 0;
  }
}

/** k rows of n floats from `src` into rows of N (zero-padded) at `at`. */
function copyPadded(heap: Float32Array, at: number, src: Float32Array, off: number, k: number, n: number, N: number): void {
  if (N === n) {
    heap.set(src.subarray(off, off + k * n), at);
    return;
  }
  for (let q = 0; q < k; q++) {
    heap.set(src.subarray(off + q * n, off + (q + 1) * n), at + q * N);
    heap.fill(0, at + q * N + n, at + (q + 1) * N);
  }
}

/** Rows of the inner dimension per pass: B's block stays in cache while every row of A goes by (long sums thrash it). */
const KC = 128;

/** Columns q0 … q0+w-1 of A (row-major [m, k], or stored transposed as [k, m]) into panels of MR rows at `at` (zero-padded to M rows). */
function packA(heap: Float32Array, at: number, src: Float32Array, off: number, t: boolean, m: number, k: number, q0: number, w: number, M: number): void {
  for (let i0 = 0; i0 < M; i0 += MR) {
    const base = at + i0 * w;
    for (let r = 0; r < MR; r++) {
      const i = i0 + r;
      if (i >= m) for (let q = 0; q < w; q++) heap[base + q * MR + r] = 0;
      else if (t) for (let q = 0, s = off + q0 * m + i; q < w; q++, s += m) heap[base + q * MR + r] = src[s]!;
      else for (let q = 0, s = off + i * k + q0; q < w; q++, s++) heap[base + q * MR + r] = src[s]!;
    }
  }
}

/** Rows of A from which a B that changes from call to call is packed too (it then serves M/MR row blocks). */
const PACK_B_ROWS = 16;

/**
 * C[m, n] = A·B (or += with `accumulate`) with A row-major or (`aT`) stored transposed, B row-major, from their
 * offsets (`bT`: a fixed B stored transposed, packed from there; false, nothing done, where it cannot be), in the
 * SIMD kernel. Sizes that are not multiples of MR rows and 8 columns run padded with zero rows and columns. A is packed in panels of MR rows, B in panels of 8 columns (a `bFixed` B, one that will not change, such
 * as a weight within one kernel call, once per call; another B for each product, unless A has too few rows for that
 * to pay, when the kernel reads it row-major). Packing runs in WebAssembly from the kernel memory: an operand that
 * lives elsewhere is copied there first (one copy). Long inner dimensions run in blocks of KC, C staying in the
 * kernel memory between them. A C that is a view of the kernel memory (a value kept there by a kernel call) is
 * written in place when its layout allows.
 */
export function simdGemm(m: number, n: number, k: number, a: Float32Array, aOff: number, aT: boolean, b: Float32Array, bOff: number, c: Float32Array, cOff: number, accumulate: boolean, bFixed = false, rowInit?: Float32Array, bT = false, initRows = false): boolean {
  // A B stored transposed is packed from where it is only as a fixed B with room; otherwise the caller transposes it.
  if (bT && (!bFixed || load()!.memory.offsetOf(b) !== undefined || load()!.memory.top + k * up(n, 8) > FIXED_LIMIT)) return false;
  const kern = load()!;
  const mem = kern.memory;
  const M = up(m, MR), N = up(n, 8);
  const kc = Math.min(k, KC);
  // Offsets of operands that are views of the kernel memory, read before anything here grows it (growing loses views).
  const held = (x: Float32Array, off: number) => { const at = mem.offsetOf(x); return at === undefined ? undefined : at + off; };
  const aHeld = held(a, aOff), bHeld = held(b, bOff), cHeld = held(c, cOff), initHeld = rowInit && initRows ? held(rowInit, 0) : undefined;
  const fixed = bFixed && bHeld === undefined && mem.top + k * N <= FIXED_LIMIT;
  const packB = !fixed && M >= PACK_B_ROWS;
  const bIn = !fixed && !packB && bHeld !== undefined && N === n; // read row-major where it is, a block of rows at a time
  const cIn = cHeld !== undefined && M === m && N === n;
  // A is packed by WebAssembly in whole panels of MR rows: with m not a multiple of MR, the last panel reads the floats
  // past A's end (`aTail` of them) into rows of C that are dropped, so A is read where it is when they are in the
  // memory, else copied with zeros after it. B likewise when it is packed whole, else by JS from where it is.
  const aTail = aT ? M - m : (M - m) * k;
  const aWasm = aHeld === undefined || aHeld + m * k + aTail <= mem.heap.length, bWasm = packB && N === n;
  const bPlaces = fixed ? Array.from({ length: Math.ceil(k / kc) }, (_, p) => (bT ? fixedPlace(b, bOff + p * kc, Math.min(kc, k - p * kc), n, N, mem, true, k)
    : fixedPlace(b, bOff + p * kc * n, Math.min(kc, k - p * kc), n, N, mem))) : [];
  const mark = mem.top;
  const aSrc = aWasm ? aHeld ?? mem.alloc(m * k + aTail) : -1;
  const bSrc = bWasm ? bHeld ?? mem.alloc(k * n) : -1;
  const aAt = mem.alloc(M * kc);
  const bAt = fixed ? -1 : bIn ? bHeld : mem.alloc(kc * N);
  const cAt = cIn ? cHeld : mem.alloc(M * N);
  // Unless C is added to, its tiles start from a row (zeros, or the row given) or from the rows given (`initRows`: m
  // rows, read where they are when they are in the kernel memory laid out as C) in the first block: C is not filled first.
  const initInPlace = initHeld !== undefined && N === n && M === m;
  const initAt = accumulate || k === 0 ? -1 : initInPlace ? initHeld : mem.alloc(rowInit && initRows ? M * N : N);
  const initStride = rowInit && initRows ? 4 * N : 0;
  const heap = mem.heap;
  // Each operand as an array and an offset, views of the kernel memory taken again now.
  const [A, aO] = aHeld === undefined ? [a, aOff] : [heap, aHeld];
  const [Bm, bO] = bHeld === undefined ? [b, bOff] : [heap, bHeld];
  const [C, cO] = cHeld === undefined ? [c, cOff] : [heap, cHeld];
  if (aWasm && aHeld === undefined) {
    heap.set(A.subarray(aO, aO + m * k), aSrc);
    heap.fill(0, aSrc + m * k, aSrc + m * k + aTail);
  }
  if (bWasm && bHeld === undefined) heap.set(Bm.subarray(bO, bO + k * n), bSrc);
  const [I0, iO] = initHeld === undefined ? [rowInit, 0] : [heap, initHeld];
  if (initAt >= 0 && initRows && rowInit) {
    if (!initInPlace) {
      copyPadded(heap, initAt, I0!, iO, m, n, N);
      heap.fill(0, initAt + m * N, initAt + M * N);
    }
  } else if (initAt >= 0) {
    if (rowInit) heap.set(rowInit.subarray(0, n), initAt);
    else heap.fill(0, initAt, initAt + n);
    heap.fill(0, initAt + n, initAt + N);
  } else if (!cIn) {
    if (accumulate && N === n) heap.set(C.subarray(cO, cO + m * n), cAt);
    else heap.fill(0, cAt, cAt + M * N);
  } else if (!accumulate) heap.fill(0, cAt, cAt + m * n);
  if (k === 0 && rowInit && !accumulate) for (let i = 0; i < (initRows ? m : M); i++) heap.set(I0!.subarray(iO + (initRows ? i * n : 0), iO + (initRows ? i * n : 0) + n), cAt + i * N); // no product: C is the row(s)
  for (let q0 = 0, p = 0; q0 < k; q0 += kc, p++) {
    const w = Math.min(kc, k - q0);
    if (!aWasm) packA(heap, aAt, A, aO, aT, m, k, q0, w, M);
    else if (aT) kern.pack.panels4(4 * (aSrc + q0 * m), 4 * aAt, w, M / MR, 4 * m);
    else kern.pack.rows4(4 * (aSrc + q0), 4 * aAt, M / MR, w, 4 * k);
    if (bWasm) kern.pack.panels8(4 * (bSrc + q0 * n), 4 * bAt, w, N / 8, 4 * n);
    else if (packB) packPanels(heap, bAt, Bm, bO + q0 * n, w, n, N);
    else if (!fixed && !bIn) copyPadded(heap, bAt, Bm, bO + q0 * n, w, n, N);
    (fixed || packB ? kern.fn : kern.rowMajor)(4 * aAt, 4 * (fixed ? bPlaces[p]! : bIn ? bAt + q0 * n : bAt), 4 * cAt, M, N, w, p === 0 && initAt >= 0 ? 4 * initAt : -1, initStride);
  }
  if (!cIn) {
    if (N === n) C.set(heap.subarray(cAt, cAt + m * n), cO);
    else for (let i = 0; i < m; i++) {
      const row = heap.subarray(cAt + i * N, cAt + i * N + n);
      if (accumulate) for (let j = 0; j < n; j++) C[cO + i * n + j] += row[j]!;
      else C.set(row, cO + i * n);
    }
  }
  mem.release(mark);
  return true;
}
