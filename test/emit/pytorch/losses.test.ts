// The losses a compiled PyTorch module carries (rnnc_crossentropy, rnnc_mse, rnnc_ctc) against rnnc's own: CTC's sums over alignments in src/runtime/ctc.ts, the others written out here.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { emitPytorch } from "../../../src/emit/pytorch/module.js";
import { ctcLoss } from "../../../src/runtime/ctc.js";
import { resolveDims } from "../../../src/runtime/dims.js";
import { mulberry32 } from "../../../src/runtime/random.js";
import { initParams, modelParamSpecs } from "../../../src/weights/weights.js";
import { compiler, root } from "../../helpers.js";
// @ts-expect-error a plain ES module of the tests (no types)
import { torchPython } from "../../torch-env.mjs";

let python = "";
beforeAll(() => {
  python = torchPython();
}, 900_000);

describe("PyTorch target: rnnc's losses in the module", () => {
  it("rnnc_ctc, rnnc_crossentropy and rnnc_mse equal rnnc's definitions on padded batches", () => {
    const ir = compiler.model(join(root, "examples", "co2-forecast", "co2-forecast.rnn"), undefined);
    const env = resolveDims(ir, new Map());
    const dir = mkdtempSync(join(tmpdir(), "rnnc-losses-"));
    const file = join(dir, "m.py");
    writeFileSync(file, emitPytorch(ir, env, initParams(modelParamSpecs(ir, env), 1), "co2.rnn", "test").source);
    const B = 3, T = 7, C = 5, rng = mulberry32(7);
    const scores = Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: C }, () => 3 * rng() - 1.5)));
    const lengths = [7, 5, 4], labels = [[1, 2, 2], [3], [4, 1]], ids = [[1, 0, 2, 4, 3, 3, 1], [2, 2, 0, 1, 4, 0, 0], [4, 3, 2, 1, 0, 0, 0]];
    const targets = scores.map((r) => r.map((s) => s.map((v) => v / 2 + 0.25)));
    const script = `import importlib.util, json, sys, torch
spec = importlib.util.spec_from_file_location("m", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
a = json.loads(sys.argv[2])
y, L = torch.tensor(a["scores"], dtype=torch.float64), torch.tensor(a["lengths"])
labels = torch.tensor([r + [0] * (3 - len(r)) for r in a["labels"]])
print(json.dumps({
  "ctc": float(m.rnnc_ctc(y.double(), L, labels, torch.tensor([len(r) for r in a["labels"]]))),
  "ce": float(m.rnnc_crossentropy(y.double(), torch.tensor(a["ids"]), L)),
  "mse": float(m.rnnc_mse(y, torch.tensor(a["targets"], dtype=torch.float64), L)),
}))`;
    const r = spawnSync(python, ["-c", script, file, JSON.stringify({ scores, lengths, labels, ids, targets })], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as { ctc: number; ce: number; mse: number };
    // rnnc's CTC: time-major scores, its alpha-beta sums in float64
    const y = new Float32Array(T * B * C);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) y[(t * B + b) * C + c] = scores[b]![t]![c]!;
    const want = ctcLoss({ y, T, B, C, lengths }, labels, 0, false, false).loss;
    expect(Math.abs(got.ctc - want)).toBeLessThan(1e-5);
    // cross-entropy and MSE: means over each example's own steps
    let ce = 0, se = 0, steps = 0;
    for (let b = 0; b < B; b++) for (let t = 0; t < lengths[b]!; t++) {
      const s = scores[b]![t]!, max = Math.max(...s), lse = max + Math.log(s.reduce((acc, v) => acc + Math.exp(v - max), 0));
      ce += lse - s[ids[b]![t]!]!;
      se += s.reduce((acc, v, c) => acc + (v - targets[b]![t]![c]!) ** 2, 0) / C;
      steps++;
    }
    expect(Math.abs(got.ce - ce / steps)).toBeLessThan(1e-9);
    expect(Math.abs(got.mse - se / steps)).toBeLessThan(1e-9);
  });
});
