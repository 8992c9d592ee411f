// Dims from the weights file (issue 13): `rnnc run` and `compile` with --weights take the dims the file records.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "../helpers.js";

const cli = join(root, "dist", "cli", "main.js");
const tmp = mkdtempSync(join(tmpdir(), "rnnc-wdims-"));
const rnnc = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });

describe("dims recorded in a weights file", () => {
  const w = join(tmp, "elman.json");
  const input = join(tmp, "in.json");
  writeFileSync(input, JSON.stringify({ x: [[[0.5, -1, 0.25], [0, 0.75, -0.5]]] }));
  it("are used by run and compile when --dims leaves them out; a --dims that disagrees is an error naming both", () => {
    expect(rnnc("init", "stdlib/elman.rnn", "--cell", "Elman", "--dims", "I=3,H=5", "-o", w).status).toBe(0);
    expect(JSON.parse(readFileSync(w, "utf8")).dims).toEqual({ I: 3, H: 5 });
    const r = rnnc("run", "stdlib/elman.rnn", "--cell", "Elman", "--weights", w, "--input", input);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).dims).toEqual({ I: 3, H: 5 });
    expect(JSON.parse(r.stdout).outputs.h[0][1]).toHaveLength(5);
    const same = rnnc("run", "stdlib/elman.rnn", "--cell", "Elman", "--weights", w, "--dims", "H=5", "--input", input);
    expect(same.stdout).toBe(r.stdout);
    const clash = rnnc("run", "stdlib/elman.rnn", "--cell", "Elman", "--weights", w, "--dims", "H=4", "--input", input);
    expect(clash.status).toBe(2);
    expect(clash.stderr).toContain("--dims H=4 disagrees with the weights file");
    expect(clash.stderr).toContain("which was made with H=5");
  });
  it("compile takes them too", () => {
    const mw = join(tmp, "adding.json");
    expect(rnnc("init", "examples/adding/adding.rnn", "--model", "AddingElman", "--dims", "H=6", "-o", mw).status).toBe(0);
    const out = join(tmp, "adding.onnx");
    const r = rnnc("compile", "examples/adding/adding.rnn", "--model", "AddingElman", "--target", "onnx", "--weights", mw, "-o", out);
    expect(r.status, r.stderr).toBe(0);
    expect(rnnc("compile", "examples/adding/adding.rnn", "--model", "AddingElman", "--target", "onnx", "--weights", mw, "--dims", "H=7", "-o", out).status).toBe(2);
  });

  it("weights files of trained-model size (tens of MiB, past the 4 MiB a spec is read to) are read whole by run and compile", () => {
    const big = join(tmp, "big.json");
    expect(rnnc("init", "examples/name-gender/name-gender.rnn", "--dims", "H=400", "-o", big).status).toBe(0);
    expect(statSync(big).size).toBeGreaterThan(8 * 2 ** 20);
    const r = rnnc("run", "examples/name-gender/name-gender.rnn", "--weights", big, "--input", "examples/name-gender/input.sample.json");
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).dims.H).toBe(400);
    expect(rnnc("compile", "examples/name-gender/name-gender.rnn", "--weights", big, "--target", "onnx", "-o", join(tmp, "big.onnx")).status).toBe(0);
  });
});
