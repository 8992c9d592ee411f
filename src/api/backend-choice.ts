// Which engine `run`, `train` and `eval` use when --backend is auto (the default), and why: the fastest that can do the job.

import { gemmUsesFma, simdAvailable } from "../fused/simd-gemm.js";

export type TfBackendName = "tfjs-cpu" | "tfjs-wasm";
export type RunBackendName = "interp" | "fused" | TfBackendName;
export interface Choice<B> { readonly backend: B; readonly why: string }

/** Whether this engine runs WebAssembly SIMD (tfjs' wasm backend and rnnc's fused kernels both need it to be fast). */
function hasWasmSimd(): boolean {
  try {
    // The smallest module using a v128 value: (func (result v128) v128.const 0).
    const bytes = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, ...Array(16).fill(0), 11);
    const wasm = (globalThis as { WebAssembly?: { validate(b: Uint8Array): boolean } }).WebAssembly;
    return wasm?.validate(bytes) ?? false;
  } catch {
    return false;
  }
}

/** train and eval: TensorFlow.js on wasm (the fused kernels in WebAssembly; measured 2–3× tfjs-cpu on the examples). */
export function chooseTfBackend(asked: TfBackendName | "auto"): Choice<TfBackendName> {
  if (asked !== "auto") return { backend: asked, why: "asked for with --backend" };
  return hasWasmSimd()
    ? { backend: "tfjs-wasm", why: "auto: WebAssembly SIMD is here, and tfjs-wasm runs the examples 2–3× faster than tfjs-cpu" }
    : { backend: "tfjs-cpu", why: "auto: this engine has no WebAssembly SIMD" };
}

export type TrainBackendName = "fused" | TfBackendName;

/**
 * train: the whole model on the fused kernels where they can take it (forward, loss, backward and the optimizer
 * without tfjs; measured ~1.7× tfjs-wasm on g2p), else TensorFlow.js as chooseTfBackend picks it.
 */
export function chooseTrainBackend(asked: TrainBackendName | "auto", fusedCannot: () => string | undefined, flags: { passes?: boolean; fused?: boolean; disablePass?: readonly string[] | undefined }): Choice<TrainBackendName> {
  if (asked === "fused") return { backend: "fused", why: "asked for with --backend" };
  if (asked !== "auto") return chooseTfBackend(asked);
  const tfjs = (why: string): Choice<TrainBackendName> => {
    const c = chooseTfBackend("auto");
    return { backend: c.backend, why: `${why}; ${c.why}` };
  };
  if (flags.fused === false) return tfjs("auto: --no-fused trains on TensorFlow.js, every scan op by op");
  if (flags.passes === false || flags.disablePass?.length) return tfjs("auto: the pass flags shape TensorFlow.js' lowering, so it trains");
  if (!hasWasmSimd()) return tfjs("auto: this engine has no WebAssembly SIMD for the fused kernels");
  const why = fusedCannot();
  if (why) return tfjs(`auto: the fused kernels cannot train this model whole (${why})`);
  return { backend: "fused", why: "auto: the whole model trains on the fused kernels (forward, loss, backpropagation and the optimizer in WebAssembly SIMD and JS, without tfjs)" };
}

/** eval: an output on the fused kernels where they can compute it (everything it reads batched), else TensorFlow.js. */
export function chooseEvalBackend(asked: TrainBackendName | "auto", fusedCannot: () => string | undefined): Choice<TrainBackendName> {
  if (asked === "fused") return { backend: "fused", why: "asked for with --backend" };
  if (asked !== "auto") return chooseTfBackend(asked);
  if (!hasWasmSimd()) return chooseTfBackend("auto");
  const why = fusedCannot();
  if (why) {
    const c = chooseTfBackend("auto");
    return { backend: c.backend, why: `auto: the fused kernels cannot compute this output (${why}); ${c.why}` };
  }
  return { backend: "fused", why: "auto: the fused kernels compute the output for the whole batch at once in WebAssembly SIMD" };
}

/** run: a model on the fused kernels over the whole batch where they can take it, else the reference interpreter. */
export function chooseRunBackend(asked: RunBackendName | "auto", target: { kind: "model"; fusedCannot: () => string | undefined } | { kind: "cell" }, precision: "f32" | "f64"): Choice<RunBackendName> {
  if (asked !== "auto") return { backend: asked, why: "asked for with --backend" };
  if (precision === "f64") return { backend: "interp", why: "auto: float64 runs on the reference interpreter" };
  if (target.kind === "cell") return { backend: "interp", why: "auto: a cell runs on the reference interpreter" };
  const why = target.fusedCannot();
  if (why) return { backend: "interp", why: `auto: the fused kernels cannot run this model whole (${why}), the reference interpreter can` };
  if (!hasWasmSimd()) return { backend: "interp", why: "auto: this engine has no WebAssembly SIMD for the fused kernels" };
  return { backend: "fused", why: "auto: the fused kernels run the whole batch at once in WebAssembly SIMD (the interpreter's results within float32 rounding)" };
}

/** For --explain: what the fused kernels' matrix products run on here. */
export function productsExplained(): string {
  if (!simdAvailable()) return "matrix products: plain JS (this engine has no WebAssembly SIMD)";
  return gemmUsesFma()
    ? "matrix products: WebAssembly SIMD with fused multiply-adds (relaxed SIMD; RNNC_NO_FMA=1 for a multiply and an add)"
    : `matrix products: WebAssembly SIMD, a multiply and an add (${process.env["RNNC_NO_FMA"] ? "RNNC_NO_FMA is set" : "this engine has no relaxed SIMD"})`;
}
