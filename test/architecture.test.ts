// The compiler core imports none of tfjs, prettier, yargs, the LSP library or node: modules (DESIGN.md §3).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "./helpers.js";

const faces = ["cli", "lsp", "tfjs", "emit", "format", "bench"];
const forbidden = /from\s+["'](node:[^"']+|fs|path|os|child_process|@tensorflow\/[^"']+|prettier[^"']*|yargs[^"']*|vscode-[^"']+)["']/;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("architecture", () => {
  const core = tsFiles(join(root, "src")).filter((f) => !faces.some((face) => relative(join(root, "src"), f).startsWith(face + "/")));
  it.each(core.map((f) => relative(root, f)))("%s imports no platform or face library", (f) => {
    expect(readFileSync(join(root, f), "utf8")).not.toMatch(forbidden);
  });
  it("every source file opens with a line saying what it is", () => {
    for (const f of tsFiles(join(root, "src"))) {
      const first = readFileSync(f, "utf8").split("\n").find((l) => !l.startsWith("#!"));
      expect(first, relative(root, f)).toMatch(/^\/\/ \S/);
    }
  });
});
