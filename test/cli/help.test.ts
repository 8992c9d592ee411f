// Every command's --help: each option and positional has a description, and every example runs as written.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "../helpers.js";
// @ts-expect-error a plain ES module of the tests (no types)
import { torchPython } from "../torch-env.mjs";

const main = join(root, "dist", "cli", "main.js");
const source = readFileSync(join(root, "src", "cli", "main.ts"), "utf8");
/** The commands, as `.command("name …"` declares them. */
const commands = [...source.matchAll(/\.command\("(\w+)/g)].map((m) => m[1]!);
/** Every option and positional with its settings, by the command it belongs to. */
const declared = commands.map((c, k) => {
  const start = source.indexOf(`.command("${c}`);
  const end = k + 1 < commands.length ? source.indexOf(`.command("${commands[k + 1]}`) : source.length;
  const block = source.slice(start, end);
  return { command: c, options: [...block.matchAll(/\.(?:option|positional)\("([\w-]+)", \{(.*)\}\)/g)].map((m) => ({ name: m[1]!, settings: m[2]! })) };
});
const examples = [...source.matchAll(/\.example\(("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]!) as string);
const squeeze = (s: string) => s.replace(/\s+/g, "");

describe("--help", () => {
  it("finds the commands and their examples", () => {
    expect(commands).toEqual(expect.arrayContaining(["check", "run", "init", "train", "compile", "import", "fmt", "lsp", "ir", "summary", "explain"]));
    expect(examples.length).toBeGreaterThanOrEqual(commands.length);
  });

  it.each(declared)("$command: every option and positional is described in its --help", ({ command, options }) => {
    const help = squeeze(spawnSync(process.execPath, [main, command, "--help"], { encoding: "utf8" }).stdout);
    for (const o of options) {
      const d = /describe: ("(?:[^"\\]|\\.)*")/.exec(o.settings);
      expect(d, `${command} --${o.name} has no description`).not.toBeNull();
      const text = JSON.parse(d![1]!) as string;
      expect(help, `${command} --${o.name}`).toContain(squeeze(text).slice(0, 40));
    }
  });

  // Run where the repository's examples, stdlib and fixtures are reachable by the same relative paths, writing
  // what they write into a directory of their own.
  const dir = mkdtempSync(join(tmpdir(), "rnnc-help-"));
  for (const d of ["examples", "stdlib", "test"]) symlinkSync(join(root, d), join(dir, d));
  it.each(examples)("runs as written: %s", (example) => {
    const command = example.replace(/\$0/g, `"${process.execPath}" "${main}"`);
    // an example on the torch engine runs the python the project's tests make (.venv-torch), as a user's RNNC_PYTHON
    const env = example.includes("--engine torch") ? { ...process.env, RNNC_PYTHON: torchPython() as string } : process.env;
    const r = spawnSync("sh", ["-c", command], { cwd: dir, encoding: "utf8", timeout: 300_000, env });
    expect(r.status, `${example}\n${r.stderr}`).toBe(0);
  }, 300_000);
});
