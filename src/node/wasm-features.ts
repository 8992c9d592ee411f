// WebAssembly features Node.js 20 has but does not turn on: rnnc's own processes turn them on before any kernel is compiled.
import { setFlagsFromString } from "node:v8";
import { relaxedSimdAvailable } from "../fused/kernel-memory.js";
import { setFma } from "../fused/simd-gemm.js";

/**
 * Turns on relaxed SIMD (fused multiply-adds: ~23% more arithmetic per second in the matrix products on this kind of
 * machine) where the engine has it behind a flag, as Node.js 20 does; browsers and Node.js 22 ship it. Call before
 * the first kernel is compiled. `RNNC_NO_FMA=1` leaves it off (products then round after each multiply, as before).
 * Returns whether the kernels can use it.
 */
export function enableRelaxedSimd(): boolean {
  if (process.env["RNNC_NO_FMA"]) {
    setFma(false);
    return false;
  }
  if (!relaxedSimdAvailable()) setFlagsFromString("--experimental-wasm-relaxed-simd");
  return relaxedSimdAvailable();
}
