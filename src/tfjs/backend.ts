// Chooses the tfjs backend (cpu, or wasm from the package's own .wasm files: nothing is downloaded).
import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export type { TfBackend } from "./model.js";
export { loweringDefaults } from "./model.js";
import type { TfBackend } from "./model.js";
import { quietTf } from "./quiet.js";
import { installWasmSlice } from "./wasm-slice.js";

let wasmReady = false;

export async function useBackend(name: TfBackend): Promise<void> {
  quietTf();
  if (name === "tfjs-wasm") {
    if (!wasmReady) {
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      const require = createRequire(import.meta.url);
      const dir = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm")), "/");
      wasm.setWasmPaths(dir.endsWith("/") ? dir : dir + "/");
      wasmReady = true;
    }
    await tf.setBackend("wasm");
    installWasmSlice();
  } else {
    await tf.setBackend("cpu");
  }
  await tf.ready();
}
