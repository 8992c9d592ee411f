// The fused scan with its batch split over two threads (a helper worker) against the same scan on one thread.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { joinRows, MIN_SPLIT_WORK, rowsOf, scanHelper, setScanHelper } from "../../src/fused/parallel.js";
import { FusedScan, type ScanRun } from "../../src/fused/scan.js";
import type { CellIR } from "../../src/ir/ir.js";
import { startScanHelper, stopScanHelper } from "../../src/node/scan-helper.js";
import { optimize } from "../../src/passes/pipeline.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { cellFrom, closeness } from "../helpers.js";

const rand = (n: number, rng: () => number) => Float32Array.from({ length: n }, () => 2 * rng() - 1);

const cells: [string, string, Record<string, number>][] = [
  ["LSTM", `import { LSTM } from "std"\ncell C<I, H> { input x: [I]  layer r = LSTM<I, H>  output y = r(x) }`, { I: 5, H: 8 }],
  ["GRU with h[t-2] and two inputs", `cell C<I, H> { input x: [I]  input z: [H]  state h: [H] = 0  param W: [H, I]  param U, V: [H, H]
    h = tanh(W @ x + U @ h[t-1] + V @ h[t-2] + z)  output y = h * z }`, { I: 3, H: 4 }],
];

/** Forward and backward of one run, with whatever helper is installed. */
function both(k: FusedScan, params: Map<string, Float32Array>, run: ScanRun, dys: Float32Array[], dFinals: Map<string, Float32Array>) {
  const out = k.forward(params, run);
  return { out, g: k.backward(params, out.tape, dys, dFinals), inference: k.forward(params, run, false) };
}

describe("a fused scan split over two threads", () => {
  beforeAll(() => { startScanHelper(); });
  afterAll(async () => { await stopScanHelper(); });

  it("has a helper thread on this machine (two cores)", () => expect(scanHelper()).toBeDefined());

  it("cuts and joins rows of time-major arrays", () => {
    const a = Float32Array.from({ length: 3 * 5 * 2 }, (_, i) => i);
    expect(joinRows(rowsOf(a, 3, 5, 0, 3), rowsOf(a, 3, 5, 3, 5), 3, 3, 5)).toEqual(a);
    expect(Array.from(rowsOf(a, 3, 5, 3, 5).subarray(0, 4))).toEqual([6, 7, 8, 9]);
  });

  for (const [name, spec, dims] of cells)
    for (const B of [9, 16])
      it(`${name}, batch ${B}: outputs, final states and every gradient equal one thread's (lengths, reverse, initial state)`, () => {
        const cell: CellIR = optimize(cellFrom(spec, "C"));
        const env = new Map(Object.entries(dims));
        const k = new FusedScan(cell, env);
        const rng = mulberry32(B);
        const T = Math.ceil(MIN_SPLIT_WORK / B), H = dims["H"]!; // long enough to be split
        const params = new Map(cell.params.map((p) => [p.name, rand(p.shape.reduce((n, d) => n * [...d].reduce((s, [key, c]) => s + c * (key === "" ? 1 : env.get(key)!), 0), 1), rng)]));
        const xs = cell.inputs.map((i) => rand(T * B * i.shape.reduce((n, d) => n * [...d].reduce((s, [key, c]) => s + c * (key === "" ? 1 : env.get(key)!), 0), 1), rng));
        const lengths = Array.from({ length: B }, (_, b) => 1 + ((b * 5) % T));
        const init = new Map([[cell.states[0]!.name, rand(B * H, rng)]]);
        const run: ScanRun = { T, B, xs, lengths, init, reverse: true };
        const dys = [rand(T * B * H, rng)];
        const dFinals = new Map(cell.states.map((s) => [s.name, rand(B * H, rng)]));
        const two = both(k, params, run, dys, dFinals);
        expect(k.forward(params, { ...run, T: 3 }).tape.split).toBeUndefined(); // too short to split
        expect(two.out.tape.split).toBeDefined();
        const helper = scanHelper();
        setScanHelper(undefined);
        const one = both(k, params, run, dys, dFinals);
        setScanHelper(helper);
        expect(one.out.tape.split).toBeUndefined();
        const same = (a: Float32Array, b: Float32Array) => expect(closeness(a, b, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
        // Each step's product takes only the rows still running, so a row's sums may round differently in another split.
        const close = (a: Float32Array, b: Float32Array) => expect(closeness(a, b, 1e-6, 1e-6)).toBeLessThanOrEqual(1);
        one.out.ys.forEach((y, i) => { close(two.out.ys[i]!, y); close(two.inference.ys[i]!, y); });
        for (const [n, f] of one.out.finals) close(two.out.finals.get(n)!, f);
        one.g.dxs.forEach((d, i) => same(two.g.dxs[i]!, d!));
        for (const [n, d] of one.g.dInit) same(two.g.dInit.get(n)!, d);
        for (const [n, d] of one.g.dParams) same(two.g.dParams.get(n)!, d); // two partial sums: rounding may differ
      });

  it("an error on the helper thread comes back as an error on this one", async () => {
    const cell = optimize(cellFrom(cells[0]![1], "C"));
    const k = new FusedScan(cell, new Map([["I", 5], ["H", 8]]));
    await stopScanHelper();
    startScanHelper();
    const helper = scanHelper()!;
    setScanHelper({ post: (job) => helper.post(job.kind === "forward" ? { ...job, id: 999 } : job), wait: () => helper.wait() });
    const params = new Map(cell.params.map((p) => [p.name, new Float32Array(p.shape.reduce((n, d) => n * [...d].reduce((s, [key, c]) => s + c * (key === "" ? 1 : key === "I" ? 5 : 8), 0), 1))]));
    const T = MIN_SPLIT_WORK / 8;
    expect(() => k.forward(params, { T, B: 8, xs: [new Float32Array(T * 8 * 5)] })).toThrow(/helper thread failed: no kernel 999/);
    setScanHelper(helper);
  });
});
