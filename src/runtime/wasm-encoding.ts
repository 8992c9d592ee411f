// WebAssembly binary encoding, by hand: LEB128 numbers, sections, and the opcodes rnnc's SIMD kernels use.

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
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
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const str = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

// Opcodes.
export const I32 = 0x7f, V128 = 0x7b;
export const block = 0x02, loop = 0x03, end = 0x0b, br_if = 0x0d, br = 0x0c;
export const get = 0x20, set = 0x21, tee = 0x22;
export const i32c = (n: number) => [0x41, ...sleb(n)];
export const i32add = 0x6a, i32mul = 0x6c, i32shl = 0x74, i32ge_u = 0x4f, i32gt_u = 0x4b;
export const f32add = 0x92, f32store = [0x38, 0x02, 0x00];
export const simd = (op: number, ...rest: number[]) => [0xfd, ...uleb(op), ...rest];
export const v128load = (offset: number) => simd(0x00, 0x00, ...uleb(offset)); // align 1: unaligned loads are allowed
export const f32x4splat0 = [0x43, 0, 0, 0, 0, ...simd(0x13)]; // f32.const 0; f32x4.splat
export const f32x4add = simd(0xe4), f32x4mul = simd(0xe6);
/** f32x4.relaxed_madd (relaxed SIMD): a·b + c, one fused instruction where the machine has one. */
export const f32x4relaxedMadd = simd(0x105);
export const lane = (i: number) => simd(0x1f, i);

export const i32lt_u = 0x49, i32ne = 0x47;
export const f32load = (offset: number) => [0x2a, 0x02, ...uleb(offset)];
export const f32storeAt = (offset: number) => [0x38, 0x02, ...uleb(offset)];
export const v128store = (offset: number) => simd(0x0b, 0x00, ...uleb(offset));
export const f32x4splat = simd(0x13);
/** v128.load32_splat: one 32-bit value from memory into all four lanes. */
export const v128load32splat = (offset: number) => simd(0x09, 0x02, ...uleb(offset));
/** A module importing memory `m.mem` and exporting one function `name` of i32 parameters. */
export function oneFunctionModule(name: string, params: number, locals: readonly [count: number, type: number][], body: readonly number[]): Uint8Array {
  const type = section(1, vec([[0x60, ...vec(Array.from({ length: params }, () => [I32])), 0x00]]));
  const imports = section(2, vec([[...str("m"), ...str("mem"), 0x02, 0x00, 0x00]]));
  const funcs = section(3, vec([[0x00]]));
  const exports = section(7, vec([[...str(name), 0x00, 0x00]]));
  const fn = [...vec(locals.map(([n, t]) => [...uleb(n), t])), ...body];
  const code = section(10, vec([[...uleb(fn.length), ...fn]]));
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...type, ...imports, ...funcs, ...exports, ...code]);
}

/** local.get, local.set and local.tee of local `i` (its index LEB128-encoded: any number of locals). */
export const lget = (i: number): number[] => [get, ...uleb(i)];
export const lset = (i: number): number[] => [set, ...uleb(i)];
export const ltee = (i: number): number[] => [tee, ...uleb(i)];

/** Local `acc` += local `a` · local `b` (f32x4): a fused multiply-add (relaxed SIMD) or a multiply then an add. */
export const multiplyAdd = (acc: number, a: number, b: number, fma: boolean): number[] =>
  fma ? [...lget(a), ...lget(b), ...lget(acc), ...f32x4relaxedMadd, ...lset(acc)] : [...lget(acc), ...lget(a), ...lget(b), ...f32x4mul, ...f32x4add, ...lset(acc)];
