// Hostile input to the command line (issue 12): huge dimensions, imports of other files, outputs over inputs, file
// modes and symlinks, stale temporary files, checkpoints, non-finite numbers. Every input is generated here.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { trainingStateOf } from "../../src/weights/weights.js";
import { RnncError } from "../../src/diagnostics/errors.js";
import { modelFrom, root } from "../helpers.js";
import { compileModule } from "../../src/emit/compile.js";
import { resolveDims } from "../../src/runtime/dims.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";

const cli = join(root, "dist", "cli", "main.js");
const tmp = mkdtempSync(join(tmpdir(), "rnnc-hard-"));
// Each child reports its peak memory on exit (kilobytes), so memory bounds are measured, not assumed.
const rssProbe = join(tmp, "rss.cjs");
writeFileSync(rssProbe, `process.on("exit", () => process.stderr.write("\\nmaxRSS " + process.resourceUsage().maxRSS + "\\n"));\n`);

function rnnc(...args: string[]) {
  const r = spawnSync(process.execPath, ["-r", rssProbe, cli, ...args], { cwd: tmp, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
  const rss = Number(/maxRSS (\d+)/.exec(r.stderr)?.[1] ?? NaN) * 1024;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.replace(/\nmaxRSS \d+\n$/, ""), rss };
}
const file = (name: string, text: string) => { const p = join(tmp, name); writeFileSync(p, text); return p; };
const noStack = (s: string) => { expect(s).not.toMatch(/^\s+at .+:\d+/m); expect(s).not.toMatch(/internal error/); };

const spec = file("sq.rnn", "cell C<H> {\n  input x: [H]\n  output y = x * x\n}\n");

describe("dimensions", () => {
  it("a dimension of a billion or past 2^53 is refused before anything is allocated", () => {
    for (const h of ["1000000000", "9007199254740993"]) {
      const r = rnnc("run", "/" + spec.slice(1), "--dims", `H=${h}`, "--input", file("in.json", '{"x":[[[1,2]]]}'));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--dims H=${h}: a dimension is at most 67,108,864`);
      expect(r.rss).toBeLessThan(1 << 30);
      noStack(r.stderr);
    }
  });
  it("dimensions whose tensors would pass the limits are RNN0606, under 1 GB of memory", () => {
    const lstm = join(root, "stdlib", "lstm.rnn");
    for (const [h, what] of [["60000", "param W_hi of LSTM would have 3,600,000,000 elements"], ["8000", "the tensors of LSTM would have"]]) {
      const r = rnnc("init", lstm, "--cell", "LSTM", "--dims", `I=2,H=${h}`, "-o", join(tmp, "big.json"));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("error[RNN0606]");
      expect(r.stderr).toContain(what);
      expect(r.rss).toBeLessThan(1 << 30);
      expect(existsSync(join(tmp, "big.json"))).toBe(false);
    }
  });
  it("a dimension given twice is an error", () => {
    const r = rnnc("init", spec, "--dims", "H=2,H=3", "-o", join(tmp, "w2.json"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--dims gives H twice (H=2 and H=3)");
  });
});

describe("imports", () => {
  it("only .rnn files and the standard library: nothing of any other file is read or quoted", () => {
    const secret = file("secret.txt", "TOPSECRET line one\n");
    for (const from of ["./secret.txt", secret, "../../../../../../etc/passwd", "/etc/hostname", "./"]) {
      const s = file("imp.rnn", `import { X } from ${JSON.stringify(from)}\ncell C<H> {\n  input x: [H]\n  output y = x\n}\n`);
      const r = rnnc("check", s);
      expect(r.code, from).toBe(1);
      expect(r.stdout).toContain(`error[RNN0206]: "${from}" is not a .rnn module`);
      expect(r.stdout).not.toContain("TOPSECRET");
      expect(r.stdout).not.toContain("root:");
    }
  });
});

describe("module identity", () => {
  it("one file reached by a relative path, an absolute path and a link is one module; two modules giving one name is an error naming both", () => {
    const d = join(tmp, "ident");
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "lib.rnn"), "cell X<H> {\n  input x: [H]\n  output y = x * 2\n}\n");
    symlinkSync(join(d, "lib.rnn"), join(d, "link.rnn"));
    writeFileSync(join(d, "other.rnn"), readFileSync(join(d, "lib.rnn")));
    const model = (imports: string) => `${imports}\nmodel M<H> {\n  input x: [T, H]\n  layer a = X<H>\n  output y = map(a, x)\n}\n`;
    writeFileSync(join(d, "two-paths.rnn"), model(`import { X } from "./lib.rnn"\nimport { X } from "./link.rnn"\nimport { X } from ${JSON.stringify(join(d, "lib.rnn"))}`));
    writeFileSync(join(d, "self.rnn"), `import { X } from "./self.rnn"\ncell X<H> {\n  input x: [H]\n  output y = x * 2\n}\n`);
    for (const f of ["two-paths.rnn", "self.rnn", join(d, "self.rnn")]) {
      const r = spawnSync(process.execPath, [cli, "check", f], { cwd: d, encoding: "utf8" });
      expect(r.stdout + r.stderr, f).toContain("no problems found");
      expect(r.status).toBe(0);
    }
    writeFileSync(join(d, "clash.rnn"), model(`import { X } from "./lib.rnn"\nimport { X } from "./other.rnn"`));
    const r = spawnSync(process.execPath, [cli, "check", "clash.rnn"], { cwd: d, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("error[RNN0202]: `X` is imported twice, from two different modules");
    expect(r.stdout).toContain('first imported here, from "./lib.rnn"');
  });
});

describe("one writer per output", () => {
  it("a second trainer on one -o stops with RNN0609 naming the first; the lock goes when the first ends; a stale lock is taken over", async () => {
    const d = join(tmp, "lock");
    mkdirSync(d, { recursive: true });
    const out = join(d, "ng.json");
    const ng = join(root, "examples", "name-gender");
    const args = ["train", join(ng, "name-gender.rnn"), "--data", join(ng, "data.mjs"), "--output", "probs", "--loss", "crossentropy", "-o", out];
    const first = spawn(process.execPath, [cli, ...args, "--epochs", "500"], { cwd: d, stdio: ["ignore", "ignore", "pipe"] });
    let firstErr = "";
    first.stderr.on("data", (b) => { firstErr += String(b); });
    for (let i = 0; i < 300 && !existsSync(`${out}.lock`); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(`${out}.lock`)).toBe(true);
    const second = rnnc(...args, "--epochs", "1", "--limit", "64", "--force");
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`error[RNN0609]: '${out}' is being written by another process: rnnc train`);
    expect(second.stderr).toContain(`(pid ${first.pid}`);
    noStack(second.stderr);
    const ended = new Promise<number | null>((r) => first.on("exit", r));
    first.kill("SIGINT");
    expect(await ended).toBe(130);
    expect(firstErr).toContain("interrupted");
    expect(existsSync(`${out}.lock`)).toBe(false);
    // A lock whose process is gone (pid 2^22 + 1 is past Linux's largest) is stale.
    writeFileSync(`${out}.lock`, JSON.stringify({ pid: 4194305, host: hostname(), since: "earlier", command: "rnnc train" }));
    const third = rnnc(...args, "--epochs", "1", "--limit", "64", "--force");
    expect(third.code, third.stderr).toBe(0);
    expect(existsSync(`${out}.lock`)).toBe(false);
  }, 60_000);
});

describe("files", () => {
  it("an output that names an input is refused and the input is kept", () => {
    const before = readFileSync(spec, "utf8");
    for (const args of [["init", spec, "--dims", "H=2", "-o", spec], ["init", spec, "--dims", "H=2", "-o", join(tmp, ".", "sq.rnn")]]) {
      const r = rnnc(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("is the spec");
      expect(readFileSync(spec, "utf8")).toBe(before);
    }
  });
  it("atomic writes keep the file's mode, refuse a read-only file, write through a symlink and clear stale temporary files", () => {
    const out = join(tmp, "w.json");
    const oldWeights = '{"format": "rnnc-weights", "version": 1, "params": {}}';
    writeFileSync(out, oldWeights);
    chmodSync(out, 0o600);
    expect(rnnc("init", spec, "--dims", "H=2", "-o", out).code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(out, "utf8")).format).toBe("rnnc-weights");

    chmodSync(out, 0o444);
    writeFileSync(join(tmp, "ro-before"), readFileSync(out));
    const ro = rnnc("init", spec, "--dims", "H=2", "--seed", "5", "-o", out);
    expect(ro.code).toBe(1);
    expect(ro.stderr).toContain("is read-only; not written");
    expect(readFileSync(out, "utf8")).toBe(readFileSync(join(tmp, "ro-before"), "utf8"));
    chmodSync(out, 0o644);

    const real = join(tmp, "real.json");
    writeFileSync(real, oldWeights);
    const link = join(tmp, "link.json");
    symlinkSync(real, link);
    const stale = join(tmp, ".real.json.rnnc-999999999.tmp");
    writeFileSync(stale, "x".repeat(1 << 20));
    expect(rnnc("init", spec, "--dims", "H=2", "-o", link).code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(real);
    expect(JSON.parse(readFileSync(real, "utf8")).format).toBe("rnnc-weights");
    expect(existsSync(stale)).toBe(false);
  });
  it("fmt on a directory does not follow a symlinked directory (a loop ends)", () => {
    const d = join(tmp, "tree");
    mkdirSync(join(d, "sub"), { recursive: true });
    writeFileSync(join(d, "sub", "a.rnn"), "cell   C<H> {\n input x: [H]\n output y = x\n}\n");
    symlinkSync(d, join(d, "sub", "loop"));
    const r = rnnc("fmt", d);
    expect(r.code).toBe(0);
    expect(r.stderr.match(/formatted/g)).toHaveLength(1);
  });
  it("training over an existing checkpoint needs --resume or --force", () => {
    const out = file("ck.json", '{"format": "rnnc-weights", "version": 1, "params": {}}');
    const r = rnnc("train", spec, "--data", file("d.mjs", "export function load() { return { train: [], test: [] }; }"), "--output", "y", "--loss", "mse", "-o", out);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("already exists: --resume continues training from it, --force starts afresh");
    expect(readFileSync(out, "utf8")).toContain("rnnc-weights");
  });
  it("-o never replaces a file of another kind, even with --force: a spec, a source file, someone's data", () => {
    const data = file("d2.mjs", "export function load() { return { train: [], test: [] }; }");
    for (const [name, text] of [["mine.rnn", "cell C<H> {\n  input x: [H]\n  output y = x\n}\n"], ["notes.json", '{"my": "notes"}'], ["model.js", "export const x = 1;\n"]] as const) {
      const out = file(name, text);
      const runs = [
        rnnc("train", spec, "--data", data, "--output", "y", "--loss", "mse", "--force", "-o", out),
        rnnc("init", spec, "--dims", "H=2", "-o", out),
        ...(name.endsWith(".js") ? [rnnc("compile", join(root, "examples", "co2-forecast", "co2-forecast.rnn"), "--target", "js", "-o", out)] : []),
      ];
      for (const r of runs) {
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(new RegExp(`the output '.*${name.replace(".", "\\.")}' exists and is not (an rnnc weights file|a module rnnc generated); rnnc does not replace it`));
        noStack(r.stderr);
      }
      expect(readFileSync(out, "utf8")).toBe(text);
    }
  });
});

describe("checkpoints", () => {
  it("a non-finite held-out loss is never written into a checkpoint: the last good one stays", () => {
    // Valid float32 data whose held-out inputs overflow the model: x³ of 1e20 is past float32, so the held-out loss is not finite.
    const data = file("inf.mjs", "const e = (x) => ({ inputs: { x: [[x, x]] }, target: [[0.5, 0.5]] });\nexport function load() { return { train: [e(0.5), e(0.25)], test: [e(1e20)] }; }\n");
    const seqSpec = file("cube.rnn", "import { Dense } from \"std\"\ncell Cube<I> {\n  input x: [I]\n  output y = x * x * x\n}\nmodel M {\n  input x: [T, 2]\n  layer c = Cube<2>\n  layer d = Dense<2, 2>\n  output y = map(d, map(c, x))\n}\n");
    const out = join(tmp, "inf.json");
    const r = rnnc("train", seqSpec, "--data", data, "--output", "y", "--loss", "mse", "--epochs", "2", "-o", out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error\[RNN0605\]: the test loss became (Infinity|NaN) in epoch 1; the checkpoint of no epoch is kept/);
    expect(existsSync(out)).toBe(false);
    noStack(r.stderr);
  });
  const ck = (training: unknown) => JSON.stringify({ format: "rnnc-weights", version: 1, params: {}, training });
  const good = { epoch: 2, history: { train: [1, 0.5], test: [1, 0.6], metric: [0.1, 0.2], metricName: "rmse" } };
  it("are checked field by field, the field named", () => {
    expect(trainingStateOf(ck(good), "c.json")?.epoch).toBe(2);
    expect(trainingStateOf(JSON.stringify({ params: {} }), "c.json")).toBeUndefined();
    const cases: [unknown, string][] = [
      ["x", '"training" is not an object'],
      [{ ...good, epoch: -1 }, '"training.epoch" is -1'],
      [{ ...good, epoch: 1.5 }, '"training.epoch" is 1.5'],
      [{ ...good, history: "lots" }, '"training.history" is not an object'],
      [{ ...good, history: { ...good.history, train: "x" } }, '"training.history.train" is not a list of finite numbers'],
      [{ ...good, history: { ...good.history, test: [1] } }, '"training.history.test" has 1 entries for 2 epochs'],
      [{ ...good, history: { ...good.history, metricName: 3 } }, '"training.history.metricName" is not a string'],
      [{ ...good, optimizer: [] }, '"training.optimizer" is not an object'],
      [{ ...good, optimizer: { name: "adam", weights: [{ name: "w", shape: [2], data: [1] }] } }, '"training.optimizer.weights[0].data" has 1 values for shape [2]'],
      [{ ...good, optimizer: { name: "adam", weights: [{ name: "w", shape: [-2], data: [] }] } }, '"training.optimizer.weights[0].shape" is not a list of whole numbers'],
    ];
    for (const [t, message] of cases) {
      let err: unknown;
      try { trainingStateOf(ck(t), "c.json"); } catch (e) { err = e; }
      expect(err, message).toBeInstanceOf(RnncError);
      expect((err as RnncError).code).toBe("RNN0604");
      expect((err as RnncError).message).toContain(message);
    }
  });
});

describe("non-finite numbers", () => {
  it("outputs that overflow are written as the string \"Infinity\" with a warning, never as null", () => {
    const r = rnnc("run", spec, "--dims", "H=2", "--input", file("big.json", '{"x":[[[1e30,2]]]}'));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).outputs.y).toEqual([[["Infinity", 4]]]);
    expect(r.stderr).toContain('warning: 1 output value is not finite (written as the strings "NaN", "Infinity" or "-Infinity")');
  });
  it("inputs beyond float32 are refused where they enter", () => {
    const r = rnnc("run", spec, "--dims", "H=2", "--input", file("huge.json", '{"x":[[[1e308,2]]]}'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[RNN0605]: input \"x\"[0][0][0] is 1e+308, beyond the range of float32");
    noStack(r.stderr);
  });
  it("a compiled module's step() and predict refuse NaN and Infinity", async () => {
    const ir = modelFrom("import { Elman } from \"std\"\nmodel M<I = 2, H = 3> {\n  input xs: [T, I]\n  layer r = Elman<I, H>\n  output hs = scan(r, xs)\n}\n");
    const env = resolveDims(ir, new Map());
    const compiled = await compileModule({ ir, env, target: "js", weights: initParams(modelParamSpecs(ir, env), 0), weightsGiven: false, source: "m.rnn", version: "test" });
    const path = join(tmp, "nan.js");
    writeFileSync(path, compiled.js);
    const m = (await import(pathToFileURL(path).href)).createModel();
    expect(() => m.step({ xs: [0.5, NaN] })).toThrow(/step input `xs`\[1\] is NaN, not a finite float32 number/);
    expect(() => m.step({ xs: Float32Array.of(Infinity, 0) })).toThrow(/is Infinity/);
    expect(() => m.run({ xs: { shape: [1, 1, 2], data: [0, NaN] } })).toThrow(/data\[1\] is NaN/);
    expect(m.step({ xs: [0.5, 0.25] }).hs.every(Number.isFinite)).toBe(true);
  });
});

