// `rnnc fmt`: formats .rnn files in place (atomically, only when they change), or checks them, or prints them.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { renderDiagnostics, type RenderOptions } from "../diagnostics/render.js";
import { formatText } from "../format/format.js";
import { readText, UsageError } from "./commands.js";
import { writeFileAtomic } from "../node/host.js";

/** The files named, with directories expanded to the .rnn files below them. */
function expand(paths: readonly string[]): string[] {
  return paths.flatMap((p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new UsageError(`cannot read '${p}': no such file or directory`);
    }
    if (!st.isDirectory()) return [p];
    return rnnFilesBelow(p);
  });
}

/** The .rnn files below a directory, sorted; symbolic links (to directories or files) and node_modules are not followed. */
function rnnFilesBelow(dir: string): string[] {
  const out: string[] = [];
  const todo = [dir];
  while (todo.length) {
    const d = todo.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== "node_modules") todo.push(join(d, e.name));
      else if (e.isFile() && e.name.endsWith(".rnn")) out.push(join(d, e.name));
    }
  }
  return out.sort();
}

export function fmtCommand(a: { files: string[]; check: boolean; stdout: boolean }, render: RenderOptions): number {
  if (a.check && a.stdout) throw new UsageError("give --check or --stdout, not both");
  let failed = false;
  const unformatted: string[] = [];
  for (const file of expand(a.files)) {
    const text = readText(file, "file");
    const r = formatText(text, file);
    if (r.text === undefined) {
      process.stderr.write(renderDiagnostics(r.diagnostics, new Map([[file, text]]), render) + "\n");
      process.stderr.write(`${file}: not formatted: fix the syntax errors first\n`);
      failed = true;
      continue;
    }
    if (a.stdout) process.stdout.write(r.text);
    else if (a.check) { if (r.text !== text) unformatted.push(file); }
    else if (r.text !== text) {
      writeFileAtomic(file, r.text);
      process.stderr.write(`formatted ${file}\n`);
    }
  }
  if (unformatted.length) {
    process.stdout.write(unformatted.join("\n") + "\n");
    process.stderr.write(`${unformatted.length} file${unformatted.length > 1 ? "s are" : " is"} not formatted; run rnnc fmt on ${unformatted.length > 1 ? "them" : "it"}\n`);
  }
  return failed || unformatted.length ? 1 : 0;
}
