// Renders diagnostics in rustc's layout: header, location arrow, source lines with carets, notes and help.
import { maxOf, minOf } from "./extremes.js";
import type { Diagnostic, Label } from "./diagnostic.js";
import type { RnncError } from "./errors.js";

export interface Position { readonly line: number; readonly column: number }

/** Offsets where each line starts, for the last few texts asked about (diagnostics of one file come together). */
const lineStartsCache = new Map<string, number[]>();
function lineStarts(text: string): number[] {
  let starts = lineStartsCache.get(text);
  if (!starts) {
    starts = [0];
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
    if (lineStartsCache.size >= 8) lineStartsCache.clear();
    lineStartsCache.set(text, starts);
  }
  return starts;
}

/** 1-based line and column (in characters) of an offset. */
export function positionOf(text: string, offset: number): Position {
  const starts = lineStarts(text);
  const at = Math.max(0, Math.min(offset, text.length));
  let lo = 0, hi = starts.length - 1; // the last line starting at or before `at`
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= at) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: [...text.slice(starts[lo]!, at)].length + 1 };
}

/** Text of line `ln` (1-based), without its line break. */
function lineText(text: string, ln: number): string {
  const starts = lineStarts(text);
  const start = starts[ln - 1] ?? text.length;
  const end = ln < starts.length ? starts[ln]! - 1 : text.length;
  return text.slice(start, end);
}

/** Columns of a source line shown at most; a longer line is cut to a window around its labels, marked with `…`. */
const MAX_SHOWN_COLUMNS = 160;

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
    const located = labels.map((l) => ({ ...l, pos: positionOf(text, l.span.start), endPos: positionOf(text, Math.max(l.span.start, l.span.end - 1)) }));
    const lineNos = [...new Set(located.map((l) => l.pos.line))].sort((a, b) => a - b);
    const gutter = String(maxOf(lineNos)).length;
    const pad = " ".repeat(gutter);
    const bar = paint(color, "1;34", "|");
    out.push(`${pad}${paint(color, "1;34", "-->")} ${show(d.primary.file)}:${pos.line}:${pos.column}`);
    out.push(`${pad} ${bar}`);
    let prev = 0;
    for (const ln of lineNos) {
      if (prev && ln > prev + 1) out.push(paint(color, "1;34", "..."));
      prev = ln;
      const chars = [...lineText(text, ln).replace(/\r$/, "").replace(/\t/g, " ")];
      // Primary first, then secondaries left to right.
      const here = located.filter((l) => l.pos.line === ln).sort((a, b) => Number(b.primary) - Number(a.primary) || a.pos.column - b.pos.column);
      // A long line is shown from a little before its first label; columns below move with it.
      const from = chars.length > MAX_SHOWN_COLUMNS ? Math.max(0, minOf(here.map((l) => l.pos.column - 1)) - 20) : 0;
      const to = Math.min(chars.length, from + MAX_SHOWN_COLUMNS);
      const lead = from > 0 ? "…" : "";
      out.push(`${paint(color, "1;34", String(ln).padStart(gutter))} ${bar} ${lead}${chars.slice(from, to).join("")}${to < chars.length ? "…" : ""}`);
      for (const l of here) {
        const start = l.pos.column - 1 - from + lead.length;
        const end = l.endPos.line === ln ? l.endPos.column - from + lead.length : to - from + lead.length;
        const width = Math.max(1, Math.min(end, to - from + lead.length + 1) - start);
        const mark = (l.primary ? "^" : "-").repeat(width);
        const c = l.primary ? sevColor : "1;34";
        out.push(`${pad} ${bar} ${" ".repeat(Math.max(0, start))}${paint(color, c, mark)}${l.message ? " " + paint(color, c, l.message) : ""}`);
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
