// The js target's one WebAssembly kernel, encoded here byte by byte: a float32 matrix-vector product with 128-bit SIMD.

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
/** Signed LEB128 (for i32.const). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const str = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

// Opcodes.
const I32 = 0x7f, V128 = 0x7b;
const block = 0x02, loop = 0x03, end = 0x0b, br_if = 0x0d, br = 0x0c;
const get = 0x20, set = 0x21, tee = 0x22;
const i32c = (n: number) => [0x41, ...sleb(n)];
const i32add = 0x6a, i32mul = 0x6c, i32shl = 0x74, i32ge_u = 0x4f;
const f32add = 0x92, f32store = [0x38, 0x02, 0x00];
const simd = (op: number, ...rest: number[]) => [0xfd, ...uleb(op), ...rest];
const v128load = (offset: number) => simd(0x00, 0x00, ...uleb(offset)); // align 1: unaligned loads are allowed
const f32x4splat0 = [0x43, 0, 0, 0, 0, ...simd(0x13)]; // f32.const 0; f32x4.splat
const f32x4add = simd(0xe4), f32x4mul = simd(0xe6);
const lane = (i: number) => simd(0x1f, i);

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
  const type = section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), 0x00]]));
  const imports = section(2, vec([[...str("m"), ...str("mem"), 0x02, 0x00, 0x00]]));
  const funcs = section(3, vec([[0x00]]));
  const exports = section(7, vec([[...str("mv"), 0x00, 0x00]]));
  const body = matVecBody();
  const locals = vec([[...uleb(7), I32], [...uleb(5), V128]]);
  const fn = [...locals, ...body];
  const code = section(10, vec([[...uleb(fn.length), ...fn]]));
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...type, ...imports, ...funcs, ...exports, ...code]);
}
