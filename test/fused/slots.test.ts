// Places of values: a value's data is exactly its rows wherever it lives, and a step of fewer rows reuses a longer buffer's start.
import { describe, expect, it } from "vitest";
import { blockOf, HeapRows, rowsAt, Slots } from "../../src/fused/slots.js";

describe("places", () => {
  it("a value at an array place holds its length, not the rest of the array (loops read its row size as length / rows)", () => {
    const a = Float32Array.from({ length: 12 }, (_, i) => i);
    const v = rowsAt(a.subarray(4), 4, [2], false, 2);
    expect(Array.from(v.data)).toEqual([4, 5, 6, 7]);
    expect(v.data.length / v.rows).toBe(2);
    expect(rowsAt(a, 12, [3], false, 4).data).toBe(a); // a whole array is used as it is
  });

  it("the first R rows of a step's block, in an array or in the kernel memory", () => {
    const a = Float32Array.from({ length: 3 * 4 * 2 }, (_, i) => i); // 3 steps of 4 rows of 2
    const b = blockOf({ data: a, shape: [2], shared: false, rows: 12 }, 1, 4, 3);
    expect(Array.from(b.data)).toEqual([8, 9, 10, 11, 12, 13]);
    const h = blockOf(new HeapRows(100, 24, [2], false, 12), 2, 4, 1);
    expect(h instanceof HeapRows && [h.at, h.length, h.rows]).toEqual([116, 2, 1]);
  });

  it("a step of fewer rows gets the start of the buffer a longer step had; a longer one a new buffer", () => {
    const pool = new Slots();
    const long = pool.place(7, 8);
    const short = pool.place(7, 4);
    if (typeof long === "number") expect(short).toBe(long);
    else expect(short instanceof Float32Array && short.buffer === long.buffer && short.byteOffset === long.byteOffset && short.length).toBe(4);
    const longer = pool.place(7, 16);
    expect(longer === long).toBe(false);
  });
});
