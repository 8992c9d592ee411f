// `rnnc train --engine torch`: PyTorch in one process and in two (torchrun, DDP over gloo) against each other and the node engine; checkpoints across engines; failures.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { root } from "../helpers.js";
// @ts-expect-error a plain ES module of the tests (no types)
import { torchPython } from "../torch-env.mjs";

let python = "";
beforeAll(() => {
  python = torchPython();
}, 900_000);

const cli = join(root, "dist", "cli", "main.js");
const dir = mkdtempSync(join(tmpdir(), "rnnc-torch-engine-"));
const ex = (p: string) => join(root, "examples", p);

function rnnc(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", RNNC_PYTHON: python }, maxBuffer: 1 << 26 });
}

/** Trains and returns the checkpoint's params, failing with rnnc's output if it did not finish. */
function train(out: string, args: readonly string[]): Record<string, { shape: number[]; data: number[] }> {
  // One thread each: the tests share the machine's cores with each other (PyTorch's spinning threads crawl when oversubscribed).
  const r = rnnc("train", ...args, "--threads", "1", "-o", out, ...(args.includes("--resume") ? [] : ["--force"]));
  if (r.status !== 0) throw new Error(`rnnc train ${args.join(" ")} failed:\n${r.stderr}`);
  return (JSON.parse(readFileSync(join(dir, out), "utf8")) as { params: Record<string, { shape: number[]; data: number[] }> }).params;
}

const largest = (a: Record<string, { data: number[] }>, b: Record<string, { data: number[] }>): number => {
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  let worst = 0;
  for (const [k, t] of Object.entries(a)) t.data.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - b[k]!.data[i]!)); });
  return worst;
};

const nameGenderOf = (limit: number) => [ex("name-gender/name-gender.rnn"), "--data", ex("name-gender/data.mjs"), "--output", "probs", "--loss", "crossentropy", "--limit", String(limit), "--batch-size", "16", "--lr", "0.01"];
const nameGender = nameGenderOf(160);

describe("the torch engine trains as the node engine does", () => {
  it("two processes (torchrun, DDP over gloo) give one process's weights on the same batches, and the node engine's", () => {
    const args = [...nameGender, "--epochs", "2"];
    const one = train("one.json", [...args, "--engine", "torch"]);
    const two = train("two.json", [...args, "--engine", "torch", "--nproc", "2"]);
    const node = train("node.json", args);
    expect(largest(one, two), "1 process vs 2").toBeLessThan(1e-5);
    expect(largest(node, one), "node engine vs torch").toBeLessThan(1e-5);
    // and training moved them: the comparison is not between two copies of the start
    const start = rnnc("init", ex("name-gender/name-gender.rnn"), "-o", "init.json");
    expect(start.status).toBe(0);
    const init = (JSON.parse(readFileSync(join(dir, "init.json"), "utf8")) as { params: Record<string, { data: number[] }> }).params;
    expect(largest(init, one)).toBeGreaterThan(1e-3);
  }, 240_000);

  it("the same with a batch that does not split evenly, gradient accumulation, clipping, weight decay and a schedule (mse)", () => {
    const args = [ex("co2-forecast/co2-forecast.rnn"), "--data", ex("co2-forecast/data.mjs"), "--output", "next", "--loss", "mse", "--epochs", "2", "--limit", "90", "--batch-size", "13",
      "--accumulate", "2", "--clip", "0.5", "--weight-decay", "0.01", "--schedule", "cosine", "--warmup", "0.5", "--optimizer", "rmsprop", "--lr", "0.003"];
    const one = train("co2-one.json", [...args, "--engine", "torch"]);
    const three = train("co2-three.json", [...args, "--engine", "torch", "--nproc", "3"]);
    const node = train("co2-node.json", args);
    expect(largest(one, three), "1 process vs 3").toBeLessThan(1e-5);
    expect(largest(node, one), "node engine vs torch").toBeLessThan(1e-5);
  }, 240_000);

  it("CTC (speech) and dropout with attention (g2p): rnnc's losses and masks", () => {
    const speech = [ex("speech/speech.rnn"), "--data", ex("speech/data.mjs"), "--output", "scores", "--loss", "ctc", "--epochs", "1", "--limit", "48", "--batch-size", "12", "--optimizer", "momentum", "--lr", "0.001"];
    expect(largest(train("sp-node.json", speech), train("sp-two.json", [...speech, "--engine", "torch", "--nproc", "2"])), "ctc").toBeLessThan(1e-5);
    // (momentum, not Adam: Adam's first steps move every weight by ±lr whatever its gradient's size, so a gradient
    // within rounding of zero, summed in another order by nn.LSTM's kernel for another batch size, moves it either way)
    const g2p = [ex("g2p/g2p-bi-drop.rnn"), "--data", ex("g2p/data.mjs"), "--output", "logits", "--loss", "crossentropy", "--epochs", "1", "--limit", "96", "--batch-size", "24",
      "--optimizer", "momentum", "--lr", "0.05", "--clip", "5"];
    const node = train("g2p-node.json", g2p);
    const one = train("g2p-one.json", [...g2p, "--engine", "torch"]);
    const two = train("g2p-two.json", [...g2p, "--engine", "torch", "--nproc", "2"]);
    expect(largest(one, two), "dropout masks split between processes").toBeLessThan(1e-5);
    // four steps through attention and three LSTMs: float32 sums in another order
    expect(largest(node, one), "node engine vs torch").toBeLessThan(1e-5);
  }, 300_000);
});

describe("several machines (torchrun's static rendezvous), simulated by two rnnc commands on this one", () => {
  it("machine 0 drives and writes the checkpoint, machine 1 serves; the weights are one process's", async () => {
    const args = [...nameGender, "--epochs", "2", "--engine", "torch", "--threads", "1", "--nnodes", "2"];
    const port = String(29_400 + Math.floor(Math.random() * 500));
    const run = (rank: number, out: string) => new Promise<{ code: number | null; err: string }>((done) => {
      const child = spawn(process.execPath, [cli, "train", ...args, "--node-rank", String(rank), "--master", `127.0.0.1:${port}`, "-o", out, "--force"], { cwd: dir, env: { ...process.env, NO_COLOR: "1", RNNC_PYTHON: python } });
      let err = "";
      child.stderr.on("data", (d: Buffer) => { err += d.toString(); });
      child.on("exit", (code) => done({ code, err }));
    });
    const [zero, one] = await Promise.all([run(0, "m0.json"), run(1, "m1.json")]);
    expect(zero.code, zero.err).toBe(0);
    expect(one.code, one.err).toBe(0);
    expect(one.err).toContain("machine 1: its processes trained under rank 0's");
    expect(existsSync(join(dir, "m1.json")), "only machine 0 writes").toBe(false);
    const single = train("m.json", [...nameGender, "--epochs", "2", "--engine", "torch"]);
    const both = (JSON.parse(readFileSync(join(dir, "m0.json"), "utf8")) as { params: Record<string, { shape: number[]; data: number[] }> }).params;
    expect(largest(single, both)).toBeLessThan(1e-5);
  }, 240_000);
});

describe("checkpoints cross engines", () => {
  it("a torch checkpoint runs in rnnc run as the compiled torch module runs it, and resumes on the node engine (and back)", () => {
    const args = [...nameGender, "--optimizer", "adam"];
    train("t1.json", [...args, "--epochs", "1", "--engine", "torch"]);
    // rnnc run and the PyTorch module compiled with the checkpoint's weights: the same outputs
    const input = ex("name-gender/input.sample.json");
    const run = rnnc("run", ex("name-gender/name-gender.rnn"), "--weights", "t1.json", "--input", input);
    expect(run.status, run.stderr).toBe(0);
    expect(rnnc("compile", ex("name-gender/name-gender.rnn"), "--target", "pytorch", "--weights", "t1.json", "-o", "t1.py").status).toBe(0);
    const torch = spawnSync(python, [join(root, "test", "emit", "pytorch", "run_module.py"), join(dir, "t1.py"), input], { encoding: "utf8" });
    expect(torch.status, torch.stderr).toBe(0);
    const a = (JSON.parse(run.stdout) as { outputs: { probs: number[][] } }).outputs.probs.flat(), b = (JSON.parse(torch.stdout) as { probs: number[][] }).probs.flat();
    expect(a.length).toBeGreaterThan(0);
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeLessThan(1e-5);
    // epoch 1 on torch, epoch 2 on node (Adam's moments carried in the checkpoint) = both on node; and the other way
    const mixed = train("t1.json", [...args, "--epochs", "2", "--resume"]);
    const straight = train("n2.json", [...args, "--epochs", "2"]);
    expect(largest(straight, mixed), "torch then node").toBeLessThan(1e-5);
    train("n1b.json", [...args, "--epochs", "1"]);
    const back = train("n1b.json", [...args, "--epochs", "2", "--resume", "--engine", "torch"]);
    expect(largest(straight, back), "node then torch").toBeLessThan(1e-5);
  }, 240_000);
});

describe("failures say what happened", () => {
  it("a python without torch, or none: RNN0611 naming it and how to install, no stack trace, nothing written", () => {
    const r = rnnc("train", ...nameGender, "--epochs", "1", "--engine", "torch", "--python", join(dir, "no-such-python"), "-o", "none.json");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/error\[RNN0611\]: --engine torch runs python with torch, and '.*no-such-python' will not do: it cannot be run \(ENOENT\)/);
    expect(r.stderr).toMatch(/pip install torch numpy/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, "none.json"))).toBe(false);
    const bare = spawnSync("python3", ["-c", "import torch"], { encoding: "utf8" });
    if (bare.status !== 0) {
      const r2 = rnnc("train", ...nameGender, "--epochs", "1", "--engine", "torch", "--python", "python3", "-o", "none.json");
      expect(r2.stderr).toMatch(/cannot import torch and numpy \(ModuleNotFoundError: No module named '(torch|numpy)'\)/);
    }
  });

  it("torch-only flags without --engine torch, and bad values, are usage errors", () => {
    const r = rnnc("train", ...nameGender, "--epochs", "1", "--nproc", "2", "-o", "none.json");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("--nproc sets up PyTorch; give --engine torch with it");
    const r2 = rnnc("train", ...nameGender, "--epochs", "1", "--engine", "torch", "--nproc", "0", "-o", "none.json");
    expect(r2.stderr).toContain("--nproc must be a whole number ≥ 1, not 0");
    const r3 = rnnc("train", ...nameGender, "--epochs", "1", "--engine", "torch", "--backend", "fused", "-o", "none.json");
    expect(r3.stderr).toContain("--backend fused chooses among this process's engines; with --engine torch, PyTorch computes");
    const r4 = rnnc("train", ...nameGender, "--epochs", "1", "--engine", "torch", "--nnodes", "2", "-o", "none.json");
    expect(r4.stderr).toContain("--nnodes N needs --master HOST:PORT");
  });

  it("Ctrl-C stops the trainers between batches: exit 130, the last epoch's checkpoint intact, no process left", async () => {
    // (trainers this machine ran already, another rnnc train for one, are not this test's)
    const trainers = () => new Set(spawnSync("pgrep", ["-f", "rnnc-torch-.*config.json"], { encoding: "utf8" }).stdout.trim().split("\n").filter((x) => x));
    const before = trainers();
    const child = spawn(process.execPath, [cli, "train", ...nameGenderOf(8000), "--epochs", "40", "--engine", "torch", "--threads", "1", "-o", "int.json"], { cwd: dir, env: { ...process.env, NO_COLOR: "1", RNNC_PYTHON: python } });
    let err = "", sent = false;
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      if (!sent && /epoch 2\/40 +train loss/.test(err)) sent = child.kill("SIGINT");
    });
    const code = await new Promise<number | null>((done) => child.on("exit", (c) => done(c)));
    expect(code, err).toBe(130);
    const kept = /interrupted: the checkpoint of epoch (\d+) in int.json is intact/.exec(err);
    expect(kept, err).not.toBeNull();
    const state = JSON.parse(readFileSync(join(dir, "int.json"), "utf8")) as { training: { epoch: number } };
    expect(state.training.epoch).toBe(Number(kept![1]));
    expect(state.training.epoch).toBeLessThan(40);
    expect([...trainers()].filter((p) => !before.has(p))).toEqual([]);
  }, 240_000);
});
