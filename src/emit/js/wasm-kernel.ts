// The js target's one WebAssembly kernel, encoded here byte by byte: a float32 matrix-vector product with 128-bit SIMD.
import {
  I32, V128, block, br, br_if, end, f32add, f32store, f32x4add, f32x4mul, f32x4splat0, get, i32add, i32c, i32ge_u, i32mul, i32shl, lane, loop,
  oneFunctionModule, set, tee, v128load,
} from "../../runtime/wasm-encoding.js";

/**
 * `mv(a, x, out, m, k)`: out[r] = Σ_q a[r*k + q] * x[q] for r < m, on byte addresses into the imported memory
 * `m.mem`; m must be a multiple of 4 and k of 4. Four rows at a time share each load of x.
 */
function matVecBody(): number[] {
  // params: 0 a, 1 x, 2 out, 3 m, 4 k. locals: 5 r, 6 q (bytes into the row), 7 rowBytes (k*4), 8..11 row pointers (i32);
  // 12..15 acc0..acc3, 16 xv (v128)
  const A = 0, X = 1, OUT = 2, M = 3, K = 4, R = 5, Q = 6, ROW = 7, P0 = 8, ACC = 12, XV = 16;
  const hsum = (acc: number) => [get, acc, ...lane(0), get, acc, ...lane(1), f32add, get, acc, ...lane(2), get, acc, ...lane(3), f32add, f32add];
  return [
    ...[get, K, ...i32c(2), i32shl, set, ROW],
    ...i32c(0), set, R,
    block, 0x40, loop, 0x40,
    ...[get, R, get, M, i32ge_u, br_if, 1],
    // row pointers
    ...[get, A, get, R, get, ROW, i32mul, i32add, tee, P0],
    ...[get, ROW, i32add, tee, P0 + 1, get, ROW, i32add, tee, P0 + 2, get, ROW, i32add, set, P0 + 3],
    ...[...f32x4splat0, set, ACC, ...f32x4splat0, set, ACC + 1, ...f32x4splat0, set, ACC + 2, ...f32x4splat0, set, ACC + 3],
    ...i32c(0), set, Q,
    block, 0x40, loop, 0x40,
    ...[get, Q, get, ROW, i32ge_u, br_if, 1],
    ...[get, X, get, Q, i32add, ...v128load(0), set, XV],
    ...[0, 1, 2, 3].flatMap((j) => [get, ACC + j, get, P0 + j, get, Q, i32add, ...v128load(0), get, XV, ...f32x4mul, ...f32x4add, set, ACC + j]),
    ...[get, Q, ...i32c(16), i32add, set, Q, br, 0],
    end, end,
    ...[0, 1, 2, 3].flatMap((j) => [get, OUT, get, R, ...i32c(j), i32add, ...i32c(2), i32shl, i32add, ...hsum(ACC + j), ...f32store]),
    ...[get, R, ...i32c(4), i32add, set, R, br, 0],
    end, end,
    end,
  ];
}

/** The kernel module's bytes: imports memory `m.mem`, exports `mv`. */
export function matVecModule(): Uint8Array {
  return oneFunctionModule("mv", 5, [[7, I32], [5, V128]], matVecBody());
}
