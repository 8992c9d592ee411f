// The architecture as one table: which folder of src/ may import which; no other edge, no cycle, no file over 400 lines.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "./helpers.js";

/**
 * Stages only look down. Folders are listed bottom-up; each may import the folders named after it, nothing else.
 * "." is src/'s own files: the composition root (compiler.ts) and the package's entry (index.ts).
 */
const allowed: Record<string, readonly string[]> = {
  ast: [],
  ir: ["ast"],
  diagnostics: ["ast", "ir"],
  syntax: ["ast", "diagnostics"],
  resolve: ["ast", "diagnostics", "syntax"],
  elaborate: ["ast", "diagnostics", "ir"],
  check: ["diagnostics", "ir"],
  passes: ["ast", "ir"],
  runtime: ["diagnostics", "ir"],
  weights: ["diagnostics", "ir", "runtime"],
  interp: ["diagnostics", "ir", "runtime", "weights"],
  // Fused sequence kernels compute with the interpreter's definitions (its scalar functions, and its per-example
  // kernels for the rare ops), so every backend keeps one meaning per op.
  fused: ["diagnostics", "interp", "ir", "passes", "runtime"],
  tfjs: ["diagnostics", "fused", "ir", "passes", "runtime", "weights"],
  // The one deliberate edge between backends: compiled js modules reuse the interpreter's model runner
  // (generation, encoder–decoder hand-offs) around their generated cells (src/emit/js/runtime.ts).
  emit: ["diagnostics", "fused", "ir", "passes", "runtime", "weights", "interp"],
  // The PyTorch engine: the spec compiled to a torch module, trained by a Python process that fit() drives.
  torch: ["diagnostics", "emit", "ir", "runtime"],
  ".": ["ast", "check", "diagnostics", "elaborate", "interp", "ir", "resolve", "runtime", "syntax", "weights"],
  // Faces: nothing imports them.
  // The helper thread of the fused kernels (scan-helper.ts, scan-worker.ts) runs them on a second core.
  node: ["diagnostics", "fused", "resolve"],
  format: ["ast", "diagnostics", "syntax"],
  lsp: [".", "ast", "diagnostics", "elaborate", "format", "ir", "node", "resolve", "syntax"],
  // The library's API (loadModel, fit, evaluate, compile, importWeights, …): what the CLI's commands are thin layers over.
  api: [".", "diagnostics", "emit", "torch", "picture", "format", "fused", "interp", "ir", "node", "resolve", "runtime", "tfjs", "weights"],
  // The binary's `rnnc lsp` command starts the server: the one face another face reaches.
  cli: [".", "api", "diagnostics", "picture", "lsp", "elaborate", "emit", "format", "fused", "interp", "ir", "node", "passes", "resolve", "runtime", "tfjs", "weights"],
  tools: ["ir"],
  // The playground page (a face in the browser): the compiler, the interpreter, pictures, the language server's
  // semantic queries and tfjs training, bundled by src/tools/playground-build.ts; `rnnc playground` serves it.
  playground: [".", "ast", "diagnostics", "interp", "ir", "lsp", "picture", "resolve", "runtime", "syntax", "tfjs", "weights"],
  // Pictures of specs and runs (cell and model graphs laid out by elkjs, trace pages): pure, so a browser page runs them too.
  picture: ["diagnostics", "ir", "interp", "runtime"],
  bench: [".", "api", "emit", "fused", "interp", "ir", "lsp", "node", "passes", "resolve", "runtime", "tfjs", "weights"],
};

/** Folders that may import platform and face libraries (node:, tfjs, prettier, yargs, the LSP library, esbuild). */
const platform = new Set(["node", "api", "cli", "lsp", "tfjs", "emit", "format", "bench", "tools", "torch", "playground"]);
const platformImport = /from\s+["'](node:[^"']+|fs|path|os|child_process|@tensorflow\/[^"']+|prettier[^"']*|yargs[^"']*|vscode-[^"']+|esbuild)["']/;

const src = join(root, "src");
function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}
const files = tsFiles(src);
const folderOf = (file: string): string => {
  const rel = relative(src, file);
  return rel.includes("/") ? rel.split("/")[0]! : ".";
};
/** Relative imports of a file (static, dynamic and `import type`), as .ts paths. */
const importsOf = (file: string): string[] =>
  [...readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => join(dirname(file), m[1]!).replace(/\.js$/, ".ts"));

describe("architecture", () => {
  it("every folder of src/ is in the table, and every import between folders is allowed by it", () => {
    const unknown = [...new Set(files.map(folderOf))].filter((f) => !(f in allowed));
    expect(unknown, "folders missing from the table").toEqual([]);
    const bad: string[] = [];
    for (const f of files)
      for (const target of importsOf(f)) {
        const [a, b] = [folderOf(f), folderOf(target)];
        if (a !== b && !allowed[a]!.includes(b)) bad.push(`${relative(root, f)} imports ${relative(root, target)} (${a} → ${b})`);
      }
    expect(bad).toEqual([]);
  });

  it("the table itself has no cycle between folders", () => {
    const state = new Map<string, "busy" | "done">();
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "busy") throw new Error(`cycle: ${[...path, f].join(" → ")}`);
      state.set(f, "busy");
      for (const g of allowed[f]!) visit(g, [...path, f]);
      state.set(f, "done");
    };
    for (const f of Object.keys(allowed)) expect(() => visit(f, [])).not.toThrow();
  });

  it("no cycle between files either", () => {
    const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]));
    const state = new Map<string, "busy" | "done">();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "busy") {
        cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(root, p)).join(" → "));
        return;
      }
      state.set(f, "busy");
      for (const g of graph.get(f)!) visit(g, [...path, f]);
      state.set(f, "done");
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it.each(files.filter((f) => !platform.has(folderOf(f))).map((f) => relative(root, f)))("%s imports no platform or face library", (f) => {
    expect(readFileSync(join(root, f), "utf8")).not.toMatch(platformImport);
  });

  it("every source file opens with a line saying what it is, and stays under 400 lines", () => {
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      const first = text.split("\n").find((l) => !l.startsWith("#!"));
      expect(first, relative(root, f)).toMatch(/^\/\/ \S/);
      expect(text.trimEnd().split("\n").length, `${relative(root, f)} has more than 400 lines`).toBeLessThanOrEqual(400);
    }
  });
});
