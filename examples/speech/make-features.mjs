// Makes examples/speech/features.json.gz: spoken digit strings synthesised by espeak-ng (Debian's package) in many
// voices, speeds and pitches, with noise added, as log-mel features (16 bands, 25 ms windows every 20 ms, fft.js),
// quantised to bytes. Training reads the features only (data.mjs); this script needs espeak-ng and runs once:
//   apt-get install espeak-ng && node examples/speech/make-features.mjs
// Deterministic: the same espeak-ng gives the same file (seeded digits, voices, speeds, pitches and noise).
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import FFT from "fft.js";
import { mulberry32 } from "../shared/data.mjs";

const WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
/** Voices heard in training (and validation), and voices held out for the test split only. */
export const TRAIN_VOICES = ["en+m1", "en-us+m2", "en+m3", "en-us+m4", "en+m5", "en+f1", "en-us+f2", "en+f3", "en+adam", "en-us+john", "en+linda", "en-us+paul"];
export const TEST_VOICES = ["en+m6", "en-us+m7", "en+f4", "en-us+f5", "en+robert", "en-us+steph"];
const RATE = 22050, HOP = 441, WINDOW = 551, NFFT = 1024, BANDS = 16, LOW = 100, HIGH = 5000;

/** espeak-ng's 16-bit mono WAV on stdout, as floats in [-1, 1] (its header's sizes are left open: read to the end). */
function speak(text, voice, speed, pitch) {
  const wav = execFileSync("espeak-ng", ["-v", voice, "-s", String(speed), "-p", String(pitch), "--stdout", text], { maxBuffer: 1 << 26 });
  const pcm = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length - ((wav.length - 44) % 2)));
  return Float32Array.from(pcm, (s) => s / 32768);
}

/** Triangular mel filters over the FFT's bins. */
function melFilters() {
  const mel = (f) => 2595 * Math.log10(1 + f / 700), hz = (m) => 700 * (10 ** (m / 2595) - 1);
  const edges = Array.from({ length: BANDS + 2 }, (_, i) => hz(mel(LOW) + (i * (mel(HIGH) - mel(LOW))) / (BANDS + 1)));
  const bin = (f) => (f * NFFT) / RATE;
  return Array.from({ length: BANDS }, (_, b) => Array.from({ length: NFFT / 2 + 1 }, (_, k) => {
    const [l, c, r] = [bin(edges[b]), bin(edges[b + 1]), bin(edges[b + 2])];
    return k <= l || k >= r ? 0 : k <= c ? (k - l) / (c - l) : (r - k) / (r - c);
  }));
}

const fft = new FFT(NFFT), filters = melFilters();
const hann = Float32Array.from({ length: WINDOW }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (WINDOW - 1)));

/** log-mel energies, one row of BANDS per 20 ms. */
function logMel(audio) {
  const frames = [];
  const input = new Array(NFFT).fill(0), out = fft.createComplexArray();
  for (let start = 0; start + WINDOW <= audio.length; start += HOP) {
    for (let i = 0; i < NFFT; i++) input[i] = i < WINDOW ? audio[start + i] * hann[i] : 0;
    fft.realTransform(out, input);
    const power = Array.from({ length: NFFT / 2 + 1 }, (_, k) => out[2 * k] ** 2 + out[2 * k + 1] ** 2);
    frames.push(filters.map((f) => Math.log(f.reduce((a, w, k) => a + w * power[k], 0) + 1e-6)));
  }
  return frames;
}

/** One utterance: 2 to 5 digits in a voice, at a speed and pitch, with white noise 15–30 dB below the speech. */
function utterance(rng, voice) {
  const digits = Array.from({ length: 2 + Math.floor(rng() * 4) }, () => Math.floor(rng() * 10));
  const audio = speak(digits.map((d) => WORDS[d]).join(" "), voice, 130 + Math.floor(rng() * 70), 30 + Math.floor(rng() * 40));
  const power = audio.reduce((a, x) => a + x * x, 0) / audio.length;
  const noise = Math.sqrt(power / 10 ** ((15 + 15 * rng()) / 10));
  for (let i = 0; i < audio.length; i++) audio[i] += noise * Math.sqrt(-2 * Math.log(rng() + 1e-12)) * Math.cos(2 * Math.PI * rng());
  return { voice, digits, frames: logMel(audio) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rng = mulberry32(2026);
  const made = { train: [], validation: [], test: [] };
  for (const voice of TRAIN_VOICES) {
    for (let k = 0; k < 100; k++) made.train.push(utterance(rng, voice));
    for (let k = 0; k < 10; k++) made.validation.push(utterance(rng, voice));
  }
  for (const voice of TEST_VOICES) for (let k = 0; k < 40; k++) made.test.push(utterance(rng, voice));
  // Bytes: 0 … 255 over the range of every value.
  let min = Infinity, max = -Infinity;
  for (const u of Object.values(made).flat()) for (const f of u.frames) for (const v of f) { min = Math.min(min, v); max = Math.max(max, v); }
  const q = (v) => Math.round(((v - min) / (max - min)) * 255);
  const splits = Object.fromEntries(Object.entries(made).map(([name, us]) => [name, us.map((u) => ({ voice: u.voice, digits: u.digits, frames: Buffer.from(u.frames.flat().map(q)).toString("base64") }))]));
  const file = new URL("features.json.gz", import.meta.url);
  writeFileSync(file, gzipSync(JSON.stringify({ bands: BANDS, hopMs: 20, min, max, splits })));
  const frames = Object.values(made).flat().map((u) => u.frames.length);
  process.stdout.write(`wrote ${file.pathname}: ${frames.length} utterances (${Object.entries(made).map(([k, v]) => `${k} ${v.length}`).join(", ")}), ${Math.min(...frames)}–${Math.max(...frames)} frames\n`);
}
