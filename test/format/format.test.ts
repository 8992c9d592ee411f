// The formatter: idempotent, keeps every token and comment, ignores how a file was spaced; prettier plugin and rnnc fmt.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import * as prettier from "prettier";
import { describe, expect, it } from "vitest";
import { formatText } from "../../src/format/format.js";
import * as plugin from "../../src/format/prettier-plugin.js";
import { parseCst } from "../../src/syntax/parser.js";
import { rnnFiles, root } from "../helpers.js";

const files = [...rnnFiles("stdlib"), ...rnnFiles("examples"), ...rnnFiles("test")];

/** Every token and comment in order (line comments without trailing blanks, the only thing the formatter may trim). */
function tokenStream(text: string): string[] {
  const r = parseCst(text);
  return [...r.tokens, ...r.comments].sort((a, b) => a.startOffset - b.startOffset)
    .map((t) => (t.tokenType.name === "BlockComment" ? t.image : t.image.trimEnd()));
}

/** The same tokens with random horizontal spacing: gaps on one line get 0-3 blanks (at least 1 where there was one). */
function respace(text: string, rand: () => number): string {
  const r = parseCst(text);
  const all = [...r.tokens, ...r.comments].sort((a, b) => a.startOffset - b.startOffset);
  let out = "";
  let prev = 0;
  for (const t of all) {
    const gap = text.slice(prev, t.startOffset);
    if (gap.includes("\n")) out += gap;
    else {
      const n = (gap.length > 0 ? 1 : 0) + Math.floor(rand() * 3);
      out += Array.from({ length: n }, () => (rand() < 0.2 ? "\t" : " ")).join("");
    }
    out += t.image;
    prev = t.startOffset + t.image.length;
  }
  return out + text.slice(prev);
}

describe("formatter", () => {
  const sources = files.map((f) => ({ f, text: readFileSync(f, "utf8") }));
  const clean = sources.filter((s) => formatText(s.text).text !== undefined);

  it("formats every parseable .rnn file in the repository idempotently, keeping every token and comment", () => {
    expect(clean.length).toBeGreaterThan(40);
    for (const { f, text } of clean) {
      const once = formatText(text).text!;
      expect(formatText(once).text, f).toBe(once);
      expect(tokenStream(once), f).toEqual(tokenStream(text));
    }
  });

  it("leaves files with syntax errors alone and says why", () => {
    const r = formatText("cell A { input x: [I\n");
    expect(r.text).toBeUndefined();
    expect(r.diagnostics[0]!.code).toBe("RNN0101");
  });

  it("does not depend on how a file was spaced within its lines", () => {
    fc.assert(fc.property(fc.nat({ max: clean.length - 1 }), fc.integer(), (i, seed) => {
      let s = seed;
      const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
      const text = clean[i]!.text;
      expect(formatText(respace(text, rand)).text).toBe(formatText(text).text);
    }), { numRuns: 300, seed: 5 });
  });

  it("is idempotent and token-preserving on generated programs with comments", () => {
    const part = fc.constantFrom(
      "input x: [T, I]", "input tok: [T] int", "layer r = LSTM<I, H>", "layer d = Dense<H, I>(act = softmax)", "y = scan(r, x)",
      "z = last(y)", "u = d(z)", "output y", "output z, u", "// a comment", "/// a doc comment", "/* block */ q = -x[t-1] * 2", "k = a[0:H]",
    );
    const trailing = fc.constantFrom("", "", "  // trailing", " /* b */");
    fc.assert(fc.property(fc.array(fc.tuple(part, trailing, fc.boolean()), { maxLength: 14 }), (items) => {
      const body = items.map(([p, c, blank]) => `${blank ? "\n" : ""}${p}${p.startsWith("//") ? "" : c}`).join("\n");
      const text = `import { LSTM, Dense } from "std"\n// header\nmodel M<I = 3, H = 4> {\n${body}\n}\n`;
      const once = formatText(text).text;
      if (once === undefined) return;
      expect(formatText(once).text).toBe(once);
      expect(tokenStream(once)).toEqual(tokenStream(text));
    }), { numRuns: 400, seed: 11 });
  });

  it("aligns declaration blocks", () => {
    const text = "cell A<I, H> {\ninput x: [I]\nparam W_long: [H, I] ~ glorot_uniform\nparam b: [H] ~ zeros\nh = W_long @ x + b // out\noutput h\n}\n";
    expect(formatText(text).text).toBe("cell A<I, H> {\n  input x: [I]\n  param W_long: [H, I] ~ glorot_uniform\n  param b:      [H]    ~ zeros\n  h = W_long @ x + b  // out\n  output h\n}\n");
  });
});

describe("prettier plugin", () => {
  it("formats .rnn files through prettier exactly as rnnc fmt does", async () => {
    const text = readFileSync(join(root, "examples/seed-lstm.rnn"), "utf8").replace(/ {2,}/g, " ");
    const out = await prettier.format(text, { parser: "rnn", plugins: [plugin] });
    expect(out).toBe(formatText(text).text);
    await expect(prettier.format("cell A { input x: [I\n", { parser: "rnn", plugins: [plugin] })).rejects.toThrow(/expected `\]` in a shape/);
  });

  it("is picked up by the prettier command line for .rnn files", () => {
    const dir = mkdtempSync(join(tmpdir(), "rnnc-prettier-"));
    const f = join(dir, "a.rnn");
    writeFileSync(f, "cell A<I,H>{input x:[I]\nstate h:[H]=0\nh=tanh(x)\noutput h}\n");
    const r = spawnSync(process.execPath, [join(root, "node_modules/prettier/bin/prettier.cjs"), "--plugin", join(root, "dist/format/prettier-plugin.js"), f], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("cell A<I, H> {\n  input x: [I]\n  state h: [H] = 0\n  h = tanh(x)\n  output h\n}\n");
  });
});

describe("rnnc fmt", () => {
  const cli = join(root, "dist", "cli", "main.js");
  const rnnc = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: root, env: { ...process.env, NO_COLOR: "1" } });

  it("finds the standard library and the examples formatted", () => {
    const r = rnnc("fmt", "--check", "stdlib", "examples");
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

  it("rewrites in place, checks, prints, and refuses files with syntax errors", () => {
    const dir = mkdtempSync(join(tmpdir(), "rnnc-fmt-"));
    const messy = join(dir, "messy.rnn");
    const broken = join(dir, "broken.rnn");
    writeFileSync(messy, "cell A<I,H>{input x:[I]\nstate h:[H]=0\nh=tanh(x)\noutput h}\n");
    writeFileSync(broken, "cell B { input x: [I\n");
    const check = rnnc("fmt", "--check", messy);
    expect(check.status).toBe(1);
    expect(check.stdout).toBe(`${messy}\n`);
    const printed = rnnc("fmt", "--stdout", messy);
    expect(printed.stdout).toBe(formatText(readFileSync(messy, "utf8")).text);
    expect(rnnc("fmt", messy).status).toBe(0);
    expect(readFileSync(messy, "utf8")).toBe(printed.stdout);
    expect(rnnc("fmt", "--check", messy).status).toBe(0);
    const bad = rnnc("fmt", broken);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("error[RNN0101]");
    expect(bad.stderr).toContain("not formatted: fix the syntax errors first");
    expect(readFileSync(broken, "utf8")).toBe("cell B { input x: [I\n");
    expect(rnnc("fmt", join(dir, "missing.rnn")).status).toBe(2);
  });
});
