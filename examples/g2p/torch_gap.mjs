// The rnnc side of torch_gap.py: writes the batches (4,000 words, batch 32, two epochs' orders), trains rnnc's g2p on
// them (its default LSTM, then TorchLSTM: PyTorch's parametrization), runs the PyTorch script, prints the table.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCompiler, mulberry32 } from "rnnc";
import { nodeHost } from "rnnc/node";
import { Trainer, useBackend } from "rnnc/tfjs";
import { g2pBatches } from "../../dist/bench/torch.js";
import { initParams, modelParamSpecs } from "../../dist/weights/weights.js";

const here = dirname(fileURLToPath(import.meta.url));
const { json, batches } = await g2pBatches(4000);
const rng = mulberry32(5);
const shuffled = (n) => { const a = [...Array(n).keys()]; for (let i = n - 1; i > 0; i--) { const j = Math.floor(rng() * (i + 1)); [a[i], a[j]] = [a[j], a[i]]; } return a; };
const orders = [shuffled(batches.length), shuffled(batches.length)];
const spec = { ...json, lr: 0.005, clip: 5, orders };
const file = join(mkdtempSync(join(tmpdir(), "g2p-gap-")), "batches.json");
writeFileSync(file, JSON.stringify(spec));

await useBackend("tfjs-wasm");
const compiler = createCompiler(nodeHost);
const rnnc = {};
for (const [name, path] of [["rnnc (LSTM)", join(here, "g2p.rnn")], ["rnnc (TorchLSTM)", join(here, "..", "..", "test", "fixtures", "parity", "g2p-torch.rnn")]]) {
  const ir = compiler.model(path, "G2P");
  const env = new Map(Object.entries(spec.dims));
  const trainer = new Trainer(ir, env, initParams(modelParamSpecs(ir, env), 0), { output: "logits", loss: "crossentropy", optimizer: "adam", learningRate: spec.lr, clipNorm: spec.clip });
  rnnc[name] = orders.map((order) => order.reduce((s, k) => s + trainer.step(batches[k]), 0) / order.length);
  trainer.dispose();
}
const py = spawnSync(process.env.RNNC_PYTHON ?? "python3", [join(here, "torch_gap.py"), file], { encoding: "utf8" });
if (py.status !== 0) { process.stderr.write(py.stderr); process.exit(1); }
const all = { ...JSON.parse(py.stdout), ...rnnc };
process.stdout.write("| variant | epoch 1 | epoch 2 |\n| --- | ---: | ---: |\n" + Object.entries(all).map(([k, v]) => `| ${k} | ${v[0].toFixed(3)} | ${v[1].toFixed(3)} |`).join("\n") + "\n");
