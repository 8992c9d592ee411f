// Training parity with PyTorch: its g2p-shaped model's initial weights imported by `rnnc import`, the same 20 batches,
// Adam with gradient clipping: every step's loss equals PyTorch's within 1e-4 relative (fixture: make_parity.py).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { gemmUsesFma, setFma } from "../../src/fused/simd-gemm.js";
import { enableRelaxedSimd } from "../../src/node/wasm-features.js";
import { useBackend } from "../../src/tfjs/backend.js";
import { Trainer, type Batch } from "../../src/tfjs/train.js";
import { FusedTrainer } from "../../src/fused/train-model.js";
import { parseWeights } from "../../src/weights/weights.js";
import { alloc } from "../../src/runtime/tensor.js";
import { compiler, root } from "../helpers.js";

interface Fixture {
  dims: Record<string, number>; lr: number; clip: number; map: string; losses: number[];
  batches: { letters: number[][]; letter_lengths: number[]; prev_phones: number[][]; phone_lengths: number[]; targets: number[][] }[];
}
const dir = join(root, "test", "fixtures", "parity");
const fixture = JSON.parse(readFileSync(join(dir, "g2p-parity.json"), "utf8")) as Fixture;

const ids = (rows: number[][]) => {
  const t = alloc([rows.length, rows[0]!.length], "f32");
  t.data.set(rows.flat());
  return t;
};
const batches: Batch[] = fixture.batches.map((b) => ({
  inputs: { letters: ids(b.letters), prev_phones: ids(b.prev_phones) },
  lengths: { letters: b.letter_lengths, prev_phones: b.phone_lengths },
  targets: b.targets,
}));

describe("training parity with PyTorch (g2p-shaped: embeddings, LSTM encoder, decoder started from its final states)", () => {
  // rnnc import, as a user runs it, writes the PyTorch weights onto examples/g2p/g2p.rnn with TorchLSTM layers.
  const out = join(mkdtempSync(join(tmpdir(), "rnnc-parity-")), "init.json");
  const dims = Object.entries(fixture.dims).map(([k, v]) => `${k}=${v}`).join(",");
  const imported = spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), "import", join(dir, "g2p-init.safetensors"), "--spec", join(dir, "g2p-torch.rnn"),
    "--dims", dims, "--map", fixture.map, "-o", out], { cwd: root, encoding: "utf8" });

  // As `rnnc train` runs: products on fused multiply-adds where the engine has them (turned on as the CLI does), and
  // on a multiply and an add (RNNC_NO_FMA) on the wasm backend too.
  const fma = enableRelaxedSimd();
  for (const [backend, withFma] of [["fused", true], ["fused", false], ["tfjs-wasm", true], ["tfjs-wasm", false], ["tfjs-cpu", true]] as const)
    it(`${backend}${withFma ? "" : ", products without fused multiply-adds"}: each of the 20 Adam steps (clipped) has PyTorch's loss within 1e-4 relative`, async () => {
      expect(imported.status, imported.stderr).toBe(0);
      expect(fma).toBe(true);
      setFma(withFma);
      expect(gemmUsesFma()).toBe(withFma);
      const ir = compiler.model(join(dir, "g2p-torch.rnn"), "G2P");
      const env = new Map(Object.entries(fixture.dims));
      const params = parseWeights(readFileSync(out, "utf8"), out, "f32");
      const settings = { output: "logits", loss: "crossentropy", optimizer: "adam", learningRate: fixture.lr, clipNorm: fixture.clip } as const;
      // fused: the whole model on rnnc's kernels, no tfjs (rnnc train's default where it can).
      if (backend !== "fused") await useBackend(backend);
      const trainer = backend === "fused" ? new FusedTrainer(ir, env, params, settings) : new Trainer(ir, env, params, settings);
      const losses = batches.map((b) => trainer.step(b));
      trainer.dispose();
      const worst = Math.max(...losses.map((l, k) => Math.abs(l - fixture.losses[k]!) / Math.abs(fixture.losses[k]!)));
      expect(worst, `rnnc ${losses.map((l) => l.toFixed(5)).join(" ")}\ntorch ${fixture.losses.map((l) => l.toFixed(5)).join(" ")}`).toBeLessThan(1e-4);
      setFma(true);
      // The steps moved the loss: a parity of no training at all would prove nothing.
      expect(Math.abs(fixture.losses[19]! - fixture.losses[0]!)).toBeGreaterThan(0.3);
    });
});
