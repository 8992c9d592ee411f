// The language server's files: open buffers over the disk, one compiler (the composition root), analyses cached until a source changes.
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { TextDocument } from "vscode-languageserver-textdocument";
import type { Position, Range } from "vscode-languageserver";
import type * as A from "../ast/nodes.js";
import { createCompiler, type CheckResult } from "../compiler.js";
import { DiagnosticBag } from "../diagnostics/diagnostic.js";
import type { Host } from "../resolve/host.js";
import { parseFile } from "../syntax/syntax.js";
import { nodeHost } from "../node/host.js";
import { fileSymbols, type Def, type FileSymbols } from "./semantic.js";

export interface Analysis {
  readonly result: CheckResult;
  readonly symbols: FileSymbols;
}

/**
 * The path a document's URI names on this machine, or the URI itself for any document that is not a local file
 * (untitled buffers, other schemes, a file URI with a host or a malformed escape): such a document lives in memory
 * only. Never throws: an editor may send any URI.
 */
export function uriToPath(uri: string): string {
  if (!uri.startsWith("file:")) return uri;
  try {
    return fileURLToPath(uri);
  } catch {
    return uri;
  }
}

/** Whether `path` is a path on this machine's disk (else an in-memory document's URI). */
export const onDisk = (path: string): boolean => path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path);
export const pathToUri = (path: string): string => (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path) ? pathToFileURL(path).href : path);

export class Workspace {
  private readonly open = new Map<string, TextDocument>();
  private readonly cache = new Map<string, Analysis>();
  private readonly topDefs = new Map<string, { text: string; defs: Def[] }>();
  readonly host: Host = {
    // Documents that are not local files are read from their buffers only, never from a disk path their URI resembles.
    readFile: (p) => this.open.get(p)?.getText() ?? (onDisk(p) ? nodeHost.readFile(p) : undefined),
    // An open, unsaved file is importable too; a document that is not a local file imports the standard library only.
    resolveImport: (spec, from) => {
      if (spec !== "std" && !onDisk(from)) return undefined;
      if (spec !== "std") {
        const path = resolve(dirname(from), spec);
        if (this.open.has(path)) return [path];
      }
      return nodeHost.resolveImport(spec, from);
    },
    canonical: (p) => (onDisk(p) && !this.open.has(p) ? nodeHost.canonical!(p) : p),
  };
  private readonly compiler = createCompiler(this.host);

  setDocument(doc: TextDocument): void {
    this.open.set(uriToPath(doc.uri), doc);
  }

  /** Forgets a closed document: its buffer, its analysis and its parsed declarations (a long session keeps only open ones). */
  closeDocument(uri: string): void {
    const path = uriToPath(uri);
    this.compiler.forget(path);
    this.open.delete(path);
    this.cache.delete(path);
    this.topDefs.delete(path);
  }

  /** Open documents whose last analysis read `path` (they may mean something else once it changes). */
  dependents(path: string): string[] {
    return [...this.open.keys()].filter((p) => p !== path && this.cache.get(p)?.result.sources.has(path));
  }

  /** How many documents, analyses and parsed files the workspace holds (the soak test watches these stay bounded). */
  sizes(): { open: number; analyses: number; parsed: number } {
    return { open: this.open.size, analyses: this.cache.size, parsed: this.topDefs.size };
  }

  openPaths(): string[] {
    return [...this.open.keys()];
  }

  document(path: string): TextDocument | undefined {
    const open = this.open.get(path);
    if (open) return open;
    const text = nodeHost.readFile(path);
    return text === undefined ? undefined : TextDocument.create(pathToUri(path), "rnn", 0, text);
  }

  /** The file's diagnostics, symbols and IR; recomputed only when the file or a file it read has changed. */
  analyze(path: string): Analysis | undefined {
    const cached = this.cache.get(path);
    if (cached && [...cached.result.sources].every(([p, text]) => this.host.readFile(p) === text)) return cached;
    if (this.host.readFile(path) === undefined) return undefined;
    const result = this.compiler.check(path);
    const analysis = { result, symbols: fileSymbols(result, (f) => this.topLevelDefs(f)) };
    this.cache.set(path, analysis);
    return analysis;
  }

  /** The top-level declarations of another file (parsed, not elaborated). */
  topLevelDefs(file: string): Def[] {
    const text = this.host.readFile(file);
    if (text === undefined) return [];
    const hit = this.topDefs.get(file);
    if (hit && hit.text === text) return hit.defs;
    const parsed = parseFile(file, text, new DiagnosticBag());
    const defs: Def[] = parsed.module.decls.map((d) => ({ name: d.name.text, kind: d.kind, file, span: d.name.span, declSpan: d.span, container: undefined, doc: d.doc }));
    this.topDefs.set(file, { text, defs });
    return defs;
  }

  range(path: string, span: A.Span): Range {
    const doc = this.document(path);
    if (!doc) return { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
    return { start: doc.positionAt(span.start), end: doc.positionAt(span.end) };
  }

  offset(path: string, p: Position): number {
    return this.document(path)?.offsetAt(p) ?? 0;
  }
}
