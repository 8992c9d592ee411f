// Helpers shared by the examples' data loaders: reading package data, seeded shuffles, splits, padded batches.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { mulberry32 } from "rnnc";

export { mulberry32 };

const require = createRequire(import.meta.url);

/** The text of a file inside an installed npm package (the data sets ship as package files). */
export function packageFile(pkg, file) {
  for (const dir of require.resolve.paths(pkg) ?? []) {
    const path = join(dir, pkg, file);
    if (existsSync(path)) return readFileSync(path, "utf8");
  }
  throw new Error(`cannot find ${file} of the package ${pkg}; run npm install`);
}

export function shuffle(items, seed) {
  const rng = mulberry32(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** A deterministic split: a seeded shuffle, then the last `testFraction` held out. */
export function split(items, { seed = 1, testFraction = 0.1 } = {}) {
  const s = shuffle(items, seed);
  const n = Math.round(s.length * (1 - testFraction));
  return { train: s.slice(0, n), test: s.slice(n) };
}

/**
 * Stacks examples into one `rnnc run` input: each input's values batch first; sequences padded with `pad`
 * to the longest, with their lengths under "lengths".
 */
export function toBatch(examples, sequenceInputs, pad = 0) {
  const out = {};
  const lengths = {};
  for (const name of Object.keys(examples[0].inputs)) {
    const values = examples.map((e) => e.inputs[name]);
    if (!sequenceInputs.includes(name)) { out[name] = values; continue; }
    const T = Math.max(...values.map((v) => v.length));
    const padOf = (v) => (Array.isArray(v[0]) ? v[0].map(() => pad) : pad);
    out[name] = values.map((v) => [...v, ...Array.from({ length: T - v.length }, () => padOf(v))]);
    lengths[name] = values.map((v) => v.length);
  }
  return Object.keys(lengths).length ? { ...out, lengths } : out;
}
