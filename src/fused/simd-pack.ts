// Packing in WebAssembly: operands in the kernel memory laid out as the gemm reads them (panels of columns or of rows).
import { block, br, br_if, end, f32load, f32storeAt, I32, i32add, i32c, i32ge_u, i32mul, lget, loop, lset, oneFunctionModule, V128, v128load, v128store } from "../runtime/wasm-encoding.js";
import type { KernelMemory } from "./kernel-memory.js";

/**
 * `panels(src, dst, rows, count, stride)`: `count` panels of `width` floats (4 or 8) cut from `rows` rows `stride`
 * bytes apart, panel p from column p·width: panel after panel, each its rows one after another. B in panels of 8
 * columns; A stored transposed, [k, m], in panels of 4 rows (its 4 values of a step are side by side).
 */
function panelsBody(width: 4 | 8): number[] {
  const SRC = 0, DST = 1, ROWS = 2, COUNT = 3, STRIDE = 4;
  const P = 5, Q = 6, S = 7, TMP = 8; // TMP: v128
  const copy = (off: number) => [...lget(S), ...v128load(off), ...lset(TMP), ...lget(DST), ...lget(TMP), ...v128store(off)];
  return [
    ...i32c(0), ...lset(P),
    block, 0x40, loop, 0x40,
    ...lget(P), ...lget(COUNT), i32ge_u, br_if, 1,
    ...lget(SRC), ...lset(S),
    ...i32c(0), ...lset(Q),
    block, 0x40, loop, 0x40,
    ...lget(Q), ...lget(ROWS), i32ge_u, br_if, 1,
    ...copy(0), ...(width === 8 ? copy(16) : []),
    ...lget(DST), ...i32c(4 * width), i32add, ...lset(DST),
    ...lget(S), ...lget(STRIDE), i32add, ...lset(S),
    ...lget(Q), ...i32c(1), i32add, ...lset(Q),
    br, 0,
    end, end,
    ...lget(SRC), ...i32c(4 * width), i32add, ...lset(SRC),
    ...lget(P), ...i32c(1), i32add, ...lset(P),
    br, 0,
    end, end,
    end,
  ];
}

/**
 * `rows4(src, dst, count, w, stride)`: `count` panels of 4 rows of a row-major A (rows `stride` bytes apart), `w`
 * floats of each row from `src`: panel after panel, step after step, the 4 rows' floats of a step side by side.
 */
function rows4Body(): number[] {
  const SRC = 0, DST = 1, COUNT = 2, W = 3, STRIDE = 4;
  const P = 5, Q = 6, R0 = 7; // R0 … R0 + 3: the four rows' pointers
  const r = [0, 1, 2, 3];
  return [
    ...i32c(0), ...lset(P),
    block, 0x40, loop, 0x40,
    ...lget(P), ...lget(COUNT), i32ge_u, br_if, 1,
    ...lget(SRC), ...lset(R0),
    ...r.slice(1).flatMap((i) => [...lget(R0 + i - 1), ...lget(STRIDE), i32add, ...lset(R0 + i)]),
    ...i32c(0), ...lset(Q),
    block, 0x40, loop, 0x40,
    ...lget(Q), ...lget(W), i32ge_u, br_if, 1,
    ...r.flatMap((i) => [...lget(DST), ...lget(R0 + i), ...f32load(0), ...f32storeAt(4 * i)]),
    ...r.flatMap((i) => [...lget(R0 + i), ...i32c(4), i32add, ...lset(R0 + i)]),
    ...lget(DST), ...i32c(16), i32add, ...lset(DST),
    ...lget(Q), ...i32c(1), i32add, ...lset(Q),
    br, 0,
    end, end,
    ...lget(R0 + 3), ...lget(STRIDE), i32add, ...lget(W), ...i32c(-4), i32mul, i32add, ...lset(SRC), // row 4p+4, column 0
    ...lget(P), ...i32c(1), i32add, ...lset(P),
    br, 0,
    end, end,
    end,
  ];
}

/**
 * `rows(src, dst, rows, vectors, srcStride, dstStride)`: `rows` rows of `vectors` × 4 floats, each from `src` to `dst`,
 * the two advancing by their strides (bytes): a concatenation's or a slice's rows, copied without a view per row.
 */
function copyRowsBody(): number[] {
  const SRC = 0, DST = 1, ROWS = 2, VECS = 3, SS = 4, DS = 5;
  const R = 6, V = 7, S = 8, D = 9, TMP = 10; // TMP: v128
  return [
    ...i32c(0), ...lset(R),
    block, 0x40, loop, 0x40,
    ...lget(R), ...lget(ROWS), i32ge_u, br_if, 1,
    ...lget(SRC), ...lset(S), ...lget(DST), ...lset(D),
    ...i32c(0), ...lset(V),
    block, 0x40, loop, 0x40,
    ...lget(V), ...lget(VECS), i32ge_u, br_if, 1,
    ...lget(S), ...v128load(0), ...lset(TMP), ...lget(D), ...lget(TMP), ...v128store(0),
    ...lget(S), ...i32c(16), i32add, ...lset(S),
    ...lget(D), ...i32c(16), i32add, ...lset(D),
    ...lget(V), ...i32c(1), i32add, ...lset(V),
    br, 0,
    end, end,
    ...lget(SRC), ...lget(SS), i32add, ...lset(SRC),
    ...lget(DST), ...lget(DS), i32add, ...lset(DST),
    ...lget(R), ...i32c(1), i32add, ...lset(R),
    br, 0,
    end, end,
    end,
  ];
}

type CopyRows = (src: number, dst: number, rows: number, vectors: number, srcStride: number, dstStride: number) => void;
let copyRowsFn: CopyRows | null | undefined;

/**
 * Copies `rows` rows of `n` floats within the kernel memory (offsets and strides in floats) when WebAssembly SIMD is
 * there and n is a multiple of 4; false otherwise (the caller copies them itself).
 */
export function copyRowsInKernel(memory: KernelMemory, src: number, dst: number, rows: number, n: number, srcStride: number, dstStride: number): boolean {
  if (n % 4 !== 0) return false;
  if (copyRowsFn === undefined) {
    try {
      copyRowsFn = memory.instantiate<CopyRows>(oneFunctionModule("copy", 6, [[4, I32], [1, V128]], copyRowsBody()), "copy");
    } catch {
      copyRowsFn = null;
    }
  }
  if (!copyRowsFn) return false;
  copyRowsFn(4 * src, 4 * dst, rows, n / 4, 4 * srcStride, 4 * dstStride);
  return true;
}

type Pack = (src: number, dst: number, a: number, b: number, stride: number) => void;
export interface Packers { readonly panels4: Pack; readonly panels8: Pack; readonly rows4: Pack }

/** The packing functions over `memory` (byte addresses and strides). */
export function packers(memory: KernelMemory): Packers {
  const make = (body: number[], i32s: number, v128s: number) =>
    memory.instantiate<Pack>(oneFunctionModule("pack", 5, [[i32s, I32], ...(v128s ? [[v128s, V128] as [number, number]] : [])], body), "pack");
  return { panels4: make(panelsBody(4), 3, 1), panels8: make(panelsBody(8), 3, 1), rows4: make(rows4Body(), 6, 0) };
}
