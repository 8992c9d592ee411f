// The hostile corpus (issue 23): every crafted file make-corpus.mjs writes goes through the CLI as a user would run it,
// under a memory cap (prlimit), and ends in its coded error or a correct result: no stack trace, no internal error,
// no hang, peak memory measured and bounded.
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { root } from "../helpers.js";

interface Case {
  class: string; name: string; args: string[]; exit: number; code?: string; match?: string; memoryMB: number; note?: string;
  stdin?: string; lsp?: boolean; setup?: ({ link: string; to: string } | { fifo: string } | { copy: string; to: string })[];
}

const cli = join(root, "dist", "cli", "main.js");
const corpus = mkdtempSync(join(tmpdir(), "rnnc-hostile-"));
execFileSync(process.execPath, [join(root, "test", "hostile", "make-corpus.mjs"), corpus], { stdio: "ignore" });
const cases = JSON.parse(readFileSync(join(corpus, "cases.json"), "utf8")) as Case[];
// Each child reports its peak memory on exit (kilobytes), so the bound is measured.
const rssProbe = join(corpus, "rss.cjs");
writeFileSync(rssProbe, `process.on("exit", () => process.stderr.write("\\nmaxRSS " + process.resourceUsage().maxRSS + "\\n"));\n`);
/** A hard cap far above any case's asserted peak, so that a runaway allocation ends the child instead of the machine. */
const HARD_CAP = 3 * 2 ** 30;

function run(c: Case, tmp: string): Promise<{ exit: number | null; stdout: string; stderr: string; rssMB: number; ms: number }> {
  const fill = (s: string) => s.replaceAll("{c}", corpus).replaceAll("{root}", root).replaceAll("{tmp}", tmp);
  for (const s of c.setup ?? []) {
    if ("fifo" in s) { if (!existsSync(join(corpus, s.fifo))) execFileSync("mkfifo", [join(corpus, s.fifo)]); }
    else if ("link" in s) { mkdirSync(dirname(join(corpus, s.link)), { recursive: true }); if (!existsSync(join(corpus, s.link))) symlinkSync(s.to, join(corpus, s.link)); }
    else copyFileSync(join(corpus, s.copy), fill(s.to));
  }
  return new Promise((resolve) => {
    const t0 = performance.now();
    const p = spawn("prlimit", [`--data=${HARD_CAP}`, process.execPath, "-r", rssProbe, cli, ...c.args.map(fill)], {
      cwd: tmp, env: { ...process.env, NO_COLOR: "1" }, stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "", stderr = "";
    p.stdout.on("data", (d) => { stdout += String(d); });
    p.stderr.on("data", (d) => { stderr += String(d); });
    p.stdin.on("error", () => undefined); // the child may stop reading (a refused endless input)
    if (c.stdin === "endless") {
      const chunk = Buffer.alloc(1 << 16, "[1,2,3],");
      const more = () => { while (p.stdin.writable && p.stdin.write(chunk)); };
      p.stdin.on("drain", more);
      more();
    } else if (c.stdin) createReadStream(join(corpus, c.stdin)).pipe(p.stdin);
    else p.stdin.end();
    const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
    p.on("close", (exit) => {
      clearTimeout(timer);
      const rss = Number(/maxRSS (\d+)/.exec(stderr)?.[1] ?? NaN) / 1024;
      resolve({ exit, stdout, stderr: stderr.replace(/\nmaxRSS \d+\n$/, ""), rssMB: rss, ms: performance.now() - t0 });
    });
  });
}

const peaks: { name: string; mb: number; ms: number }[] = [];
afterAll(() => {
  const by = [...peaks].sort((a, b) => b.mb - a.mb);
  if (by.length) process.stderr.write(`  hostile corpus: ${by.length} cases, peak memory ${by.at(-1)!.mb.toFixed(0)}–${by[0]!.mb.toFixed(0)} MB (most: ${by.slice(0, 3).map((p) => `${p.name} ${p.mb.toFixed(0)} MB`).join(", ")}), slowest ${Math.max(...by.map((p) => p.ms)).toFixed(0)} ms\n`);
});

describe("the hostile corpus", () => {
  it("has at least 60 cases over every class of input", () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
    expect(new Set(cases.map((c) => c.class))).toEqual(new Set(["safetensors", "tfjs", "onnx", "weights", "checkpoints", "data", "stdin", "specs", "lsp"]));
  });

  it.concurrent.each(cases.map((c) => [`${c.class}/${c.name}`, c] as const))("%s", async (_label, c) => {
    const tmp = mkdtempSync(join(tmpdir(), "rnnc-hostile-case-"));
    const r = await run(c, tmp);
    peaks.push({ name: `${c.class}/${c.name}`, mb: r.rssMB, ms: r.ms });
    // `rnnc check` prints diagnostics on stdout; every other command on stderr.
    const said = c.lsp ? r.stderr : r.stdout + r.stderr;
    const what = `${c.class}/${c.name}: exit ${r.exit}, ${r.rssMB.toFixed(0)} MB, ${r.ms.toFixed(0)} ms\n${said.slice(0, 2000)}`;
    expect(r.exit, what).toBe(c.exit);
    expect(said, what).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(said, what).not.toMatch(/internal error|this is a bug/i);
    expect(r.rssMB, what).toBeLessThan(c.memoryMB);
    if (c.exit !== 0) {
      if (c.code) expect(said, what).toContain(`error[${c.code}]`);
      if (c.match) expect(said, what).toContain(c.match);
    } else if (c.lsp) {
      // Every request of the session was answered (a result or a coded error), the shutdown last.
      const ids = [...r.stdout.matchAll(/"id":(\d+)/g)].map((m) => Number(m[1]));
      expect(ids, what).toContain(999);
      for (const id of (readFileSync(join(corpus, c.stdin!), "utf8").match(/"id":\d+/g) ?? []).map((m) => Number(m.slice(5)))) expect(ids, `${what}\nrequest ${id}`).toContain(id);
    } else if (c.args[0] === "import") {
      const w = JSON.parse(readFileSync(join(tmp, "w.json"), "utf8")) as { format: string; params: Record<string, { data: unknown[] }> };
      expect(w.format).toBe("rnnc-weights");
      expect(Object.keys(w.params).length).toBeGreaterThan(0);
    }
  }, 90_000);
});
