// Python source from spec names and numbers, safely: identifiers mangled to ASCII and never a keyword, strings and floats as literals.

const KEYWORDS = new Set([
  "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except",
  "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
  "with", "yield", "match", "case", "type", "_",
]);

/**
 * A spec name as a Python identifier: ASCII letters, digits and `_` kept, a dot as `_`, any other character as
 * `uHEX`; a leading digit, a keyword or a dunder name gets a prefix. Not one-to-one: `Names` makes each name in a
 * scope unique, and the generated code maps rnnc's names to them (`LAYERS`, each cell's `rnnc_params`).
 */
export function pyIdent(name: string, prefix = "n_"): string {
  let out = "";
  for (const ch of name) out += /[A-Za-z0-9_]/.test(ch) ? ch : ch === "." ? "_" : `u${ch.codePointAt(0)!.toString(16)}`;
  if (out === "" || /^[0-9]/.test(out) || KEYWORDS.has(out) || out.startsWith("__")) out = prefix + out;
  return out;
}

/** Names a generated scope never takes for a local: Python's builtins the code calls, and the module's own. */
export const PY_RESERVED = ["self", "torch", "F", "nn", "Tensor", "List", "Dict", "Optional", "len", "range", "int", "bool", "float", "list", "next", "min", "max", "sum", "B"];

/** A Python string literal of any text (JSON's escapes are Python's; no quote or backslash gets through raw). */
export const pyString = (s: string): string => JSON.stringify(s).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");

/** A Python float literal that reads back as the same double (`float("inf")` and `float("nan")` where needed). */
export function pyFloat(v: number): string {
  if (Number.isNaN(v)) return `float("nan")`;
  if (!Number.isFinite(v)) return v > 0 ? `float("inf")` : `-float("inf")`;
  const s = String(v);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** An integer literal (a dim's value, a token id). */
export function pyInt(v: number): string {
  if (!Number.isSafeInteger(v)) throw new Error(`internal: ${v} is not an integer`);
  return String(v);
}

/** A shape as one list literal: leading sizes (expressions) then dims (TorchScript types `[B] + []` as a list of tensors). */
export const shapeList = (lead: readonly string[], dims: readonly number[]): string => `[${[...lead, ...dims.map(pyInt)].join(", ")}]`;

/** Text for a `#` comment: no line break gets out of it. */
export const pyComment = (text: string): string => text.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/g, " ");

/** Names made unique within one Python scope (a function body). */
export class Names {
  private readonly used = new Set<string>();
  constructor(reserved: Iterable<string> = []) {
    for (const r of [...PY_RESERVED, ...reserved]) this.used.add(r);
  }
  /** A fresh local name from a hint (already an identifier, or mangled here). */
  fresh(hint: string): string {
    const base = pyIdent(hint, "v_");
    let name = base;
    for (let k = 2; this.used.has(name) || KEYWORDS.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }
}
