// Which backend run, train and eval take by default (auto), and that --explain says it; auto's model results equal the interpreter's.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chooseRunBackend, chooseTfBackend, chooseTrainBackend } from "../../src/api/backend-choice.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { root } from "../helpers.js";

const cli = join(root, "dist", "cli", "main.js");
const rnnc = (...args: (string | { env: Record<string, string> })[]) => {
  const extra = args.find((a): a is { env: Record<string, string> } => typeof a !== "string");
  return spawnSync(process.execPath, [cli, ...args.filter((a): a is string => typeof a === "string")], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", ...extra?.env } });
};

describe("backend choice", () => {
  it("train and eval: tfjs-wasm by default here (this engine has WebAssembly SIMD), the asked one otherwise", () => {
    expect(chooseTfBackend("auto").backend).toBe("tfjs-wasm");
    expect(chooseTfBackend("tfjs-cpu")).toEqual({ backend: "tfjs-cpu", why: "asked for with --backend" });
  });

  it("train: the whole model on the fused kernels where they can take it, else tfjs-wasm with the reason", () => {
    expect(chooseTrainBackend("auto", () => undefined, {}).backend).toBe("fused");
    const other = chooseTrainBackend("auto", () => "an op mixes a sequence with a single value", {});
    expect(other.backend).toBe("tfjs-wasm");
    expect(other.why).toContain("an op mixes a sequence with a single value");
    expect(chooseTrainBackend("auto", () => undefined, { fused: false }).backend).toBe("tfjs-wasm");
    expect(chooseTrainBackend("auto", () => undefined, { passes: false }).backend).toBe("tfjs-wasm");
    expect(chooseTrainBackend("tfjs-cpu", () => undefined, {}).backend).toBe("tfjs-cpu");
  });

  it("rnnc train: --explain names the fused engine; a model it cannot take trains on tfjs, and --backend fused on it is a one-line error", () => {
    const dir = mkdtempSync(join(tmpdir(), "rnnc-train-choice-"));
    writeFileSync(join(dir, "m.rnn"), `import { GRU, Dense } from "std"\nmodel M<C = 2, H = 4> {\n  input c: [C]\n  input x: [T, 2]\n  layer a = GRU<2, H>\n  layer b = GRU<2, H>\n  layer begin = Dense<C, H>\n  layer head = Dense<H, 1>\n  output y = map(head, scan(a, x) + begin(c))\n  output z = map(head, scan(a, x) + scan(b, x))\n}\n`);
    writeFileSync(join(dir, "data.mjs"), `const ex = (k) => ({ inputs: { c: [k % 2, 1], x: [[k % 2, 1], [0, 1], [1, 0]] }, target: [[0.5], [0.1], [k % 3]] });
export function load() { return { train: Array.from({ length: 8 }, (_, k) => ex(k)), test: [ex(1), ex(2)] }; }\n`);
    const base = ["train", join(dir, "m.rnn"), "--data", join(dir, "data.mjs"), "--loss", "mse", "--epochs", "1", "--batch-size", "4", "--explain"];
    const z = rnnc(...base, "--output", "z", "-o", join(dir, "z.json"));
    expect(z.status, z.stderr).toBe(0);
    expect(z.stderr).toMatch(/^backend: fused \(auto: the whole model trains on the fused kernels/m);
    const y = rnnc(...base, "--output", "y", "-o", join(dir, "y.json"));
    expect(y.status, y.stderr).toBe(0);
    expect(y.stderr).toMatch(/^backend: tfjs-wasm \(auto: the fused kernels cannot train this model whole \(an op mixes a sequence with a single value/m);
    const asked = rnnc(...base, "--output", "y", "-o", join(dir, "y2.json"), "--backend", "fused");
    expect(asked.status).toBe(2);
    expect(asked.stderr).toMatch(/--backend fused cannot train output 'y' of model M: an op mixes a sequence with a single value; --backend tfjs-wasm can/);
    expect(asked.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    // Flags of TensorFlow.js' lowering with the fused engine asked for: refused, not ignored.
    const both = rnnc(...base, "--output", "z", "-o", join(dir, "z2.json"), "--backend", "fused", "--no-passes");
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/--no-passes shapes TensorFlow.js' lowering, which --backend fused does not use; give --backend tfjs-wasm \(or auto\) with it/);
  });

  it("run: models on the fused kernels, cells, float64 and what the kernels cannot take on the interpreter", () => {
    const model = (why?: string) => ({ kind: "model" as const, fusedCannot: () => why });
    expect(chooseRunBackend("auto", model(), "f32").backend).toBe("fused");
    expect(chooseRunBackend("auto", model(), "f64").backend).toBe("interp");
    expect(chooseRunBackend("auto", { kind: "cell" }, "f32").backend).toBe("interp");
    const gen = chooseRunBackend("auto", model("it generates"), "f32");
    expect(gen.backend).toBe("interp");
    expect(gen.why).toContain("it generates");
    expect(chooseRunBackend("tfjs-cpu", model(), "f32").backend).toBe("tfjs-cpu");
  });

  it("rnnc run --explain names the backend; auto and interp agree within float32 rounding", () => {
    const args = ["run", "examples/name-gender/name-gender.rnn", "--input", "examples/name-gender/input.sample.json"];
    const auto = rnnc(...args, "--explain");
    expect(auto.status).toBe(0);
    expect(auto.stderr).toMatch(/^backend: fused \(auto: /m);
    // rnnc turns relaxed SIMD on (Node 20 keeps it behind a flag) unless RNNC_NO_FMA is set, and says which it used.
    expect(auto.stderr).toMatch(/^matrix products: WebAssembly SIMD with fused multiply-adds/m);
    const noFma = rnnc(...args, "--explain", { env: { RNNC_NO_FMA: "1" } });
    expect(noFma.stderr).toMatch(/^matrix products: WebAssembly SIMD, a multiply and an add \(RNNC_NO_FMA is set\)/m);
    const c = (JSON.parse(noFma.stdout).outputs.probs as number[][]).flat();
    const interp = rnnc(...args, "--backend", "interp");
    const a = (JSON.parse(auto.stdout).outputs.probs as number[][]).flat();
    const b = (JSON.parse(interp.stdout).outputs.probs as number[][]).flat();
    expect(a.length).toBe(b.length);
    a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-6));
    c.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-6));
    const cell = rnnc("run", "examples/seed-lstm.rnn", "--dims", "I=3,H=4", "--input", "examples/seed-input.json", "--explain");
    expect(cell.stderr).toMatch(/^backend: interp \(auto: a cell runs on the reference interpreter\)/m);
    const bad = rnnc("run", "examples/seed-lstm.rnn", "--dims", "I=3,H=4", "--input", "examples/seed-input.json", "--backend", "fused");
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("--backend fused runs models");
  });
});
