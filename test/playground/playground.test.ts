// The playground in a real browser (headless Chromium on `rnnc playground`'s server): the seed's typo typed in shows RNN0301 where it is and fixing it clears it, hover gives shapes, the picture shows the gates, a run draws traces, training lowers the loss; the server refuses what is not its own.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { request } from "node:http";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, openPage, type Watched } from "../browser.js";
import { root } from "../helpers.js";

const shots = join(root, ".test-out", "screenshots");
mkdirSync(shots, { recursive: true });
let server: ChildProcess, origin = "", browser: Browser, w: Watched;

/** The server's answer to a raw request path (sent as written, no normalisation). */
function status(path: string, method = "GET", host = "127.0.0.1"): Promise<number> {
  const port = Number(new URL(origin).port);
  return new Promise((ok, fail) => { const r = request({ host, port, path, method }, (res) => { res.resume(); ok(res.statusCode ?? 0); }); r.on("error", fail); r.end(); });
}

beforeAll(async () => {
  server = spawn(process.execPath, [join(root, "dist", "cli", "main.js"), "playground", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  origin = await new Promise<string>((ok, fail) => {
    let out = "";
    server.stdout!.on("data", (d: Buffer) => { out += d; const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out); if (m) ok(m[0]); });
    server.once("exit", (c) => fail(new Error(`rnnc playground exited (${c}): ${out}`)));
  });
  browser = await launchBrowser();
  w = await openPage(browser, origin, (u) => u.startsWith(origin) || u.startsWith("data:"));
  await w.page.setViewport({ width: 1400, height: 1000 });
  await w.page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  server?.kill("SIGINT");
});

const editorText = (p: Page) => p.evaluate(() => (globalThis as unknown as { rnncPlayground: { view: { state: { doc: { toString(): string } } } } }).rnncPlayground.view.state.doc.toString());
/** Selects [from, to) of the document, as a user's drag would (the cursor then sits in that place). */
const select = (p: Page, from: number, to = from) => p.evaluate((a, b) => {
  const v = (globalThis as unknown as { rnncPlayground: { view: { dispatch(t: object): void; focus(): void } } }).rnncPlayground.view;
  v.dispatch({ selection: { anchor: a, head: b } });
  v.focus();
}, from, to);

describe("the playground in headless Chromium", () => {
  it("loads from the local server with no console error and no request to anywhere else", async () => {
    expect(await w.page.$eval("#status", (e) => e.textContent)).toMatch(/^ready/);
    expect(w.errors).toEqual([]);
    expect(w.remote).toEqual([]);
    await w.page.screenshot({ path: join(shots, "playground-start.png") });
  });

  it("typing the seed's LSTM typo shows RNN0301 on the product it makes; typing the fix clears it", async () => {
    const text = await editorText(w.page);
    const at = text.indexOf("W_hg @ h[t-1]");
    expect(at).toBeGreaterThan(0);
    await select(w.page, at, at + 4);
    await w.page.keyboard.type("W_xg");
    await w.page.waitForSelector("#problems pre.error", { timeout: 30_000 });
    const problem = await w.page.$eval("#problems pre.error", (e) => ({ code: e.getAttribute("data-code"), from: Number(e.getAttribute("data-from")), text: e.textContent ?? "" }));
    expect(problem.code).toBe("RNN0301");
    expect(problem.from).toBe(at);
    expect(problem.text).toContain("error[RNN0301]: matrix product `W_xg @ h[t-1]` has mismatched inner dimensions");
    expect(await w.page.$eval(".cm-lintRange-error", (e) => e.textContent)).toBe("W_xg @ h[t-1]");
    await w.page.screenshot({ path: join(shots, "playground-typo.png") });
    await select(w.page, at, at + 4);
    await w.page.keyboard.type("W_hg");
    await w.page.waitForFunction('document.querySelector("#problems")?.getAttribute("data-errors") === "0"', { timeout: 30_000 });
    expect(await w.page.$$(".cm-lintRange-error")).toHaveLength(0);
    expect(await editorText(w.page)).toBe(text);
  }, 60_000);

  it("hovering a name shows its declaration with its shape", async () => {
    const text = await editorText(w.page);
    const at = text.indexOf("W_xf @ x") + 1;
    const box = await w.page.evaluate((pos) => {
      const c = (globalThis as unknown as { rnncPlayground: { view: { coordsAtPos(p: number): { left: number; top: number; bottom: number } | null } } }).rnncPlayground.view.coordsAtPos(pos)!;
      return { x: c.left + 2, y: (c.top + c.bottom) / 2 };
    }, at);
    await w.page.mouse.move(box.x, box.y);
    await w.page.waitForSelector(".rnnc-hover", { timeout: 10_000 });
    expect(await w.page.$eval(".rnnc-hover", (e) => e.textContent)).toMatch(/W_xf[\s\S]*\[H, I\]/);
  }, 30_000);

  it("with the cursor in the cell, the picture shows its four gates (i, f and o marked, the candidate g) and both recurrences", async () => {
    const text = await editorText(w.page);
    await select(w.page, text.indexOf("gate f ="));
    await w.page.waitForSelector('#picture[data-target="cell SeedLSTM"][data-state="fresh"]', { timeout: 30_000 });
    const labels = await w.page.$$eval("#picture g.box text:first-of-type", (ts) => ts.map((t) => t.textContent));
    expect(labels).toEqual(expect.arrayContaining(["f", "g", "i", "o", "c", "h", "h[t-1]", "c[t-1]"]));
    expect(await w.page.$$eval("#picture g.box.gate", (gs) => gs.length)).toBe(3);
    expect(await w.page.$$eval("#picture polyline.recurrence", (ps) => ps.length)).toBe(2);
    await w.page.screenshot({ path: join(shots, "playground-picture.png") });
  }, 60_000);

  it("Run traces the cell: heat maps of every gate and state, the hovered cell's exact value shown", async () => {
    await w.page.click("#run");
    await w.page.waitForSelector("#trace svg.heat rect[data-v]", { timeout: 30_000 });
    expect(Number(await w.page.$eval("#trace", (e) => e.getAttribute("data-uses")))).toBe(2);
    expect(await w.page.$$eval("#trace .value", (vs) => vs.map((v) => v.getAttribute("data-name")))).toEqual(expect.arrayContaining(["f", "i", "o", "g", "c", "h"]));
    const cell = (await w.page.$("#trace svg.heat rect[data-v]"))!;
    await cell.hover();
    const v = await cell.evaluate((e) => e.getAttribute("data-v"));
    expect(await w.page.$eval("#hover", (e) => e.textContent)).toContain(`at step 0 = ${v}`);
    await w.page.$eval("#run", (b) => b.scrollIntoView());
    await w.page.evaluate('document.querySelector("#hover").scrollIntoView({ block: "start" })');
    await w.page.screenshot({ path: join(shots, "playground-trace.png") });
  }, 60_000);

  it("Train teaches the model the adding problem in the page: the loss goes down", async () => {
    const text = await editorText(w.page);
    await select(w.page, text.indexOf("model Adding"));
    await w.page.click("#train");
    await w.page.waitForSelector("#train-plot[data-last]", { timeout: 240_000 });
    const [first, last] = await w.page.$eval("#train-plot", (e) => [Number(e.getAttribute("data-first")), Number(e.getAttribute("data-last"))]);
    expect(last).toBeLessThan(first / 2);
    expect(await w.page.$eval("#status", (e) => e.textContent)).toMatch(/trained Adding for 80 steps on tfjs \(cpu\), each scan one fused op with rnnc's own backward pass/);
    expect(await w.page.$eval("#train-plot", (e) => e.getAttribute("data-fused"))).toBe("true");
    expect(w.errors).toEqual([]);
    expect(w.remote).toEqual([]);
    await w.page.screenshot({ path: join(shots, "playground-training.png") });
  }, 300_000);
});

describe("hostile text in the playground", () => {
  it("markup in doc comments, comments and strings, quotes and other scripts in names: shown as text, never run or fetched", async () => {
    const hostile = `/// <img src=x onerror=alert(1)> "quoted" \`tick\`\ncell Σ'σ<H> {\n  input x': [H]  // <script>alert(2)</script>\n  state h': [H] = 0\n  gate g' = sigmoid(x' + h'[t-1])\n  h' = g' * tanh(x')\n  output h'\n}\n`;
    await w.page.evaluate((t) => {
      const v = (globalThis as unknown as { rnncPlayground: { view: { dispatch(t: object): void; state: { doc: { length: number } } } } }).rnncPlayground.view;
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: t }, selection: { anchor: t.indexOf("gate") } });
    }, hostile);
    await w.page.waitForSelector(`#picture[data-target="cell Σ'σ"]`, { timeout: 30_000 });
    await w.page.click("#run");
    await w.page.waitForSelector("#trace svg.heat", { timeout: 30_000 });
    const box = await w.page.evaluate((pos) => {
      const c = (globalThis as unknown as { rnncPlayground: { view: { coordsAtPos(p: number): { left: number; top: number; bottom: number } | null } } }).rnncPlayground.view.coordsAtPos(pos)!;
      return { x: c.left + 2, y: (c.top + c.bottom) / 2 };
    }, hostile.indexOf("Σ'σ") + 1);
    await w.page.mouse.move(box.x, box.y);
    await w.page.waitForSelector(".rnnc-hover", { timeout: 10_000 });
    expect(await w.page.$eval(".rnnc-hover", (e) => e.textContent)).toContain("<img src=x onerror=alert(1)>");
    expect(w.dialogs).toEqual([]);
    expect(await w.page.$$eval("img", (is) => is.length)).toBe(0);
    expect(await w.page.$$eval("script", (ss) => ss.length)).toBe(1);
    expect(w.remote).toEqual([]);
    expect(w.errors).toEqual([]);
  }, 60_000);
});

describe("the playground's server", () => {
  it("serves its own files and refuses paths that climb out, however they are spelled, and other methods", async () => {
    expect(await status("/")).toBe(200);
    expect(await status("/app.js")).toBe(200);
    for (const p of ["/../package.json", "/%2e%2e/%2e%2e/package.json", "/..%2fpackage.json", "/%5c..%5cpackage.json", "/..\\..\\package.json", "/a/../../package.json"]) expect(await status(p), p).toBe(403);
    expect(await status("/nope.js")).toBe(404);
    expect(await status("/package.json")).toBe(404);
    expect(await status("/", "POST")).toBe(405);
  });

  it("listens on 127.0.0.1 only: this machine's other addresses are not answered", async () => {
    const other = Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal);
    if (!other) return; // a machine with no address but loopback: nothing else could reach it anyway
    await expect(status("/", "GET", other.address)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("--out writes the static files (the page, its style, one script) for any server", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rnnc-site-"));
    const r = spawn(process.execPath, [join(root, "dist", "cli", "main.js"), "playground", "--out", dir]);
    expect(await new Promise((ok) => r.once("exit", ok))).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining(["app.js", "index.html", "style.css"]));
  });
});
