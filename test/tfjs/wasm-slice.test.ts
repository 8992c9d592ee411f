// The tfjs-wasm Slice kernel rnnc installs against the slice computed from the data in JS: contiguous or not, floats and ints.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { useBackend } from "../../src/tfjs/backend.js";

/** The slice of a row-major array of `shape` from `begin`, of `size`, computed index by index. */
function sliceOf(data: ArrayLike<number>, shape: number[], begin: number[], size: number[]): number[] {
  const out: number[] = [];
  const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  const walk = (axis: number, at: number) => {
    if (axis === shape.length) return void out.push(data[at]!);
    for (let i = 0; i < size[axis]!; i++) walk(axis + 1, at + (begin[axis]! + i) * strides[axis]!);
  };
  walk(0, 0);
  return out;
}

describe("tfjs-wasm's Slice kernel", () => {
  beforeAll(async () => {
    await useBackend("tfjs-wasm");
  });

  const cases: [number[], number[], number[]][] = [
    [[100, 32, 8], [7, 0, 0], [1, 32, 8]], // one step of a time-major sequence (contiguous)
    [[3310], [3000], [310]],
    [[4, 5, 6], [1, 2, 0], [2, 3, 6]], // not contiguous: the package's own kernel
    [[4, 5, 6], [0, 0, 2], [4, 5, 3]],
    [[6, 4], [2, 0], [0, 4]], // empty
  ];
  for (const [shape, begin, size] of cases)
    for (const dtype of ["float32", "int32"] as const)
      it(`${dtype} [${shape}] from [${begin}] of [${size}] equals the slice of its data`, () => {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = Array.from({ length: n }, (_, i) => (dtype === "int32" ? i * 3 - 7 : Math.sin(i) * 10));
        const x = tf.tensor(data, shape, dtype);
        const y = tf.slice(x, begin, size);
        expect(tf.getBackend()).toBe("wasm");
        expect(tf.getKernel("Slice", "wasm")!.kernelFunc.name).toBe("rnncSlice"); // rnnc's, not the package's
        expect(y.shape).toEqual(size);
        expect(y.dtype).toBe(dtype);
        expect(Array.from(y.dataSync())).toEqual(sliceOf(dtype === "float32" ? Float32Array.from(data) : data, shape, begin, size));
        // A slice of a tensor made after many others (the heap may have grown meanwhile) reads the right place.
        const big = tf.fill([1 << 20], 2);
        expect(Array.from(tf.slice(x, begin, size).dataSync())).toEqual(Array.from(y.dataSync()));
        tf.dispose([x, y, big]);
      });
});
