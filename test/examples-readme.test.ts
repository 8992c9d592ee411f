// Every example's README runs top to bottom as written: each fenced shell command in its order (pipes too), with small
// limits so that the whole takes seconds: training on at most 48 examples for a few epochs (one more at each --resume of
// the same file), evaluation on 16. Paths stay the README's (examples/…); files it writes land in a fresh folder.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "./helpers.js";
// @ts-expect-error a plain ES module of the tests (no types)
import { torchPython } from "./torch-env.mjs";

const cli = join(root, "dist", "cli", "main.js");
const folders = readdirSync(join(root, "examples"), { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(root, "examples", d.name, "README.md"))).map((d) => d.name);

/** The README's shell commands: `\` continuations joined, `# comments` and blank lines dropped. */
function commandsOf(readme: string): string[] {
  return [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.replace(/\\\n\s*/g, " ").split("\n"))
    .map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) => l && !l.startsWith("#"));
}

/** One command's argv (node and the arguments), the README's paths made absolute and its sizes made small. */
function argvOf(words: string[], trained: Map<string, number>): string[] {
  const [cmd, ...rest] = words;
  let args = cmd === "npx" && rest[0] === "rnnc" ? [cli, ...rest.slice(1)] : cmd === "node" ? rest : undefined;
  if (!args) throw new Error(`the test does not know how to run: ${words.join(" ")}`);
  args = args.map((a) => (a.startsWith("examples/") ? join(root, a) : a));
  const sub = args[0] === cli ? args[1] : undefined;
  const set = (flag: string, value: string) => {
    const k = args!.indexOf(flag);
    if (k >= 0) args![k + 1] = value;
    else args!.push(flag, value);
  };
  if (sub === "train") {
    const out = args[args.indexOf("-o") + 1]!;
    const n = (trained.get(out) ?? 0) + 1;
    trained.set(out, n);
    const k = args.indexOf("--epochs");
    set("--epochs", String(Math.min(k >= 0 ? Number(args[k + 1]) : 10, n)));
    set("--limit", "48");
  }
  if (sub === "eval") set("--limit", "16");
  return args;
}

describe("the examples' READMEs run as written", () => {
  it.each(folders)("examples/%s/README.md", (folder) => {
    const readme = readFileSync(join(root, "examples", folder, "README.md"), "utf8");
    const dir = mkdtempSync(join(tmpdir(), `rnnc-readme-${folder}-`));
    const trained = new Map<string, number>();
    const commands = commandsOf(readme);
    expect(commands.length).toBeGreaterThan(0);
    for (const line of commands) {
      // A pipe: the first command's output is the second's input.
      let input: string | undefined;
      for (const part of line.split(" | ")) {
        // a command on the torch engine runs the python the tests make (.venv-torch), as a user's RNNC_PYTHON, one thread
        const torch = part.includes("--engine torch");
        const argv = argvOf(part.trim().split(/\s+/), trained);
        if (torch && !argv.includes("--threads")) argv.push("--threads", "1");
        const env = torch ? { ...process.env, RNNC_PYTHON: torchPython() as string } : process.env;
        const r = spawnSync(process.execPath, argv, { cwd: dir, encoding: "utf8", input, env, maxBuffer: 64 * 2 ** 20 });
        expect(r.status, `${part}\n${r.stderr.slice(-2000)}`).toBe(0);
        expect(r.stderr).not.toMatch(/internal error|this is a bug/);
        input = r.stdout;
      }
    }
  }, 600_000); // g2p's trains seven models (48 words each): ~4 min when the machine is busy
});
