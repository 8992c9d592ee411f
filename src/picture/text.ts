// Text that goes into a picture or page: escaped for XML/HTML wherever it is placed, and cut to a length a box can show.
/** Escapes &, <, >, " and ' (safe in element text and in quoted attributes alike). */
export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** At most `max` characters (a longer text ends in …): a spec's names can be as long as it likes. */
export function shown(s: string, max = 40): string {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join("")}…`;
}

/** JSON for a `<script type="application/json">` element: `<`, `>`, `&` and the line separators escaped so no text ends it early. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** 1-based line and column of a source offset. */
export function lineColOf(text: string | undefined, offset: number): { line: number; col: number } {
  if (text === undefined) return { line: 0, col: 0 };
  let line = 1, last = -1;
  for (let i = 0; i < Math.min(offset, text.length); i++) if (text.charCodeAt(i) === 10) { line++; last = i; }
  return { line, col: offset - last };
}

/** The source line an offset is on, trimmed (the equation a value comes from). */
export function lineAt(text: string | undefined, offset: number): string {
  if (text === undefined) return "";
  const start = text.lastIndexOf("\n", offset - 1) + 1;
  const end = text.indexOf("\n", offset);
  return text.slice(start, end < 0 ? text.length : end).trim();
}
