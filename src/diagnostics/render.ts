// Renders diagnostics in rustc's layout: header, location arrow, source lines with carets, notes and help.
import type { Diagnostic, Label } from "./diagnostic.js";
import type { RnncError } from "./errors.js";

export interface Position { readonly line: number; readonly column: number }

/** 1-based line and column (in characters) of an offset. */
export function positionOf(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: [...text.slice(lineStart, offset)].length + 1 };
}

export interface RenderOptions {
  readonly color?: boolean;
  /** How file names are shown (e.g. relative to the working directory). */
  readonly displayPath?: (file: string) => string;
}

const paint = (on: boolean, code: string, s: string): string => (on ? `\x1b[${code}m${s}\x1b[0m` : s);

export function renderDiagnostic(d: Diagnostic, sources: ReadonlyMap<string, string>, opts: RenderOptions = {}): string {
  const color = opts.color ?? false;
  const show = opts.displayPath ?? ((f: string) => f);
  const sevColor = d.severity === "error" ? "1;31" : "1;33";
  const out: string[] = [];
  out.push(`${paint(color, sevColor, `${d.severity}[${d.code}]`)}${paint(color, "1", `: ${d.message}`)}`);
  const text = sources.get(d.primary.file);
  const labels: (Label & { primary: boolean })[] = [
    { ...d.primary, primary: true },
    ...d.secondary.filter((l) => l.file === d.primary.file).map((l) => ({ ...l, primary: false })),
  ];
  if (text === undefined) {
    out.push(`  --> ${show(d.primary.file)}`);
  } else {
    const pos = positionOf(text, d.primary.span.start);
    const lines = text.split("\n");
    const located = labels.map((l) => ({ ...l, pos: positionOf(text, l.span.start), endPos: positionOf(text, Math.max(l.span.start, l.span.end - 1)) }));
    const lineNos = [...new Set(located.map((l) => l.pos.line))].sort((a, b) => a - b);
    const gutter = String(Math.max(...lineNos)).length;
    const pad = " ".repeat(gutter);
    const bar = paint(color, "1;34", "|");
    out.push(`${pad}${paint(color, "1;34", "-->")} ${show(d.primary.file)}:${pos.line}:${pos.column}`);
    out.push(`${pad} ${bar}`);
    let prev = 0;
    for (const ln of lineNos) {
      if (prev && ln > prev + 1) out.push(paint(color, "1;34", "..."));
      prev = ln;
      const src = (lines[ln - 1] ?? "").replace(/\r$/, "").replace(/\t/g, " ");
      out.push(`${paint(color, "1;34", String(ln).padStart(gutter))} ${bar} ${src}`);
      // Primary first, then secondaries left to right.
      const here = located.filter((l) => l.pos.line === ln).sort((a, b) => Number(b.primary) - Number(a.primary) || a.pos.column - b.pos.column);
      for (const l of here) {
        const width = l.endPos.line === ln ? Math.max(1, l.endPos.column - l.pos.column + 1) : Math.max(1, [...src].length - l.pos.column + 1);
        const mark = (l.primary ? "^" : "-").repeat(width);
        const c = l.primary ? sevColor : "1;34";
        out.push(`${pad} ${bar} ${" ".repeat(l.pos.column - 1)}${paint(color, c, mark)}${l.message ? " " + paint(color, c, l.message) : ""}`);
      }
    }
    for (const l of d.secondary.filter((s) => s.file !== d.primary.file)) {
      const t = sources.get(l.file);
      const p = t ? positionOf(t, l.span.start) : undefined;
      out.push(`${pad} = ${paint(color, "1", "note")}: ${l.message} (${show(l.file)}${p ? `:${p.line}:${p.column}` : ""})`);
    }
    if (d.notes.length || d.help) out.push(`${pad} ${bar}`);
  }
  const pad = text === undefined ? "" : " ".repeat(String(positionOf(text, d.primary.span.start).line).length);
  for (const n of d.notes) out.push(`${pad} = ${paint(color, "1", "note")}: ${n}`);
  if (d.help) out.push(`${paint(color, "1;36", "help")}: ${d.help.message}`);
  return out.join("\n");
}

export function renderDiagnostics(ds: readonly Diagnostic[], sources: ReadonlyMap<string, string>, opts: RenderOptions = {}): string {
  const parts = ds.map((d) => renderDiagnostic(d, sources, opts));
  const errors = ds.filter((d) => d.severity === "error").length;
  const warnings = ds.length - errors;
  const summary: string[] = [];
  if (errors) summary.push(`${errors} error${errors === 1 ? "" : "s"}`);
  if (warnings) summary.push(`${warnings} warning${warnings === 1 ? "" : "s"}`);
  return parts.join("\n\n") + (summary.length ? `\n\n${summary.join(", ")} emitted` : "");
}

/** An error about something outside a source file, in the same layout. */
export function renderError(e: RnncError, color = false): string {
  const out = [`${paint(color, "1;31", `error[${e.code}]`)}${paint(color, "1", `: ${e.message}`)}`];
  for (const n of e.notes) out.push(`  = ${paint(color, "1", "note")}: ${n}`);
  if (e.help) out.push(`${paint(color, "1;36", "help")}: ${e.help}`);
  return out.join("\n");
}

/** Diagnostics as plain JSON data, positions resolved (for `--format json` and tools). */
export function diagnosticToJson(d: Diagnostic, sources: ReadonlyMap<string, string>): unknown {
  const loc = (l: Label) => {
    const t = sources.get(l.file) ?? "";
    const s = positionOf(t, l.span.start);
    const e = positionOf(t, l.span.end);
    return { file: l.file, start: { offset: l.span.start, ...s }, end: { offset: l.span.end, ...e }, message: l.message };
  };
  return {
    code: d.code, severity: d.severity, message: d.message,
    primary: loc(d.primary), secondary: d.secondary.map(loc), notes: d.notes,
    ...(d.help ? { help: { message: d.help.message, ...(d.help.edit ? { edit: { ...loc({ ...d.help.edit, message: "" }), text: d.help.edit.text } } : {}) } } : {}),
  };
}
