// The README's quick start and first-model walkthrough, and src/api/README.md's programs, run as written: every file the text
// shows is written as it stands, every command in its order, from a folder in the clone (as the README says to make).
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "./helpers.js";

const cli = join(root, "dist", "cli", "main.js");
/** The fenced blocks of a markdown text after `from` (a heading), with their language. */
const blocks = (text: string, from = "") => [...text.slice(text.indexOf(from)).matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]! }));
/** Writes every block that opens with `// NAME.ext` as that file. */
const writeFiles = (dir: string, bs: ReturnType<typeof blocks>) => {
  for (const b of bs) {
    const name = /^\/\/ ([\w.-]+\.(?:rnn|mjs|js))\b/.exec(b.body)?.[1];
    if (name) writeFileSync(join(dir, name), b.body);
  }
};
/** Runs one command line of a sh block: `npx rnnc …` is the built CLI, `node …` is Node.js. */
const sh = (dir: string, line: string) => {
  const [cmd, ...args] = line.trim().split(/\s+/);
  const argv = cmd === "npx" && args[0] === "rnnc" ? [cli, ...args.slice(1)] : cmd === "node" ? args : undefined;
  if (!argv) throw new Error(`the test does not know how to run: ${line}`);
  return spawnSync(process.execPath, argv, { cwd: dir, encoding: "utf8" });
};
const folder = () => {
  mkdirSync(join(root, ".test-out"), { recursive: true });
  return mkdtempSync(join(root, ".test-out", "first-"));
};

describe("README", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");

  it("the quick start's checker output is what rnnc check prints, and its count is right", () => {
    const shown = blocks(readme, "## Quick start").find((b) => b.body.startsWith("error[RNN0301]"))!.body.trimEnd();
    const r = spawnSync(process.execPath, [cli, "check", "examples/seed-lstm-typo.rnn"], { cwd: root, encoding: "utf8" });
    const printed = r.stdout + r.stderr;
    expect(printed).toContain(shown);
    expect(printed).toContain("2 errors, 2 warnings emitted");
    expect(readme).toContain("It reports two errors and two warnings");
  }, 60_000);

  it("the first-model walkthrough runs as written: spec, data module, check, summary, train, eval, compile, use", () => {
    const dir = folder();
    const bs = blocks(readme, "## Your first model");
    writeFiles(dir, bs);
    const commands = bs.filter((b) => b.lang === "sh").flatMap((b) => b.body.trim().split("\n"));
    expect(commands.map((c) => c.split(" ").slice(0, 3).join(" "))).toEqual(["npx rnnc check", "npx rnnc summary", "npx rnnc train", "npx rnnc eval", "npx rnnc compile", "node use.mjs"]);
    const out: Record<string, { stdout: string; stderr: string }> = {};
    for (const c of commands) {
      const r = sh(dir, c);
      expect(r.status, `${c}\n${r.stderr}`).toBe(0);
      out[c.startsWith("npx") ? c.split(" ")[2]! : c.split(" ")[1]!] = r;
    }
    expect(out["summary"]!.stdout).toMatch(/total: 946 params/);
    // Trained: the held-out accuracy the README shows is about what a run gets (0.985 there).
    const last = /epoch 8\/8 .*accuracy (\d\.\d+)/.exec(out["train"]!.stderr);
    expect(Number(last![1])).toBeGreaterThan(0.9);
    expect(out["eval"]!.stdout).toMatch(/accuracy +\d+\.\d+%[\s\S]*confusion/);
    // use.mjs: [0.5, 0.25, -0.1] sums to more than 0 (class 1); [-0.9, 0.2, 0.3, -0.4] to less (class 0).
    const m = /\[ 2, 2 \] \[ '([\d.]+)', '([\d.]+)', '([\d.]+)', '([\d.]+)' \]/.exec(out["use.mjs"]!.stdout)!;
    expect(Number(m[2])).toBeGreaterThan(0.5);
    expect(Number(m[3])).toBeGreaterThan(0.5);
  }, 180_000);
});

describe("src/api/README.md", () => {
  const page = readFileSync(join(root, "src", "api", "README.md"), "utf8");
  it("its programs run as written on the walkthrough's files: fit with callbacks, evaluate, run, compile; importWeights", () => {
    const dir = folder();
    writeFiles(dir, blocks(readFileSync(join(root, "README.md"), "utf8"), "## Your first model"));
    writeFiles(dir, blocks(page));
    const train = sh(dir, "node train.mjs");
    expect(train.status, train.stderr).toBe(0);
    expect(train.stderr).toBe(""); // no tfjs banner, nothing else
    expect(train.stdout.match(/^epoch \d: loss [\d.]+, held-out accuracy [\d.]+$/gm)).toHaveLength(5);
    expect(train.stdout).toMatch(/\{ accuracy: 0\.9\d*, f1: 0\.9\d* \}/);
    const compiled = spawnSync(process.execPath, ["--input-type=module", "-e", "import { createModel } from './first-api.js'; console.log(createModel().predict({ xs: [[[0.5], [0.25], [-0.1]]] }).probs.shape)"], { cwd: dir, encoding: "utf8" });
    expect(compiled.stdout.trim()).toBe("[ 1, 2 ]");
    // rnnc train --resume continues from the checkpoint writeWeights made.
    const resumed = sh(dir, `npx rnnc train first.rnn --data data.mjs --output probs --loss crossentropy --epochs 6 --lr 0.01 --seed 1 --resume -o first-api.json`);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from first-api\.json after epoch 5[\s\S]*epoch 6\/6/);
    // import.mjs, on an ONNX LSTM (ONNX's own test case).
    copyFileSync(join(root, "test", "fixtures", "onnx-backend", "test_lstm_defaults.onnx"), join(dir, "model.onnx"));
    const imported = sh(dir, "node import.mjs");
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/model Imported \{[\s\S]*layer lstm = LSTM<2, 3>/);
    expect(imported.stdout).toContain("module: 'lstm0.l0'");
    expect(imported.stdout).toContain("how: \"the source's wiring\"");
  }, 180_000);
});
