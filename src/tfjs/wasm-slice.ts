// tfjs-wasm's Slice kernel copying only the slice: the package's copies the whole tensor out of its heap first, for
// every slice (a sequence cut into its T steps was T whole copies; the fused op's output cut in parts, three).
import * as tf from "@tensorflow/tfjs";

/** The parts of tfjs-wasm's backend used here (not in its public types). */
interface WasmBackend {
  readonly wasm: { readonly HEAPU8: Uint8Array };
  readonly dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

let installed = false;

/** Replaces the wasm backend's Slice kernel by one that reads only what it keeps (contiguous slices of floats and ints). */
export function installWasmSlice(): void {
  const original = tf.getKernel("Slice", "wasm");
  if (installed || !original) return;
  installed = true;
  tf.unregisterKernel("Slice", "wasm");
  tf.registerKernel({
    kernelName: "Slice",
    backendName: "wasm",
    kernelFunc: function rnncSlice(args) {
      const x = args.inputs["x"] as tf.TensorInfo;
      const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
      if (x.dtype !== "float32" && x.dtype !== "int32") return original.kernelFunc(args);
      const [from, sizes] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
      if (!tf.slice_util.isSliceContinous(x.shape, from, sizes)) return original.kernelFunc(args);
      const backend = args.backend as unknown as WasmBackend;
      const offset = tf.slice_util.computeFlatOffset(from, tf.util.computeStrides(x.shape));
      const out = backend.makeOutput(sizes, x.dtype);
      // Views taken after the output is made (making it may grow the heap, which detaches earlier views).
      const at = backend.dataIdMap.get(x.dataId)!.memoryOffset + 4 * offset;
      const n = tf.util.sizeFromShape(sizes);
      const source = x.dtype === "float32" ? new Float32Array(backend.wasm.HEAPU8.buffer, at, n) : new Int32Array(backend.wasm.HEAPU8.buffer, at, n);
      (backend.typedArrayFromHeap(out) as Float32Array | Int32Array).set(source);
      return out;
    },
  });
}
