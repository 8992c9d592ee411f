// rnnc graph's SVGs and rnnc trace's pages in a real browser (headless Chromium): every example's load with no console error and no request off the machine, hover shows the exact value, traced numbers equal run's, hostile specs cannot inject.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, openPage } from "../browser.js";
import { exampleModels, root } from "../helpers.js";

const cli = join(root, "dist", "cli", "main.js");
const out = mkdtempSync(join(tmpdir(), "rnnc-pictures-"));
const shots = join(root, ".test-out", "screenshots");
mkdirSync(shots, { recursive: true });

function rnnc(args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

let browser: Browser;
beforeAll(async () => { browser = await launchBrowser(); }, 120_000);
afterAll(async () => { await browser?.close(); });

const models = exampleModels(["G2PBiAttention", "G2PBi2Drop", "G2PBi2Wide", "G2PEnsemble"]).map(([label, ir]) => ({ label, name: ir.name, file: ir.file, sample: join(dirname(ir.file), "input.sample.json") }));

describe("every example, drawn and traced, in headless Chromium", () => {
  it.each(models)("$label: rnnc graph's SVG loads with no console error; every box is drawn", async (m) => {
    const svg = join(out, `${m.name}.svg`), json = join(out, `${m.name}.json`);
    for (const [file, format] of [[svg, "svg"], [json, "json"]] as const) {
      const r = rnnc(["graph", m.file, "--model", m.name, "--format", format, "-o", file]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    }
    const boxes = (JSON.parse(readFileSync(json, "utf8")) as { boxes: unknown[] }).boxes.length;
    const w = await openPage(browser, pathToFileURL(svg).href);
    expect(w.errors).toEqual([]);
    expect(w.remote).toEqual([]);
    expect(await w.page.$$eval("g.box", (gs) => gs.length)).toBe(boxes);
    await w.page.close();
  }, 120_000);

  it.each(models)("$label: rnnc trace's page loads offline with no console error; hovering a heat map shows its exact value; the numbers are run's", async (m) => {
    const page = join(out, `${m.name}.html`);
    const r = rnnc(["trace", m.file, "--model", m.name, "--input", m.sample, "-o", page]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const w = await openPage(browser, pathToFileURL(page).href);
    expect(w.errors).toEqual([]);
    expect(w.remote).toEqual([]);
    expect(await w.page.$$eval("section.use", (s) => s.length)).toBeGreaterThan(0);
    expect(await w.page.$$eval("script", (s) => s.length)).toBe(1);
    // hover the first cell of the first heat map: the bar shows what it is and its value, as data-v holds it
    const cell = (await w.page.$("svg.heat rect[data-v]"))!;
    await cell.hover();
    const [bar, v] = await Promise.all([w.page.$eval("#hover", (e) => e.textContent ?? ""), cell.evaluate((e) => e.getAttribute("data-v"))]);
    expect(bar).toContain(`at step 0 = ${v}`);
    expect(bar).toMatch(/\(.*\.rnn:\d+\)/);
    await w.page.screenshot({ path: join(shots, `trace-${m.name}.png`) });
    await w.page.close();
    // run --trace's numbers: its outputs are run's own (the default backend), and each layer's output traced step by step is what run outputs
    const plain = JSON.parse(rnnc(["run", m.file, "--model", m.name, "--input", m.sample]).stdout) as { outputs: Record<string, unknown> };
    const traced = JSON.parse(rnnc(["run", m.file, "--model", m.name, "--input", m.sample, "--trace", "all"]).stdout) as { outputs: Record<string, unknown>; trace: { values: Record<string, unknown> }[] };
    expect(traced.trace.length).toBeGreaterThan(0);
    for (const [name, v] of Object.entries(plain.outputs)) {
      const a = (traced.outputs[name] as unknown[]).flat(Infinity) as number[], b = (v as unknown[]).flat(Infinity) as number[];
      expect(a).toHaveLength(b.length);
      expect(Math.max(0, ...a.map((x, i) => Math.abs(x - b[i]!)))).toBeLessThan(1e-5);
    }
  }, 180_000);
});

describe("hostile specs in the browser", () => {
  it("markup in a file's path and quotes and other scripts in its names reach the pictures and the page as text only", async () => {
    const dir = join(out, `<img src=x onerror=alert(1)>"'&`);
    mkdirSync(dir, { recursive: true });
    const spec = join(dir, "σ'.rnn");
    writeFileSync(spec, `cell Σ'<x<H> {\n  input x': [H]\n  state h': [H] = 0\n  param W: [H, H] ~ orthogonal\n  gate g' = sigmoid(W @ h'[t-1] + x')\n  h' = g' * tanh(x' + h'[t-1])\n  output h'\n}\n`.replace("Σ'<x", "Σ'x"));
    writeFileSync(join(dir, "in.json"), JSON.stringify({ "x'": [[[0.1, 0.2], [0.3, -0.1]]] }));
    const svg = join(out, "hostile.svg"), page = join(out, "hostile.html");
    expect(rnnc(["graph", spec, "-o", svg]).status).toBe(0);
    const t = rnnc(["trace", spec, "--dims", "H=2", "--input", join(dir, "in.json"), "-o", page]);
    expect(t.stderr).toBe("");
    expect(t.status).toBe(0);
    for (const [file, scripts] of [[svg, 0], [page, 1]] as const) {
      const w = await openPage(browser, pathToFileURL(file).href);
      expect(w.dialogs).toEqual([]);
      expect(w.errors).toEqual([]);
      expect(w.remote).toEqual([]); // the <img src=x> never became an element, so nothing was fetched
      expect(await w.page.$$eval("script", (s) => s.length)).toBe(scripts);
      expect(await w.page.$$eval("img", (s) => s.length)).toBe(0);
      expect(await w.page.$eval("svg, body", (e) => e.textContent ?? "")).toContain("g'");
      await w.page.close();
    }
    expect(readFileSync(svg, "utf8")).toContain(`data-file="${join(dir, "σ'.rnn").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")}"`);
  }, 120_000);

  it("a cell of 10,000 equations: graph says it will not lay it out (no stack trace), DOT is written, the trace page stays small and loads", async () => {
    const lines = ["cell Huge<H> {", "  input x: [H]", "  state h: [H] = 0", "  v0 = tanh(x + h[t-1])"];
    for (let k = 1; k < 9_990; k++) lines.push(`  v${k} = v${k - 1} * 0.5`);
    lines.push("  h = v9989", "  output h", "}");
    const spec = join(out, "huge.rnn"), input = join(out, "huge-in.json");
    writeFileSync(spec, lines.join("\n"));
    writeFileSync(input, JSON.stringify({ x: [[[0.1, 0.2], [0.3, 0.4]]] }));
    const svg = rnnc(["graph", spec]);
    expect(svg.status).toBe(1);
    expect(svg.stderr).toMatch(/^error\[RNN0605\]: cannot draw cell Huge: 9,99\d boxes are more than the 1,000 a picture lays out/);
    expect(svg.stderr).not.toMatch(/\bat \S+\.js:\d+/);
    expect(rnnc(["graph", spec, "--format", "dot"]).stdout.split("\n").length).toBeGreaterThan(19_000);
    const page = join(out, "huge.html");
    const t = rnnc(["trace", spec, "--dims", "H=2", "--input", input, "-o", page]);
    expect(t.status, t.stderr).toBe(0);
    expect(readFileSync(page).length).toBeLessThan(2_000_000);
    const w = await openPage(browser, pathToFileURL(page).href);
    expect(w.errors).toEqual([]);
    expect(await w.page.$$eval(".value", (vs) => vs.length)).toBe(200);
    expect(await w.page.$eval("body", (b) => b.textContent ?? "")).toMatch(/cell Huge: not drawn \(9,99\d boxes[\s\S]*and 9,?79\d more values, not drawn/);
    await w.page.close();
  }, 180_000);
});
