// End-to-end tests of the rnnc command line (the built dist/cli/main.js, as a user runs it).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "../helpers.js";

const cli = join(root, "dist", "cli", "main.js");
const tmp = mkdtempSync(join(tmpdir(), "rnnc-cli-"));

function rnnc(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, content: unknown): string {
  const p = join(tmp, name);
  writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
  return p;
}

/** No stack trace: no "    at f (file:line)" frames and no internal-error banner. */
function expectNoStack(text: string) {
  expect(text).not.toMatch(/^\s+at .+:\d+/m);
  expect(text).not.toMatch(/internal error/);
}

const x = [[[0.5, -1, 0.25], [0, 0.75, -0.5], [1, 0.5, 0]], [[1, 1, 1], [-1, -1, -1], [0.5, 0, -0.5]]];

describe("rnnc check", () => {
  it("reports the seed's typo at the product, with the hidden-to-hidden weight as help", () => {
    const r = rnnc("check", "examples/seed-lstm-typo.rnn");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("error[RNN0301]: matrix product `W_xg @ h[t-1]` has mismatched inner dimensions");
    expect(r.stdout).toContain("--> examples/seed-lstm-typo.rnn:18:28");
    expect(r.stdout).toContain("help: did you mean `W_hg`? It has shape [H, H], which fits `h[t-1]`: [H]");
    expect(r.stdout).toContain("--> examples/seed-lstm-typo.rnn:19:31");
    expect(r.stdout).toContain("help: did you mean `W_hi`?");
    expect(r.stdout).toMatch(/2 errors, 2 warnings emitted/);
  });

  it("passes the standard library and the corrected seed LSTM", () => {
    const std = rnnc("check", "stdlib/elman.rnn", "stdlib/gru.rnn", "stdlib/layers.rnn", "stdlib/lstm.rnn");
    expect(std.code).toBe(0);
    expect(std.stdout).toContain("no problems found");
    expect(rnnc("check", "examples/seed-lstm.rnn").code).toBe(0);
  });

  it("gives the same diagnostics as JSON data", () => {
    const r = rnnc("check", "--format", "json", "examples/seed-lstm-typo.rnn");
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json.errors).toBe(2);
    const first = json.diagnostics.find((d: { code: string }) => d.code === "RNN0301");
    expect(first.primary.start).toMatchObject({ line: 18, column: 28 });
    expect(first.help.edit).toMatchObject({ text: "W_hg", start: { line: 18, column: 28 } });
  });

  it("exits 0 with warnings only", () => {
    const p = file("warn.rnn", "cell C<I> {\n  input x: [I]\n  param unused: [I]\n  output x\n}\n");
    const r = rnnc("check", p);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("warning[RNN0501]");
  });

  it("reports a missing file in one line with exit 2", () => {
    const r = rnnc("check", "no/such/file.rnn");
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")[0]).toMatch(/cannot read 'no\/such\/file.rnn'/);
    expectNoStack(r.stderr);
  });
});

describe("rnnc run", () => {
  const input = file("in.json", { x });

  it("prints per-step outputs and final states as JSON", () => {
    const r = rnnc("run", "stdlib/lstm.rnn", "--cell", "LSTM", "--dims", "I=3,H=4", "--input", input, "--seed", "3");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.outputs.h).toHaveLength(2);
    expect(out.outputs.h[0]).toHaveLength(3);
    expect(out.outputs.h[0][0]).toHaveLength(4);
    expect(out.states.c[1]).toHaveLength(4);
    expect(out.states.h).toEqual([out.outputs.h[0][2], out.outputs.h[1][2]]);
  });

  it("is deterministic in the seed and changes with it", () => {
    const a = rnnc("run", "stdlib/gru.rnn", "--cell", "GRU", "--dims", "I=3,H=2", "--input", input, "--seed", "1").stdout;
    const b = rnnc("run", "stdlib/gru.rnn", "--cell", "GRU", "--dims", "I=3,H=2", "--input", input, "--seed", "1").stdout;
    const c = rnnc("run", "stdlib/gru.rnn", "--cell", "GRU", "--dims", "I=3,H=2", "--input", input, "--seed", "2").stdout;
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it("runs with weights written by init, and f64 agrees with f32", () => {
    const w = join(tmp, "w.json");
    expect(rnnc("init", "stdlib/elman.rnn", "--dims", "I=3,H=5", "--seed", "9", "-o", w).code).toBe(0);
    const f32 = JSON.parse(rnnc("run", "stdlib/elman.rnn", "--dims", "I=3,H=5", "--weights", w, "--input", input).stdout);
    const f64 = JSON.parse(rnnc("run", "stdlib/elman.rnn", "--dims", "I=3,H=5", "--weights", w, "--input", input, "--precision", "f64").stdout);
    const seeded = JSON.parse(rnnc("run", "stdlib/elman.rnn", "--dims", "I=3,H=5", "--seed", "9", "--input", input).stdout);
    expect(f32).toEqual(seeded);
    const a = f32.outputs.h.flat(2) as number[];
    const b = f64.outputs.h.flat(2) as number[];
    a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-5));
  });

  it("takes initial states", () => {
    const withInit = file("in2.json", { x, initial_states: { h: [[1, 1, 1, 1, 1], [0, 0, 0, 0, 0]] } });
    const r = JSON.parse(rnnc("run", "stdlib/elman.rnn", "--dims", "I=3,H=5", "--input", withInit).stdout);
    const r0 = JSON.parse(rnnc("run", "stdlib/elman.rnn", "--dims", "I=3,H=5", "--input", input).stdout);
    expect(r.outputs.h[0][0]).not.toEqual(r0.outputs.h[0][0]);
    expect(r.outputs.h[1]).toEqual(r0.outputs.h[1]);
  });

  it.each([
    ["missing dims", ["--dims", "I=3"], "RNN0205", /unresolved dimension H/],
    ["unknown dim", ["--dims", "I=3,H=2,Q=1"], "RNN0205", /no dimension `Q`/],
    ["unknown option", ["--dims", "I=3,H=2", "--opt", "fancy=1"], "RNN0208", /no option `fancy`/],
  ])("%s is an error with a code", (_n, flags, code, message) => {
    const r = rnnc("run", "stdlib/elman.rnn", ...flags, "--input", input);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error[${code}]`);
    expect(r.stderr).toMatch(message);
    expectNoStack(r.stderr);
  });

  const good = JSON.parse(readFileSync(join(root, "examples", "seed-input.json"), "utf8"));
  it.each([
    ["wrong input shape", { x: [[[1, 2]]] }, /input `x` has shape \[1, 1, 2\], expected \[batch, time, 3\]/],
    ["ragged input", { x: [[[1, 2, 3], [1, 2]]] }, /ragged/],
    ["non-numeric input", { x: [[[1, "a", 3]]] }, /"a", not a finite number/],
    ["unknown input key", { x: good.x, y: 1 }, /not an input of cell/],
    ["missing input", {}, /missing input `x`/],
    ["bad initial state", { x: good.x, initial_states: { h: [[1, 2]] } }, /initial state `h` has shape/],
  ])("%s is a clear RNN0605 error", (_n, content, message) => {
    const r = rnnc("run", "stdlib/elman.rnn", "--dims", "I=3,H=4", "--input", file(`bad-${_n}.json`, content));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[RNN0605]");
    expect(r.stderr).toMatch(message);
    expectNoStack(r.stderr);
  });

  it.each([
    ["missing param", (w: any) => { delete w.params.W_hh; }, "RNN0601", /param `W_hh` is missing \(expected shape \[4, 4\]\)/],
    ["extra param", (w: any) => { w.params.W_zz = { shape: [1], data: [0] }; }, "RNN0602", /`W_zz` is not a param of cell `Elman`/],
    ["wrong shape", (w: any) => { w.params.W_xh = { shape: [3, 4], data: Array(12).fill(0) }; }, "RNN0603", /param `W_xh` has shape \[3, 4\], expected \[4, 3\]/],
    ["data length", (w: any) => { w.params.b_h.data.pop(); }, "RNN0604", /param "b_h" has shape \[4\] \(4 values\) but 3 values/],
    ["non-finite", (w: any) => { w.params.b_h.data[0] = "NaN"; }, "RNN0608", /param "b_h" holds NaN at index 0[\s\S]*help: pass --allow-nonfinite/],
    ["null", (w: any) => { w.params.b_h.data[1] = null; }, "RNN0604", /param "b_h" has a value that is not a number at index 1: null/],
    ["wrong format", (w: any) => { w.format = "keras"; }, "RNN0604", /"format" is "keras"/],
  ])("weights with a %s are rejected", (_n, corrupt, code, message) => {
    const w = join(tmp, `w-${_n}.json`);
    rnnc("init", "stdlib/elman.rnn", "--dims", "I=3,H=4", "-o", w);
    const json = JSON.parse(readFileSync(w, "utf8"));
    corrupt(json);
    writeFileSync(w, JSON.stringify(json));
    const r = rnnc("run", "stdlib/elman.rnn", "--dims", "I=3,H=4", "--weights", w, "--input", input);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error[${code}]`);
    expect(r.stderr).toMatch(message);
    expectNoStack(r.stderr);
  });

  it("reads non-finite weights with --allow-nonfinite, and its outputs show them", () => {
    const w = join(tmp, "w-nan-allowed.json");
    rnnc("init", "stdlib/elman.rnn", "--dims", "I=3,H=4", "-o", w);
    const json = JSON.parse(readFileSync(w, "utf8"));
    json.params.b_h.data[0] = "Infinity";
    writeFileSync(w, JSON.stringify(json));
    const r = rnnc("run", "stdlib/elman.rnn", "--dims", "I=3,H=4", "--weights", w, "--input", input, "--allow-nonfinite");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).outputs.h[0][0][0]).toBe(1); // tanh(∞)
  });

  it("rejects a weights file that is not JSON", () => {
    const r = rnnc("run", "stdlib/elman.rnn", "--dims", "I=3,H=4", "--weights", file("junk.json", "{ not json"), "--input", input);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error\[RNN0604\].*JSON does not parse/);
  });

  it("refuses to run a file with errors, showing them", () => {
    const r = rnnc("run", "examples/seed-lstm-typo.rnn", "--dims", "I=3,H=2", "--input", input);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[RNN0301]");
  });

  it("needs --cell when a file has several cells", () => {
    const r = rnnc("run", "stdlib/lstm.rnn", "--dims", "I=3,H=2", "--input", input);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/declares several cells.*\n.*LSTM, PeepholeLSTM/);
  });
});

describe("rnnc flags, ir, explain", () => {
  it.each([["--bogus"], ["run"], ["frobnicate"], ["run", "stdlib/elman.rnn", "--input", "x.json", "--precision", "f16"]])("bad command line %j exits 2 in one line", (...args) => {
    const r = rnnc(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rnnc: .+\nTry 'rnnc --help'.\n$/);
  });

  it.each([["check"], ["run"], ["init"], ["train"], ["compile"], ["fmt"], ["lsp"], ["ir"], ["explain"]])("%s --help exits 0", (cmd) => {
    const r = rnnc(cmd, "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`rnnc ${cmd}`);
  });

  it("prints the IR with symbolic shapes", () => {
    const r = rnnc("ir", "stdlib/elman.rnn");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/%\d+ = matmul %\d+, %\d+ : \[H\]/);
    expect(r.stdout).toContain("state h: [H]");
  });

  it("explains every code and rejects unknown ones", () => {
    const r = rnnc("explain", "RNN0301");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^RNN0301: matrix product with mismatched inner dimensions/);
    expect(rnnc("explain", "301").stdout).toBe(r.stdout);
    const bad = rnnc("explain", "RNN9999");
    expect(bad.code).toBe(2);
  });
});

describe("rnnc run on models", () => {
  const spec = "examples/name-gender/name-gender.rnn";
  const tokens = [[1, 2, 3, 4], [4, 3, 0, 0]];

  it("runs the file's only model; masks and lengths mean the same", () => {
    const a = rnnc("run", spec, "--input", file("m1.json", { chars: tokens, lengths: { chars: [4, 2] } }));
    const b = rnnc("run", spec, "--input", file("m2.json", { chars: tokens, masks: { chars: [[1, 1, 1, 1], [1, 1, 0, 0]] } }));
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const full = rnnc("run", spec, "--input", file("m3.json", { chars: tokens }));
    expect(JSON.parse(full.stdout).outputs.probs[1]).not.toEqual(JSON.parse(a.stdout).outputs.probs[1]);
    expect(JSON.parse(full.stdout).outputs.probs[0]).toEqual(JSON.parse(a.stdout).outputs.probs[0]);
  });

  it("prints sequence outputs with their lengths", () => {
    const r = JSON.parse(rnnc("run", "examples/name-maker/name-maker.rnn", "--input", "examples/name-maker/input.sample.json").stdout);
    expect(r.lengths.logits).toEqual([7, 7, 7]);
    expect(r.outputs.logits[0]).toHaveLength(7);
    expect(r.outputs.logits[0][0]).toHaveLength(29);
    expect(r.lengths.name.every((n: number) => n >= 0 && n <= 14)).toBe(true);
  });

  it("needs --model when a file declares several", () => {
    const r = rnnc("run", "examples/adding/adding.rnn", "--input", "examples/adding/input.sample.json");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/declares several models[\s\S]*AddingLSTM, AddingElman/);
  });

  it.each([
    ["a wrong input shape", { chars: [[[1], [2]]] }, /input `chars` has shape \[1, 2, 1\], expected \[batch, T\]/],
    ["lengths past the end", { chars: tokens, lengths: { chars: [5, 2] } }, /lengths of `chars` must be 2 whole numbers from 1 to 4/],
    ["a token id out of range", { chars: [[1, 99]] }, /token id 99 is out of range/],
    ["fractional token ids", { chars: [[1.5, 2]] }, /token ids, which must be whole numbers/],
  ])("rejects %s with RNN0605", (_n, content, message) => {
    const r = rnnc("run", spec, "--input", file(`bad-model-${_n}.json`, content));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[RNN0605]");
    expect(r.stderr).toMatch(message);
    expectNoStack(r.stderr);
  });

  it("writes and reads model weights keyed layer.param", () => {
    const w = join(tmp, "model-w.json");
    expect(rnnc("init", spec, "-o", w, "--seed", "4").code).toBe(0);
    const names = Object.keys(JSON.parse(readFileSync(w, "utf8")).params);
    expect(names).toContain("rnn.W_xi");
    expect(names).toContain("embed.table");
    const input = file("m4.json", { chars: tokens });
    expect(rnnc("run", spec, "--weights", w, "--input", input).stdout).toBe(rnnc("run", spec, "--seed", "4", "--input", input).stdout);
  });
});

describe("rnnc run --backend", () => {
  it.each(["tfjs-cpu", "tfjs-wasm"])("%s prints the interpreter's results within float32 tolerance, and nothing on stderr", (backend) => {
    const args = ["run", "examples/g2p/g2p.rnn", "--input", "examples/g2p/input.sample.json", "--seed", "5"];
    const interp = JSON.parse(rnnc(...args).stdout);
    const r = rnnc(...args, "--backend", backend);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const tf = JSON.parse(r.stdout);
    expect(tf.lengths).toEqual(interp.lengths);
    const a = tf.outputs.logits.flat(3) as number[];
    const b = interp.outputs.logits.flat(3) as number[];
    expect(a).toHaveLength(b.length);
    a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(b[i]!))));
    expect(tf.outputs.phones).toEqual(interp.outputs.phones);
  });

  it("rejects an unknown backend and f64 on tfjs", () => {
    expect(rnnc("run", "examples/g2p/g2p.rnn", "--input", "x.json", "--backend", "gpu").code).toBe(2);
    const r = rnnc("run", "examples/g2p/g2p.rnn", "--input", "examples/g2p/input.sample.json", "--backend", "tfjs-cpu", "--precision", "f64");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/f64 is for the interpreter/);
  });
});

describe("rnnc run: passes on and off agree", () => {
  it("--no-passes and --disable-pass give the same outputs within 1e-5", () => {
    const base = ["run", "examples/co2-forecast/co2-forecast.rnn", "--input", "examples/co2-forecast/input.sample.json", "--backend", "tfjs-cpu"];
    const on = JSON.parse(rnnc(...base).stdout).outputs.next.flat(3) as number[];
    const off = JSON.parse(rnnc(...base, "--no-passes").stdout).outputs.next.flat(3) as number[];
    const fused = JSON.parse(rnnc(...base, "--disable-pass", "cse").stdout).outputs.next.flat(3) as number[];
    expect(on.length).toBeGreaterThan(10);
    on.forEach((v, i) => {
      expect(Math.abs(v - off[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(v)));
      expect(Math.abs(v - fused[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(v)));
    });
    const bad = rnnc(...base, "--disable-pass", "magic");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no such pass \(passes: dropout-off, reassociate, fuse-matmul, stack-biases, stack-adds, layout, cse, dce\)/);
  });
});

describe("rnnc compile", () => {
  it("writes the module and its .d.ts, and the module runs with trained weights built in", async () => {
    const w = join(tmp, "co2-weights.json");
    expect(rnnc("init", "examples/co2-forecast/co2-forecast.rnn", "--seed", "5", "-o", w).code).toBe(0);
    mkdirSync(join(root, ".test-out"), { recursive: true });
    const out = join(root, ".test-out", "cli-co2.js");
    const r = rnnc("compile", "examples/co2-forecast/co2-forecast.rnn", "--target", "js", "--weights", w, "-o", out);
    expect(r.stderr).toMatch(/^wrote .*cli-co2\.js \(\d+\.\d KiB, target js, model CO2Forecast, streaming\) and .*cli-co2\.d\.ts\n$/);
    expect(r.code).toBe(0);
    expect(readFileSync(out.replace(/\.js$/, ".d.ts"), "utf8")).toContain("export declare function createModel");
    const input = file("co2-in.json", { series: [[[0.1], [0.2], [0.4]]] });
    const ran = JSON.parse(rnnc("run", "examples/co2-forecast/co2-forecast.rnn", "--weights", w, "--input", input).stdout);
    const m = (await import(`${out}?v=1`)).createModel();
    const got = m.predict({ series: [[[0.1], [0.2], [0.4]]] }).next;
    expect(Array.from(got.data as Float32Array).map((v) => Math.round(v * 1e5))).toEqual(ran.outputs.next.flat(2).map((v: number) => Math.round(v * 1e5)));
  });

  it("rejects bad requests in one line with exit 2: no target, a file without a model, a bad output name", () => {
    const noTarget = rnnc("compile", "examples/co2-forecast/co2-forecast.rnn");
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toContain("Missing required argument: target");
    const cell = rnnc("compile", "stdlib/lstm.rnn", "--target", "js");
    expect(cell.code).toBe(2);
    expect(cell.stderr).toMatch(/declares no model; compile works on models/);
    const name = rnnc("compile", "examples/co2-forecast/co2-forecast.rnn", "--target", "js", "-o", join(tmp, "out.txt"));
    expect(name.code).toBe(2);
    expect(name.stderr).toContain("must end in .js or .mjs");
    const noDir = rnnc("compile", "examples/co2-forecast/co2-forecast.rnn", "--target", "js", "-o", join(tmp, "no-such-dir", "m.js"));
    expect(noDir.code).toBe(1);
    expect(noDir.stderr).toBe(`rnnc: cannot write '${join(tmp, "no-such-dir", "m.js")}': no such file or directory\n`);
    for (const r of [noTarget, cell, name, noDir]) expectNoStack(r.stderr);
  });

  it("prints an output named __proto__ as an ordinary key", () => {
    const input = file("hostile-in.json", { Float32Array: [[[0.1, 0.2, 0.3]]] });
    const r = rnnc("run", "test/emit/hostile/hostile.rnn", "--input", input);
    expect(r.code).toBe(0);
    expect(Object.keys(JSON.parse(r.stdout).outputs).sort()).toEqual(["__proto__", "h'", "return"]);
  });
});
