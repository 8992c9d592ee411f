// Three splits (issue 25): a validation split from the data or carved from train, what training selects on; test only reported.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { carveValidation, loadData, type Example } from "../../src/api/data.js";
import { root } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "rnnc-splits-"));
const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };
/** Examples of the adding task, each marked by its index in `inputs.k` (not a model input: ignored by training). */
const examples = (n: number, from = 0): Example[] => Array.from({ length: n }, (_, i) => ({ inputs: { k: from + i, x: [[0.5, 1], [0.25, 0], [0.1, 1]] }, target: [0.5 + 0.1 * ((from + i) % 3)] }));
const ids = (list: readonly Example[] | undefined) => (list ?? []).map((e) => e.inputs["k"]);
const notes: string[] = [];
const note = (t: string) => { notes.push(t); };

describe("loadData", () => {
  it("takes a module's validation split as given, and carves none unless asked", async () => {
    const m = file("given.mjs", `const ex = (n, from) => Array.from({ length: n }, (_, i) => ({ inputs: { k: from + i }, target: 0 }));
export function load() { return { train: ex(20, 0), validation: ex(4, 100), test: ex(5, 200) }; }\n`);
    const d = await loadData({ data: m, note });
    expect([d.train.length, ids(d.validation), d.test.length]).toEqual([20, [100, 101, 102, 103], 5]);
    await expect(loadData({ data: m, note, validationSplit: 0.2, validationSplitName: "--validation-split" })).rejects.toThrow("--validation-split carves a validation split from the training examples, but " + m + " gives one (4 examples); leave --validation-split out");
    const limited = await loadData({ data: m, note, limit: 9 });
    expect([limited.train.length, limited.validation!.length, limited.test.length]).toEqual([9, 1, 1]);
  });

  it("carves the last fraction of train (deterministically) with --validation-split, and JSON Lines mark validation examples", async () => {
    const m = file("plain.mjs", `export function load() { return { train: Array.from({ length: 20 }, (_, i) => ({ inputs: { k: i }, target: 0 })), test: [{ inputs: { k: 99 }, target: 0 }] }; }\n`);
    notes.length = 0;
    const d = await loadData({ data: m, note, validationSplit: 0.15 });
    expect([ids(d.train), ids(d.validation)]).toEqual([Array.from({ length: 17 }, (_, i) => i), [17, 18, 19]]);
    expect(notes).toEqual(["the last 3 of 20 training examples are the validation split (validationSplit 0.15)"]);
    const jl = file("d.jsonl", [0, 1, 2, 3].map((k) => JSON.stringify({ inputs: { k }, target: 0, ...(k === 1 ? { split: "validation" } : k === 3 ? { split: "test" } : {}) })).join("\n"));
    const j = await loadData({ data: jl, note });
    expect([ids(j.train), ids(j.validation), ids(j.test)]).toEqual([[0, 2], [1], [3]]);
  });

  it("refuses a fraction outside (0, 1) and a carve that would leave nothing to train on", () => {
    for (const f of [0, 1, -0.1, NaN]) expect(() => carveValidation(examples(10), f, note, "--validation-split", "")).toThrow(`--validation-split must be a fraction of the training examples between 0 and 1 (e.g. 0.1), not ${f}`);
    expect(() => carveValidation(examples(1), 0.5, note, "--validation-split", "")).toThrow("--validation-split 0.5: the data has 1 training example, too few to hold 1 out and train on the rest");
    expect(carveValidation(examples(3), 0.01, note, "x", "").validation.length).toBe(1); // at least one
  });
});

describe("rnnc train and eval with a validation split", () => {
  const data = file("adding.mjs", `import { generate } from ${JSON.stringify(join(root, "examples/adding/data.mjs"))};
export function load() { return { train: generate(40, 10, 1), validation: generate(8, 10, 3), test: generate(8, 10, 2) }; }\n`);
  const base = ["train", join(root, "examples/adding/adding.rnn"), "--model", "AddingLSTM", "--dims", "H=4", "--output", "sum", "--loss", "mse", "--batch-size", "8", "--lr", "0.02"];

  it("scores validation every epoch, selects the best epoch on it, and rnnc eval --split validation gives the same loss", () => {
    const out = join(dir, "v.json");
    const r = cli(...base, "--data", data, "--epochs", "3", "--keep-best", "--metrics", "mse", "-o", out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("note: the last"); // nothing carved: the module gives validation
    expect(r.stderr).toMatch(/epoch 3\/3 {2}train loss \d+\.\d+ {2}validation loss \d+\.\d+/);
    const h = JSON.parse(readFileSync(out, "utf8")).training.history;
    expect(h.heldOut).toBe("validation");
    const best = JSON.parse(readFileSync(join(dir, "v.best.json"), "utf8")).training.epoch;
    expect(best).toBe(h.test.indexOf(Math.min(...h.test)) + 1);
    expect(readFileSync(join(dir, "v.log.csv"), "utf8").split("\n")[0]).toBe("epoch,lr,train_loss,validation_loss,rmse,mse,seconds");
    const evalOn = (split: string) => JSON.parse(cli("eval", join(root, "examples/adding/adding.rnn"), "--model", "AddingLSTM", "--dims", "H=4", "--data", data, "--weights", out, "--output", "sum", "--metrics", "mse", "--json", "--split", split).stdout);
    const v = evalOn("validation"), t = evalOn("test");
    expect([v.split, v.examples, t.split, t.examples]).toEqual(["validation", 8, "test", 8]);
    expect(v.metrics.mse).toBeCloseTo(h.metrics.mse.at(-1), 5); // the epoch's validation score is eval's on validation …
    expect(Math.abs(t.metrics.mse - h.metrics.mse.at(-1))).toBeGreaterThan(1e-6); // … not on test
  });

  it("without one, --validation-split carves it; early stopping alone carves a tenth; eval --split validation needs the same fraction", () => {
    const two = file("two.mjs", `import { generate } from ${JSON.stringify(join(root, "examples/adding/data.mjs"))};
export function load() { return { train: generate(40, 10, 1), test: generate(8, 10, 2) }; }\n`);
    const a = cli(...base, "--data", two, "--epochs", "1", "--validation-split", "0.2", "-o", join(dir, "a.json"));
    expect(a.status, a.stderr).toBe(0);
    expect(a.stderr).toContain("note: the last 8 of 40 training examples are the validation split (--validation-split 0.2)");
    const b = cli(...base, "--data", two, "--epochs", "2", "--early-stop", "3", "-o", join(dir, "b.json"));
    expect(b.status, b.stderr).toBe(0);
    expect(b.stderr).toContain("note: the last 4 of 40 training examples are the validation split (--early-stop selects on a validation split and the data has none; --validation-split F chooses how much)");
    const plain = cli(...base, "--data", two, "--epochs", "1", "-o", join(dir, "c.json"));
    expect(plain.stderr).toMatch(/epoch 1\/1 {2}train loss \d+\.\d+ {2}test loss/); // nothing selected: test is only watched
    const e = cli("eval", join(root, "examples/adding/adding.rnn"), "--model", "AddingLSTM", "--dims", "H=4", "--data", two, "--weights", join(dir, "a.json"), "--output", "sum", "--split", "validation");
    expect(e.status).toBe(2);
    expect(e.stderr).toContain("gives no validation split: --validation-split F scores the last F of the training examples, as rnnc train --validation-split F held them out");
    const conflict = cli(...base, "--data", data, "--epochs", "1", "--validation-split", "0.2", "-o", join(dir, "d.json"));
    expect(conflict.status).toBe(2);
    expect(conflict.stderr).toContain("gives one (8 examples); leave --validation-split out");
  });
});
