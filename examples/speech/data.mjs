// Data for speech: spoken digit strings (features.json.gz, made by make-features.mjs with espeak-ng) as log-mel frames, labelled with their digits.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { toBatch } from "../shared/data.mjs";

/** Classes of the CTC output: 0 is the blank, digit d is d + 1. */
export const BLANK = 0;
export const classOf = (digit) => digit + 1;

let cached;
/**
 * The utterances by split, frames dequantised; each band less its mean over the utterance (cepstral mean
 * normalisation: what stays the same through an utterance, a voice's timbre and the channel, is taken out), then
 * divided by its deviation over the training frames.
 */
export function load() {
  cached ??= read();
  return cached;
}

function read() {
  const file = JSON.parse(gunzipSync(readFileSync(new URL("features.json.gz", import.meta.url))).toString("utf8"));
  const { bands, min, max, splits } = file;
  const frames = (u) => {
    const bytes = Buffer.from(u.frames, "base64");
    return Array.from({ length: bytes.length / bands }, (_, t) => Array.from({ length: bands }, (_, b) => min + (bytes[t * bands + b] / 255) * (max - min)));
  };
  const centred = (fs) => {
    const m = Array(bands).fill(0);
    for (const f of fs) f.forEach((v, b) => { m[b] += v / fs.length; });
    return fs.map((f) => f.map((v, b) => v - m[b]));
  };
  const raw = Object.fromEntries(Object.entries(splits).map(([name, us]) => [name, us.map((u) => ({ voice: u.voice, digits: u.digits, frames: centred(frames(u)) }))]));
  const sq = Array(bands).fill(0);
  let n = 0;
  for (const u of raw.train) for (const f of u.frames) { n++; f.forEach((v, b) => { sq[b] += v * v; }); }
  const sd = sq.map((s) => Math.sqrt(s / n));
  const example = (u) => ({ voice: u.voice, inputs: { feats: u.frames.map((f) => f.map((v, b) => v / sd[b])) }, target: u.digits.map(classOf) });
  return { train: raw.train.map(example), validation: raw.validation.map(example), test: raw.test.map(example) };
}

export const sequenceInputs = ["feats"];

if (process.argv[2] === "sample") {
  const { test } = load();
  // Three decimals are plenty for a sample (the features are bytes to begin with).
  process.stdout.write(JSON.stringify(toBatch(test.slice(0, 4), sequenceInputs), (_, v) => (typeof v === "number" ? Math.round(v * 1000) / 1000 : v)) + "\n");
}
