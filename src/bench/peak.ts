// This machine's WebAssembly SIMD peak, measured: a register-only loop of f32x4 multiplies and adds over independent
// accumulators (no memory traffic; the best of 8, 10 and 12 of them), the ceiling every kernel's GFLOP/s is reported against
// (with relaxed SIMD, the same loop of fused multiply-adds: the ceiling of kernels that use them).
import { block, br, br_if, end, I32, i32add, i32c, i32ge_u, lget, loop, lset, multiplyAdd, oneFunctionModule, simd, V128, v128store } from "../runtime/wasm-encoding.js";
import { kernelMemory, relaxedSimdAvailable } from "../fused/kernel-memory.js";

/** `peak(iterations, out)`: `accumulators` × (mul + add) per iteration; the sums stored at `out` so nothing is dead. */
function peakBody(accumulators: number, fma: boolean): number[] {
  const N = 0, OUT = 1, Q = 2, X = 3, Y = 4, ACC = 5;
  const splat = (v: number) => [...i32c(v), ...simd(0x11)]; // i32x4.splat: any bits will do, then used as floats
  return [
    ...splat(0x3f800001), ...lset(X), ...splat(0x3f7ffffe), ...lset(Y),
    ...Array.from({ length: accumulators }, (_, k) => [...splat(k), ...lset(ACC + k)]).flat(),
    ...i32c(0), ...lset(Q),
    block, 0x40, loop, 0x40,
    ...lget(Q), ...lget(N), i32ge_u, br_if, 1,
    ...Array.from({ length: accumulators }, (_, k) => multiplyAdd(ACC + k, X, Y, fma)).flat(),
    ...lget(Q), ...i32c(1), i32add, ...lset(Q),
    br, 0,
    end, end,
    ...Array.from({ length: accumulators }, (_, k) => [...lget(OUT), ...lget(ACC + k), ...v128store(16 * k)]).flat(),
    end,
  ];
}

/**
 * The measured peak in GFLOP/s (the best of `runs` for each number of accumulators), of multiplies and adds or (`fma`)
 * of relaxed SIMD's fused multiply-adds; undefined where the engine lacks them.
 */
export function simdPeakGflops(runs = 5, fma = false): number | undefined {
  const memory = kernelMemory();
  if (!memory || (fma && !relaxedSimdAvailable())) return undefined;
  let best = 0;
  for (const accumulators of [8, 10, 12]) {
    const fn = memory.instantiate<(n: number, out: number) => void>(oneFunctionModule("peak", 2, [[1, I32], [2 + accumulators, V128]], peakBody(accumulators, fma)), "peak");
    const out = 4 * memory.alloc(4 * accumulators);
    const iterations = 2_000_000;
    fn(iterations, out); // warm-up: the optimized tier
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      fn(iterations, out);
      best = Math.max(best, (iterations * accumulators * 8) / ((performance.now() - t0) / 1000) / 1e9);
    }
    memory.release(0);
  }
  return best;
}
