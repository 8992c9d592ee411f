// Tapes pinned in the kernel memory: pins sit below the stack that calls start over, and backward passes give them back.
import { describe, expect, it } from "vitest";
import { KernelMemory, kernelMemory } from "../../src/fused/kernel-memory.js";
import { FusedScan } from "../../src/fused/scan.js";
import { optimize } from "../../src/passes/pipeline.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { cellFrom } from "../helpers.js";

describe("pinned regions of the kernel memory", () => {
  it("are taken only on an empty stack, are never released by the stack, and free the floor as the top ones go", () => {
    const m = new KernelMemory();
    const a = m.pin(100, 1 << 20)!;
    m.alloc(10);
    expect(m.pin(100, 1 << 20)).toBeUndefined(); // something is on the stack
    m.release(0);
    expect(m.top).toBe(100); // not below the pinned region
    const b = m.pin(50, 1 << 20)!;
    expect(b).toBeGreaterThanOrEqual(100);
    expect(m.pin(1 << 20, 1 << 20)).toBeUndefined(); // past the limit
    m.unpin(a); // not the top one: the floor stays until b goes too
    m.release(0);
    expect(m.top).toBe(b + 50);
    m.unpin(b);
    m.release(0);
    expect(m.top).toBe(0);
  });

  it("a scan's training forward pass pins its tape and its backward pass gives it back, with the same gradients as an unpinned one", () => {
    const cell = optimize(cellFrom(`import { LSTM } from "std"\ncell C<I = 3, H = 4> {\n  input x: [I]\n  layer r = LSTM<I, H>\n  output y = r(x)\n}`, "C"));
    const env = new Map([["I", 3], ["H", 4]]);
    const k = new FusedScan(cell, env);
    const rng = mulberry32(5);
    const size = (shape: typeof cell.params[number]["shape"]) => shape.reduce((n, d) => n * [...d].reduce((s, [key, c]) => s + c * (key === "" ? 1 : env.get(key)!), 0), 1);
    const params = new Map(cell.params.map((p) => [p.name, Float32Array.from({ length: size(p.shape) }, () => rng() - 0.5)]));
    const T = 6, B = 5;
    const run = { T, B, xs: [Float32Array.from({ length: T * B * 3 }, () => rng() - 0.5)], lengths: [6, 6, 4, 2, 1] };
    const dys = [Float32Array.from({ length: T * B * 4 }, () => rng() - 0.5)];
    const mem = kernelMemory()!;
    mem.release(0);
    const floor = mem.top;
    const out = k.forward(params, run, true);
    mem.release(0); // another call starts over: the tape stays
    expect(mem.top).toBeGreaterThan(floor);
    const g = k.backward(params, out.tape, dys, new Map());
    expect(() => k.backward(params, out.tape, dys, new Map())).toThrow(/second backward pass/);
    mem.release(0);
    expect(mem.top).toBe(floor);
    // A second pass gives the same gradients: what the first left pinned and gave back did not leak into it.
    const again = k.backward(params, k.forward(params, run, true).tape, dys, new Map());
    for (const [name, d] of g.dParams) expect(again.dParams.get(name)).toEqual(d);
    mem.release(0);
    expect(mem.top).toBe(floor);
  });
});
