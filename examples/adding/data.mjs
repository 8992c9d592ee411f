// Data for the adding problem (Hochreiter & Schmidhuber 1997): random values, two of them marked; the target is their sum.
import { mulberry32, toBatch } from "../shared/data.mjs";

/** `count` sequences of `length` steps: [value in [0, 1), marker 0 or 1], exactly two markers. */
export function generate(count, length, seed) {
  const rng = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const values = Array.from({ length }, () => rng());
    const a = Math.floor(rng() * Math.floor(length / 2));
    const b = Math.floor(length / 2) + Math.floor(rng() * Math.ceil(length / 2));
    return { inputs: { pairs: values.map((v, i) => [v, i === a || i === b ? 1 : 0]) }, target: [values[a] + values[b]] };
  });
}

export function load({ length = 100, train = 10000, test = 1000, seed = 4 } = {}) {
  return { train: generate(train, length, seed), test: generate(test, length, seed + 1) };
}

export const sequenceInputs = ["pairs"];

if (process.argv[2] === "sample") {
  process.stdout.write(JSON.stringify(toBatch(generate(2, 50, 9), sequenceInputs)) + "\n");
}
