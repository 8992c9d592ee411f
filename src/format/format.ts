// The .rnn formatter: the same tokens and comments, re-spaced: one item a line, two-space bodies, aligned declaration blocks.
import { maxOf } from "../diagnostics/extremes.js";
import type { IToken } from "chevrotain";
import type * as A from "../ast/nodes.js";
import { DiagnosticBag, type Diagnostic } from "../diagnostics/diagnostic.js";
import { parseFile } from "../syntax/syntax.js";

type Kind = "import" | "decl" | "close" | "input" | "state" | "param" | "layer" | "def" | "output" | "comment" | "cont";

interface Line {
  depth: number;
  kind: Kind;
  /** The code, cut at its alignment points (see `alignAt`). */
  segments: string[];
  trailing?: string;
  blankBefore: boolean;
}

/** Where a line's code is cut for alignment: after its first `:`, before its `~` and before its first `=` (kinds vary). */
const alignAt: Partial<Record<Kind, ReadonlySet<string>>> = {
  input: new Set(["Colon"]),
  state: new Set(["Colon", "Equals"]),
  param: new Set(["Colon", "Tilde"]),
  layer: new Set(["Equals"]),
  def: new Set(["Equals"]),
  output: new Set(["Equals"]),
};

/** Display width: East Asian wide characters take two columns. */
const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u;
const width = (s: string): number => [...s].reduce((w, ch) => w + (WIDE.test(ch) ? 2 : 1), 0);
const OPENERS = new Set(["LParen", "LBracket", "Less"]);
const CLOSERS = new Set(["RParen", "RBracket", "Greater"]);
const BINARY = new Set(["Plus", "Minus", "Star", "Slash", "MatMul", "Hadamard"]);
/** Tokens after which a `-` is a sign, not a subtraction. */
const BEFORE_UNARY = new Set([...BINARY, "LParen", "LBracket", "Less", "Comma", "Equals", "Colon", "Tilde", "Semicolon"]);

export interface FormatResult { readonly text?: string; readonly diagnostics: readonly Diagnostic[] }

/** Formats a file; a file with syntax errors is left alone (its diagnostics are returned instead). */
export function formatText(text: string, file = "<input>"): FormatResult {
  const diags = new DiagnosticBag();
  const parsed = parseFile(file, text, diags);
  if (diags.items.some((d) => d.severity === "error")) return { diagnostics: diags.items };
  return { text: new Printer(text, parsed.tokens, parsed.comments, parsed.module).print(), diagnostics: [] };
}

/** Index of the first token starting at or after `offset` (tokens are in source order): a binary search. */
function firstAtOrAfter(tokens: readonly IToken[], offset: number): number {
  let lo = 0, hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid]!.startOffset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class Printer {
  private readonly lines: Line[] = [];
  /** Token offset → the kind of line it starts. */
  private readonly starts = new Map<number, Kind>();
  /** Offsets of `{` opening a declaration body and of the `}` closing it. */
  private readonly bodyOpen = new Set<number>();
  private readonly bodyClose = new Set<number>();

  constructor(private readonly text: string, private readonly tokens: readonly IToken[], private readonly comments: readonly IToken[], module: A.Module) {
    for (const i of module.imports) this.starts.set(i.span.start, "import");
    for (const d of module.decls) {
      this.starts.set(d.span.start, "decl");
      const inside = tokens.slice(firstAtOrAfter(tokens, d.span.start), firstAtOrAfter(tokens, d.span.end));
      const open = inside.find((t) => t.tokenType.name === "LBrace");
      const close = [...inside].reverse().find((t) => t.tokenType.name === "RBrace");
      if (open) this.bodyOpen.add(open.startOffset);
      if (close && close !== open) {
        this.bodyClose.add(close.startOffset);
        this.starts.set(close.startOffset, "close");
      }
      for (const item of d.items) this.starts.set(item.span.start, item.kind === "def" ? "def" : item.kind);
    }
  }

  print(): string {
    const stream = [...this.tokens.map((t) => ({ t, comment: false })), ...this.comments.map((t) => ({ t, comment: true }))].sort((a, b) => a.t.startOffset - b.t.startOffset);
    let depth = 0;
    let cur: Line | undefined;
    let prev: IToken | undefined;
    let prevEnd = 0;
    let stack: string[] = [];
    let cut = new Set<string>();
    const flush = () => {
      if (cur) this.lines.push(cur);
      cur = undefined;
    };
    const blankBetween = (from: number, to: number) => (this.text.slice(from, to).match(/\n/g)?.length ?? 0) >= 2;
    for (const { t, comment } of stream) {
      const gap = this.text.slice(prevEnd, t.startOffset);
      const blank = prev !== undefined && blankBetween(prevEnd, t.startOffset);
      if (comment) {
        const body = t.tokenType.name === "BlockComment" ? t.image : t.image.trimEnd();
        if (cur && !gap.includes("\n")) {
          if (t.tokenType.name === "BlockComment") cur.segments[cur.segments.length - 1] += ` ${body}`;
          else cur.trailing = body;
        } else {
          flush();
          this.lines.push({ depth, kind: "comment", segments: [body], blankBefore: blank });
        }
        prev = t;
        prevEnd = t.startOffset + t.image.length;
        continue;
      }
      const starts = this.starts.get(t.startOffset);
      if (starts === "close") depth = Math.max(0, depth - 1);
      if (starts || !cur || cur.trailing !== undefined) {
        const continuing = !starts && cur !== undefined;
        flush();
        cur = { depth: continuing ? depth + 2 : depth, kind: starts ?? "cont", segments: [t.image], blankBefore: blank && !continuing };
        stack = starts ? [] : stack;
        cut = new Set();
      } else {
        const k = this.space(prev, t, stack) ? " " : "";
        const at = t.tokenType.name;
        const cuts = stack.length === 0 && alignAt[cur.kind]?.has(at) === true && !cut.has(at);
        if (cuts) cut.add(at);
        if (cuts && at !== "Colon") {
          cur.segments.push(`${k}${t.image}`);
        } else {
          cur.segments[cur.segments.length - 1] += `${k}${t.image}`;
          if (cuts) cur.segments.push("");
        }
      }
      const name = t.tokenType.name;
      if (OPENERS.has(name)) stack.push(name === "LBracket" && prev && /^(Identifier|RParen|RBracket)$/.test(prev.tokenType.name) ? "index" : name);
      if (CLOSERS.has(name)) stack.pop();
      if (this.bodyOpen.has(t.startOffset)) {
        flush();
        depth++;
      }
      prev = t;
      prevEnd = t.startOffset + t.image.length;
    }
    flush();
    return this.render();
  }

  /** Whether a space separates two tokens on one line. */
  private space(prev: IToken | undefined, next: IToken, stack: readonly string[]): boolean {
    if (!prev) return false;
    const p = prev.tokenType.name;
    const n = next.tokenType.name;
    const inIndex = stack[stack.length - 1] === "index";
    if (["Comma", "Semicolon", "RParen", "RBracket", "Greater", "Dot"].includes(n)) return false;
    if (["LParen", "LBracket", "Less", "Dot"].includes(p)) return false;
    if (n === "LParen") return !/^(Identifier|Greater|RParen|RBracket)$/.test(p);
    if (n === "LBracket") return !/^(Identifier|RParen|RBracket)$/.test(p);
    if (n === "Less") return false;
    if (n === "Colon") return false;
    if (p === "Colon") return !inIndex;
    if (p === "Minus" && this.isUnary(prev)) return false;
    if (inIndex && (BINARY.has(n) || BINARY.has(p))) return false;
    return true;
  }

  /** Each token's place in `tokens`. */
  private readonly index = new Map<IToken, number>();

  private isUnary(minus: IToken): boolean {
    if (!this.index.size) this.tokens.forEach((t, i) => this.index.set(t, i));
    const before = this.tokens[this.index.get(minus)! - 1];
    return !before || BEFORE_UNARY.has(before.tokenType.name) || this.starts.has(minus.startOffset);
  }

  private render(): string {
    const lines = this.lines;
    // Blank lines: one between top-level declarations (before their leading comments), none at a body's edges.
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      const prevLine = lines[i - 1];
      if (!prevLine) { l.blankBefore = false; continue; }
      if (prevLine.kind === "decl" && prevLine.depth === l.depth - 1) l.blankBefore = false;
      if (l.kind === "close") l.blankBefore = false;
      if (l.depth === 0 && (l.kind === "decl" || (l.kind === "import" && prevLine.kind !== "import" && prevLine.kind !== "comment"))) {
        let first = i;
        while (first > 0 && lines[first - 1]!.kind === "comment" && lines[first - 1]!.depth === 0 && !lines[first]!.blankBefore) first--;
        if (first > 0) lines[first]!.blankBefore = true;
      }
    }
    this.align(lines);
    const out: string[] = [];
    for (const l of lines) {
      if (l.blankBefore && out.length) out.push("");
      const code = "  ".repeat(l.depth) + l.segments.join("");
      out.push(l.trailing !== undefined ? `${code}${l.trailing === "" ? "" : "  "}${l.trailing}`.trimEnd() : code.trimEnd());
    }
    return out.join("\n") + "\n";
  }

  /** Pads segments so that runs of same-kind lines line up, and trailing comments within a run of commented lines. */
  private align(lines: Line[]): void {
    let i = 0;
    while (i < lines.length) {
      let j = i + 1;
      const kind = lines[i]!.kind;
      while (j < lines.length && lines[j]!.kind === kind && !lines[j]!.blankBefore && lines[j]!.depth === lines[i]!.depth && alignAt[kind]) j++;
      const run = lines.slice(i, j);
      const cols = maxOf(run.map((l) => l.segments.length));
      for (let k = 0; k < cols - 1; k++) {
        const w = maxOf(run.filter((l) => l.segments.length > k + 1).map((l) => width(l.segments[k]!)));
        for (const l of run) if (l.segments.length > k + 1) l.segments[k] += " ".repeat(w - width(l.segments[k]!));
      }
      i = j;
    }
    // Trailing comments: aligned over consecutive lines that all have one.
    i = 0;
    while (i < lines.length) {
      if (lines[i]!.trailing === undefined || lines[i]!.kind === "comment") { i++; continue; }
      let j = i + 1;
      while (j < lines.length && lines[j]!.trailing !== undefined && lines[j]!.kind !== "comment" && !lines[j]!.blankBefore) j++;
      const codeWidth = (l: Line) => width("  ".repeat(l.depth) + l.segments.join(""));
      const w = maxOf(lines.slice(i, j).map(codeWidth));
      for (const l of lines.slice(i, j)) l.segments[l.segments.length - 1] += " ".repeat(w - codeWidth(l));
      i = j;
    }
  }
}
