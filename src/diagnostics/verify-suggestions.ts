// "Did you mean" checked before it is offered: each candidate replacement of an unknown name is compiled in place, and
// only those that leave no error at that spot are suggested (`h` where a bare `h` would read the step being computed
// gives way to `h[t-1]`; a name whose shape does not fit the product is dropped).
import type { Diagnostic, Help } from "./diagnostic.js";
import { quoteList } from "./suggest.js";

/**
 * Each try compiles the whole file again (measured: a 10 KiB spec's check 11 ms alone, 39 ms with its one unknown name's
 * candidates tried; 34 KiB: 12 → 102 ms), which an editor pays on every keystroke: at most this many diagnostics of a
 * file, and candidates each, are tried, and files past MAX_TEXT keep their suggestions untried.
 */
const MAX_TRIED = 4, MAX_CANDIDATES = 6;
const MAX_TEXT = 16 * 1024;

/** The file's diagnostics with every help that offers candidates narrowed to those that compile at its span. */
export function verifySuggestions(items: readonly Diagnostic[], file: string, text: string, recheck: (text: string) => readonly Diagnostic[]): Diagnostic[] {
  if (text.length > MAX_TEXT) return [...items];
  let tried = 0;
  return items.map((d) => {
    const h = d.help;
    if (!h?.candidates?.length || !h.edit || h.edit.file !== file || tried++ >= MAX_TRIED) return d;
    const { start, end } = h.edit.span;
    const good = h.candidates.slice(0, MAX_CANDIDATES).filter((c) => {
      const errors = recheck(text.slice(0, start) + c + text.slice(end)).filter((x) => x.severity === "error" && x.primary.file === file);
      return !errors.some((x) => x.primary.span.start < start + c.length && x.primary.span.end > start);
    });
    // Of a state and its previous step, the state is the one the name looks like: keep the first that works.
    const shown = good.filter((c, k) => !good.slice(0, k).some((g) => c === `${g}[t-1]`));
    const help: Help = shown.length
      ? { message: `did you mean ${quoteList(shown)}?`, edit: { ...h.edit, text: shown[0]! } }
      : { message: h.otherwise ?? h.message };
    return { ...d, help };
  });
}
