// rnnc summary: every example model's layers and parameter counts, checked against the weights `rnnc init` writes.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Summary } from "../../src/api/summary.js";
import { compiler, root } from "../helpers.js";

const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), ...args], { cwd: root, encoding: "utf8" });
const examples = join(root, "examples");
const cases = readdirSync(examples)
  .filter((f) => f !== "shared" && statSync(join(examples, f)).isDirectory())
  .flatMap((folder) => [...compiler.check(join(examples, folder, `${folder}.rnn`)).models.keys()].map((model) => [folder, model] as const));

describe("rnnc summary", () => {
  const dir = mkdtempSync(join(tmpdir(), "rnnc-summary-"));
  it.each(cases)("examples/%s, model %s: every layer's parameter count and the total equal the weights file's sizes", (folder, model) => {
    const spec = join("examples", folder, `${folder}.rnn`);
    const r = cli("summary", spec, "--model", model, "--json");
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    const out = join(dir, `${folder}-${model}.json`);
    expect(cli("init", spec, "--model", model, "-o", out).status).toBe(0);
    const params = JSON.parse(readFileSync(out, "utf8")).params as Record<string, { shape: number[] }>;
    const size = (prefix: string) => Object.entries(params).filter(([k]) => k.startsWith(prefix)).reduce((a, [, p]) => a + p.shape.reduce((x, y) => x * y, 1), 0);
    expect(s.total).toBe(size(""));
    expect(s.total).toBeGreaterThan(0);
    for (const l of s.layers) {
      expect(l.params, l.name).toBe(size(`${l.name}.`));
      for (const p of l.parts) expect(p.params, `${l.name}.${p.name}`).toBe(size(`${l.name}.${p.name}.`));
      if (l.parts.length) expect(l.parts.reduce((a, p) => a + p.params, 0)).toBeLessThanOrEqual(l.params);
    }
    // Every layer of the weights file is a row.
    expect(new Set(Object.keys(params).map((k) => k.split(".")[0]))).toEqual(new Set(s.layers.map((l) => l.name)));
    const text = cli("summary", spec, "--model", model);
    expect(text.stdout).toContain(`total: ${s.total.toLocaleString("en-US")} params`);
  });

  it("shows symbolic and concrete shapes, how each layer is applied, and --dims changes the numbers", () => {
    const r = cli("summary", "examples/name-gender/name-gender.rnn", "--dims", "H=64");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rnn\s+LSTM<E, H>.*scan\s+\[E\] = \[16\] → \[H\] = \[64\]\s+h \[H\] = \[64\], c \[H\] = \[64\]\s+20,736/);
    expect(r.stdout).toMatch(/head\s+Dense<H, C>\(act = softmax\)\s+apply/);
    expect(r.stdout).toContain("output probs: [batch, C] = [batch, 2]");
    const bad = cli("summary", "examples/name-gender/name-gender.rnn", "--dims", "H=0");
    expect(bad.status).toBe(2);
    expect(cli("summary", "examples/seed-elman.rnn").status).toBe(1); // cells only: no model to list
  });
});
