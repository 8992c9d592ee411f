// The kernels against the machine: the measured WebAssembly SIMD peak, the gemm at the shapes a scan uses, and the fused
// scans' forward and backward passes, in GFLOP/s and as a share of that peak.
import { beginFixedScope, fixedMat, gemm, mat } from "../fused/gemm.js";
import { gemmUsesFma } from "../fused/simd-gemm.js";
import { FusedScan } from "../fused/scan.js";
import type { ModelIR } from "../ir/ir.js";
import { stopScanHelper } from "../node/scan-helper.js";
import { optimize } from "../passes/pipeline.js";
import { layerEnv } from "../runtime/dims.js";
import { initParams, modelParamSpecs } from "../weights/weights.js";
import { simdPeakGflops } from "./peak.js";

type Timer = (f: () => unknown, reps: number, warmup?: number) => Promise<number>;

export interface KernelRow { readonly what: string; readonly ms: number; readonly gflops: number; readonly ofPeak: number }
/** `peak`: of the instructions the kernels use (fused multiply-adds when `fma`); `plainPeak`: of multiplies and adds. */
export interface KernelBench { readonly peak: number; readonly plainPeak: number; readonly fma: boolean; readonly rows: readonly KernelRow[] }

export async function benchKernels(models: Record<"LSTM" | "GRU", ModelIR>, time: Timer, reps: number): Promise<KernelBench | undefined> {
  const plainPeak = simdPeakGflops();
  if (plainPeak === undefined) return undefined;
  const fma = gemmUsesFma();
  const peak = fma ? simdPeakGflops(5, true)! : plainPeak;
  await stopScanHelper();
  const rows: KernelRow[] = [];
  const row = (what: string, ms: number, flops: number) => rows.push({ what, ms, gflops: flops / ms / 1e6, ofPeak: flops / ms / 1e6 / peak });
  const B = 32, T = 100, I = 64, H = 128;
  // The products of an LSTM scan, with the operands the kernels give them: per step [B, H]·[H, 4H] against a weight
  // (packed once per call); hoisted [T·B, I]·[I, 4H] against a weight; per backward step dh = dgates·W_h, [B, 4H]·[4H, H]
  // against a weight; the weight gradient hᵀ·dgates, [H, T·B]·[T·B, 4H], of two per-call values (A read transposed).
  const products = [
    { m: B, n: 4 * H, k: H, what: "recurrent product, per step", weight: true, aT: false, calls: T },
    { m: T * B, n: 4 * H, k: I, what: "hoisted input product", weight: true, aT: false, calls: 1 },
    { m: B, n: H, k: 4 * H, what: "state gradient, per backward step", weight: true, aT: false, calls: T },
    { m: H, n: 4 * H, k: T * B, what: "weight gradient", weight: false, aT: true, calls: 1 },
  ];
  // A per-step product is timed as a scan makes it, T calls in a row (one call alone times the engine's first tier).
  for (const { m, n, k, what, weight, aT, calls } of products) {
    const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i));
    const c = new Float32Array(m * n);
    beginFixedScope();
    const bm = weight ? fixedMat(b) : mat(b);
    const ms = await time(() => { for (let s = 0; s < calls; s++) gemm(m, n, k, mat(a, 0, aT), bm, c); }, reps);
    row(`gemm ${m}×${k} · ${k}×${n} (${what})`, ms / calls, 2 * m * n * k);
  }
  const env = new Map([["I", I], ["H", H]]);
  for (const cell of ["LSTM", "GRU"] as const) {
    const ir = models[cell];
    const layer = ir.layers[0]!;
    const kernel = new FusedScan(optimize(layer.ir), layerEnv(layer, env));
    const params = new Map([...initParams(modelParamSpecs(ir, env), 1)].filter(([k]) => k.startsWith(`${layer.name}.`)).map(([k, t]) => [k.slice(layer.name.length + 1), t.data as Float32Array]));
    const x = Float32Array.from({ length: T * B * I }, (_, i) => Math.sin(i * 0.37));
    const gates = cell === "LSTM" ? 4 : 3;
    const flops = 2 * T * B * (I + H) * gates * H; // the products of a forward pass (elementwise work left out)
    row(`${cell} fused forward (batch ${B}, ${T} steps, input ${I}, hidden ${H})`, await time(() => kernel.forward(params, { T, B, xs: [x] }, false), reps), flops);
    const dy = new Float32Array(T * B * H).fill(0.01);
    // Each tape given back at once (no backward pass reads it here), as a backward pass would give it back.
    row(`${cell} fused forward, keeping what the backward pass reads`, await time(() => kernel.discard(kernel.forward(params, { T, B, xs: [x] }, true).tape), reps), flops);
    // A tape is read by one backward pass: each timed backward pass reads a tape made just before it, outside the timing.
    const backwardMs: number[] = [];
    for (let r = 0; r < reps + 5; r++) {
      const out = kernel.forward(params, { T, B, xs: [x] }, true);
      const t0 = performance.now();
      kernel.backward(params, out.tape, [dy], new Map());
      if (r >= 5) backwardMs.push(performance.now() - t0); // the first five warm up
    }
    row(`${cell} fused backward (input, state and weight gradients: twice the forward's products)`, backwardMs.sort((a, b) => a - b)[backwardMs.length >> 1]!, 2 * flops);
  }
  return { peak, plainPeak, fma, rows };
}
