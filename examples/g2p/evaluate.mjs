// Phoneme error rate of trained G2P weights on held-out CMUdict words: greedy generation, edit distance to the reference.
// Usage: node examples/g2p/evaluate.mjs WEIGHTS.json [--limit N]
import { createCompiler, parseWeights, resolveDims, tensorFromJson } from "rnnc";
import { nodeHost } from "rnnc/node";
import { runModelTf, useBackend } from "rnnc/tfjs";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { EOS, load } from "./data.mjs";

function editDistance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

const [weightsPath, ...rest] = process.argv.slice(2);
const limit = rest[0] === "--limit" ? Number(rest[1]) : 1000;
await useBackend("tfjs-cpu");
const spec = fileURLToPath(new URL("./g2p.rnn", import.meta.url));
const model = createCompiler(nodeHost).model(spec, "G2P");
const env = resolveDims(model, new Map());
const params = parseWeights(readFileSync(weightsPath, "utf8"), weightsPath);
const test = load().test.slice(0, limit);
let edits = 0, total = 0, exact = 0;
for (let k = 0; k < test.length; k += 64) {
  const chunk = test.slice(k, k + 64);
  const S = Math.max(...chunk.map((e) => e.inputs.letters.length));
  const letters = chunk.map((e) => [...e.inputs.letters, ...Array(S - e.inputs.letters.length).fill(0)]);
  const inputs = { letters: tensorFromJson(letters, "letters", "f32"), prev_phones: tensorFromJson(chunk.map(() => [0]), "prev_phones", "f32") };
  const out = runModelTf(model, env, params, { inputs, lengths: { letters: chunk.map((e) => e.inputs.letters.length) } });
  const phones = out.phones;
  const T = phones.tensor.shape[1];
  chunk.forEach((e, b) => {
    const got = Array.from(phones.tensor.data.subarray(b * T, b * T + phones.lengths[b]));
    const want = e.target.filter((p) => p !== EOS);
    const d = editDistance(got, want);
    edits += d;
    total += want.length;
    if (d === 0) exact++;
  });
}
console.log(`${test.length} held-out words: phoneme error rate ${(100 * edits / total).toFixed(2)}%, words exactly right ${(100 * exact / test.length).toFixed(1)}%`);
