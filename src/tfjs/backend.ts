// Chooses the tfjs backend (cpu, or wasm from the package's own .wasm files: nothing is downloaded).
import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export type TfBackend = "tfjs-cpu" | "tfjs-wasm";

let wasmReady = false;

/**
 * The lowering choices measured best per backend (npm run bench). On tfjs' cpu backend a slice along the last axis
 * copies element by element, so stacking gate weights into one product and slicing the gates apart costs more than
 * it saves; the fused product is left out there, and input projections are still hoisted out of the loop.
 */
export function loweringDefaults(backend: TfBackend): { optimize: boolean; disabled?: ReadonlySet<string> } {
  return backend === "tfjs-cpu" ? { optimize: true, disabled: new Set(["fuse-matmul"]) } : { optimize: true };
}

export async function useBackend(name: TfBackend): Promise<void> {
  // Production mode: no debug checks, and no advertisement for tfjs-node (which cannot be installed here).
  tf.env().set("PROD", true);
  if (name === "tfjs-wasm") {
    if (!wasmReady) {
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      const require = createRequire(import.meta.url);
      const dir = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm")), "/");
      wasm.setWasmPaths(dir.endsWith("/") ? dir : dir + "/");
      wasmReady = true;
    }
    await tf.setBackend("wasm");
  } else {
    await tf.setBackend("cpu");
  }
  await tf.ready();
}
