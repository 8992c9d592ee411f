// The runtime of `rnnc compile --target js` modules with SIMD: the plain runtime plus batches on the fused kernels.
import { BatchedModelRunner, batchedUnsupported } from "../../fused/run-model.js";
import { CompiledJsModel, type JsModuleSpec } from "./runtime.js";

export { tokenRangeError } from "./runtime.js";

/** A module's model; batches of two or more run on the fused kernels where the model allows (no `generate`). */
export function createCompiledModel(spec: JsModuleSpec, options?: { weights?: string | object }): CompiledJsModel {
  return new CompiledJsModel({ ...spec, batched: (ir, env, params) => (batchedUnsupported(ir) ? undefined : new BatchedModelRunner(ir, env, params)) }, options);
}
