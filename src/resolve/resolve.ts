// Resolve stage: loads imported files and builds the table of cells and models visible from the root file.
import type * as A from "../ast/nodes.js";
import type { DiagnosticBag } from "../diagnostics/diagnostic.js";
import { closestNames } from "../diagnostics/suggest.js";
import type { Host } from "./host.js";
import type { ParsedFile } from "../syntax/syntax.js";

/** A cell or model visible in a file, with the file that declares it. */
export interface VisibleCell {
  readonly decl: A.TopDecl;
  readonly file: string;
}

/** Every top-level declaration of one file, by name; duplicates reported. */
export function cellsDeclaredIn(parsed: ParsedFile, diags: DiagnosticBag): Map<string, VisibleCell> {
  const out = new Map<string, VisibleCell>();
  for (const d of parsed.module.decls) {
    const prev = out.get(d.name.text);
    if (prev) {
      diags.error("RNN0202", `\`${d.name.text}\` is declared twice in this file`, {
        file: parsed.file, span: d.name.span, label: "declared again here",
        secondary: [{ file: parsed.file, span: prev.decl.name.span, message: "first declared here" }],
        help: { message: "rename one of them" },
      });
      continue;
    }
    out.set(d.name.text, { decl: d, file: parsed.file });
  }
  return out;
}

/**
 * The cells visible in `root`: its own, then the names it imports. `load` parses a file once and
 * returns undefined if it cannot be read.
 */
export function resolveImports(
  root: ParsedFile, host: Host, load: (path: string) => ParsedFile | undefined, diags: DiagnosticBag,
): Map<string, VisibleCell> {
  const visible = cellsDeclaredIn(root, diags);
  /** Names imported so far, with the import that brought each. */
  const importedBy = new Map<string, { from: string; span: A.Span }>();
  for (const imp of root.module.imports) {
    if (imp.from !== "std" && !imp.from.endsWith(".rnn")) {
      // Nothing is read: a spec from elsewhere must not make the compiler open (and quote) any file it names.
      diags.error("RNN0206", `"${imp.from}" is not a .rnn module`, {
        file: root.file, span: imp.fromSpan, label: "imports name .rnn files",
        notes: ['`"std"` is the standard library; other modules are .rnn files relative to this one, such as `"./cells.rnn"`'],
      });
      continue;
    }
    const paths = host.resolveImport(imp.from, root.file);
    if (!paths) {
      diags.error("RNN0206", `cannot find the module "${imp.from}"`, {
        file: root.file, span: imp.fromSpan, label: "no such module",
        notes: ['`"std"` is the standard library; other modules are paths relative to this file, such as `"./cells.rnn"`'],
      });
      continue;
    }
    const exported = new Map<string, VisibleCell>();
    for (const p of paths) {
      const parsed = load(p);
      if (!parsed) continue;
      for (const d of parsed.module.decls) if (!exported.has(d.name.text)) exported.set(d.name.text, { decl: d, file: p });
    }
    for (const n of imp.names) {
      const cell = exported.get(n.text);
      if (!cell) {
        const near = closestNames(n.text, exported.keys());
        diags.error("RNN0206", `module "${imp.from}" has no cell \`${n.text}\``, {
          file: root.file, span: n.span, label: "not found in the module",
          notes: [`"${imp.from}" declares ${[...exported.keys()].join(", ") || "nothing"}`],
          ...(near.length ? { help: { message: `did you mean \`${near[0]}\`?`, edit: { file: root.file, span: n.span, text: near[0]! } } } : {}),
        });
        continue;
      }
      const local = visible.get(n.text);
      const earlier = importedBy.get(n.text);
      if (local && local.decl !== cell.decl && earlier) {
        diags.error("RNN0202", `\`${n.text}\` is imported twice, from two different modules`, {
          file: root.file, span: n.span, label: `imported again here, from "${imp.from}"`,
          secondary: [{ file: root.file, span: earlier.span, message: `first imported here, from "${earlier.from}"` }],
          help: { message: "import it from one module only" },
        });
        continue;
      }
      if (local && local.decl !== cell.decl) {
        diags.error("RNN0202", `\`${n.text}\` is both imported and declared in this file`, {
          file: root.file, span: local.decl.name.span, label: "declared here",
          secondary: [{ file: root.file, span: n.span, message: "imported here" }],
          help: { message: "rename the local cell, or drop the import" },
        });
        continue;
      }
      visible.set(n.text, cell);
      importedBy.set(n.text, { from: imp.from, span: n.span });
    }
  }
  return visible;
}
