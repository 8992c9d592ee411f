// Data checked before the first step (issue 24): the new user's mistakes of the issue, each a coded error naming the
// example, the key and what was expected; and a mutation run over real examples' data with no internal error.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkExamples, targetKindOf } from "../../src/api/data-check.js";
import type { Example } from "../../src/api/data.js";
import { batchOf } from "../../src/api/data.js";
import { RnncError } from "../../src/diagnostics/errors.js";
import { resolveDims } from "../../src/runtime/dims.js";
import { compiler, root } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "rnnc-data-"));
const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };
const ng = join(root, "examples", "name-gender", "name-gender.rnn");
const noStack = (s: string) => { expect(s).not.toMatch(/^\s+at .+:\d+/m); expect(s).not.toMatch(/internal error/); };

/** `rnnc train` of name-gender (or `spec`) on a data module of `examples(i)` for i < 12, 8 of them for training. */
function train(source: string, spec = ng, output = "probs", loss = "crossentropy") {
  const data = file(`d${Math.random().toString(36).slice(2)}.mjs`, `${source}\nexport function load() { const all = Array.from({ length: 12 }, (_, i) => example(i)); return { train: all.slice(0, 8), test: all.slice(8) }; }\n`);
  return cli("train", spec, "--data", data, "--output", output, "--loss", loss, "--epochs", "1", "-o", join(dir, `w${Math.random().toString(36).slice(2)}.json`));
}

describe("the issue's data mistakes stop before the first step", () => {
  it("class ids past the output's classes (targets i % 3 for C = 2), where PyTorch says 'Target 2 is out of bounds'", () => {
    const r = train("const example = (i) => ({ inputs: { chars: [1, 2, 3] }, target: i % 3 });");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error[RNN0605]: example 2 of the training split has a target that is the class 2, outside 0 … 1 (the output has 2 classes)");
    expect(r.stderr).toContain("= note: 1 more example of the training split has a problem too"); // i = 2 and 5 of the 8
    noStack(r.stderr);
  });

  it("sequence targets one step shorter than the inputs (the language model's off-by-one), with the fix", () => {
    const spec = join(root, "examples", "name-maker", "name-maker.rnn");
    const r = train("const example = (i) => ({ inputs: { category: [1, 0], prev: [0, 5, 6, 7] }, target: [5, 6, 7] });", spec, "logits");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error[RNN0605]: example 0 of the training split has a target of 3 steps for 4 steps of input "prev"');
    expect(r.stderr).toContain("help: a language model's targets are its inputs shifted by one");
    noStack(r.stderr);
  });

  it("--loss mse with class-id targets says what the output takes (was: an internal error)", () => {
    const r = train("const example = (i) => ({ inputs: { chars: [1, 2, 3] }, target: i % 2 });", ng, "probs", "mse");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error[RNN0605]: example 0 of the training split has a target that is 0, not a list of 2 values");
    noStack(r.stderr);
  });

  it("a misnamed input key gets a did-you-mean naming both", () => {
    const r = train("const example = (i) => ({ inputs: { chras: [1, 2, 3] }, target: i % 2 });");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error[RNN0605]: example 0 of the training split has no input "chars"');
    expect(r.stderr).toContain('= note: its inputs are "chras"; the model\'s are "chars"');
    expect(r.stderr).toContain('help: did you mean "chras"?');
  });

  it("token ids outside the embedding table, NaN in a value, a ragged step and a step of the wrong size are named", () => {
    const tokens = train("const example = (i) => ({ inputs: { chars: [1, i === 9 ? 28 : 2, 3] }, target: i % 2 });");
    expect(tokens.stderr).toContain("error[RNN0605]: example 1 of the test split has input \"chars\" at step 1 that is the token id 28, outside 0 … 27 (the table has 28 rows)");
    const co2 = join(root, "examples", "co2-forecast", "co2-forecast.rnn");
    const nan = train("const example = (i) => ({ inputs: { series: [[0.1], [i === 3 ? NaN : 0.2]] }, target: [[0.2], [0.3]] });", co2, "next", "mse");
    expect(nan.stderr).toContain('error[RNN0605]: example 3 of the training split has input "series" at step 1, value [0], that is NaN, not a finite number');
    const wide = train("const example = (i) => ({ inputs: { series: [[0.1], [0.2, 0.5]] }, target: [[0.2], [0.3]] });", co2, "next", "mse");
    expect(wide.stderr).toContain('error[RNN0605]: example 0 of the training split has input "series" at step 1 that has 2 values where the model takes 1 (shape [1])');
    for (const r of [tokens, nan, wide]) { expect(r.status).toBe(1); noStack(r.stderr); }
  });
});

describe("a mutation run over the examples' own data", () => {
  // Each example model's first 40 training examples, mutated as a data module gets things wrong; every mutant is
  // either still valid data or a coded error from the check (or, for what only a batch reveals, from batching).
  const models = [["name-gender", "probs", "crossentropy"], ["name-maker", "logits", "crossentropy"], ["co2-forecast", "next", "mse"], ["g2p", "logits", "crossentropy"]] as const;
  it.each(models)("%s: wrong keys, ids out of range, off-by-one targets, NaN, empty sequences, wrong types", async (ex, output, loss) => {
    const ir = compiler.model(join(root, "examples", ex, `${ex}.rnn`), undefined);
    const env = resolveDims(ir, new Map());
    const mod = await import(join(root, "examples", ex, "data.mjs")) as { load: (o: object) => { train: Example[] } };
    const base = mod.load({}).train.slice(0, 40);
    let seed = 7;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const mutations: ((e: Example) => void)[] = [
      (e) => { const k = Object.keys(e.inputs)[0]!; e.inputs[`${k}x`] = e.inputs[k]; delete e.inputs[k]; },
      (e) => { const k = Object.keys(e.inputs)[0]!; const v = e.inputs[k]; if (Array.isArray(v)) v[rand(v.length)] = 1e6; else e.inputs[k] = 1e6; },
      (e) => { if (Array.isArray(e.target)) (e.target as unknown[]).pop(); else e.target = 99; },
      (e) => { const k = Object.keys(e.inputs)[0]!; const v = e.inputs[k]; if (Array.isArray(v)) v[0] = NaN; else e.inputs[k] = NaN; },
      (e) => { const k = Object.keys(e.inputs)[0]!; e.inputs[k] = []; },
      (e) => { e.target = "one"; },
      (e) => { const k = Object.keys(e.inputs)[0]!; e.inputs[k] = { length: 3 }; },
      (e) => { delete (e as Partial<Example>).target; },
    ];
    let coded = 0, valid = 0;
    const internal: string[] = [];
    for (let m = 0; m < 200; m++) {
      const examples = structuredClone(base);
      const victim = examples[rand(examples.length)]!;
      mutations[m % mutations.length]!(victim);
      try {
        checkExamples(ir, env, output, targetKindOf(ir, env, output, loss), [{ name: "the training split", examples }]);
        batchOf(ir, examples);
        valid++;
      } catch (e) {
        if (e instanceof RnncError) coded++;
        else internal.push(`${m}: ${(e as Error).stack?.split("\n").slice(0, 2).join(" / ")}`);
      }
    }
    expect(internal).toEqual([]);
    expect(coded).toBeGreaterThan(150);
    expect(coded + valid).toBe(200);
  });
});

describe("data as files, and no test split", () => {
  const examples = Array.from({ length: 20 }, (_, i) => ({ inputs: { chars: [1 + (i % 26), 2, 3] }, target: i % 2 }));
  it("a .json file of {train, test}, a .json list and a .jsonl file train like a module (was: 'needs an import attribute of type json')", () => {
    const json = file("data.json", JSON.stringify({ train: examples.slice(0, 16), test: examples.slice(16) }));
    const list = file("list.json", JSON.stringify(examples));
    const lines = file("data.jsonl", examples.map((e, i) => JSON.stringify(i >= 16 ? { ...e, split: "test" } : e)).join("\n") + "\n");
    for (const data of [json, list, lines]) {
      const r = cli("train", ng, "--data", data, "--output", "probs", "--loss", "crossentropy", "--epochs", "1", "-o", join(dir, `f${Math.random().toString(36).slice(2)}.json`));
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/epoch 1\/1 {2}train loss \d/);
    }
  });
  it("a module without a test split holds out its last tenth, and says so", () => {
    const data = file("notest.mjs", `export function load() { return { train: ${JSON.stringify(examples)} }; }\n`);
    const r = cli("train", ng, "--data", data, "--output", "probs", "--loss", "crossentropy", "--epochs", "1", "-o", join(dir, "notest.json"));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("gives no test split; its last 2 of 20 examples are held out");
  });
  it("a .jsonl line that is not JSON is RNN0610 naming the line", () => {
    const bad = file("bad.jsonl", `${JSON.stringify(examples[0])}\n{"inputs": \n`);
    const r = cli("train", ng, "--data", bad, "--output", "probs", "--loss", "crossentropy", "--epochs", "1", "-o", join(dir, "bad.json"));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error\[RNN0610\]: data module '.*bad\.jsonl' is not valid JSON: line 2: Unexpected end of JSON input/);
    noStack(r.stderr);
  });
});
