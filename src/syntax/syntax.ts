// Syntax stage: text → CST → AST, with lexing and parsing errors turned into diagnostics.
import type { IRecognitionException, IToken } from "chevrotain";
import type { Module, Span } from "../ast/nodes.js";
import { DiagnosticBag, type Diagnostic } from "../diagnostics/diagnostic.js";
import { MAX_EXPRESSION_TOKENS, MAX_NESTING, MAX_SOURCE_CHARS, MAX_SYNTAX_ERRORS } from "../diagnostics/limits.js";
import { AstBuilder } from "./cst-to-ast.js";
import { parseCst } from "./parser.js";

export interface ParsedFile {
  readonly file: string;
  readonly text: string;
  readonly tokens: readonly IToken[];
  readonly comments: readonly IToken[];
  readonly module: Module;
}

const display: Record<string, string> = {
  LBrace: "`{`", RBrace: "`}`", LParen: "`(`", RParen: "`)`", LBracket: "`[`", RBracket: "`]`",
  Less: "`<`", Greater: "`>`", Equals: "`=`", Colon: "`:`", Comma: "`,`", Tilde: "`~`", Semicolon: "`;`",
  Identifier: "a name", NumberLiteral: "a number", StringLiteral: "a string", EOF: "the end of the file",
};
const ruleContext: Record<string, string> = {
  cellDecl: "a cell", importDecl: "an import", paramDecl: "a param declaration", stateDecl: "a state declaration",
  inputDecl: "an input declaration", shape: "a shape", dimParams: "the dimension list", cellOptions: "the cell options",
  argumentList: "an argument list", indexSuffix: "an index", outputDecl: "an output declaration",
};

function tokenName(name: string): string {
  return display[name] ?? `\`${name.toLowerCase()}\``;
}

function describeFound(t: IToken): string {
  return t.tokenType.name === "EOF" ? "the end of the file" : `\`${t.image}\``;
}

/**
 * Parses one file. Never throws: every problem becomes a diagnostic, and the AST holds what could be recovered.
 * The file is parsed a top-level declaration at a time (see `chunkStarts`), and each declaration's parse is kept
 * while its text is unchanged: after an edit, only the edited declaration is parsed again.
 */
export function parseFile(file: string, text: string, diags: DiagnosticBag): ParsedFile {
  if (text.length > MAX_SOURCE_CHARS) {
    diags.error("RNN0109", `this file has more than ${MAX_SOURCE_CHARS.toLocaleString("en-US")} characters`, {
      file, span: { start: 0, end: 0 }, label: "not read",
      notes: [`a .rnn file holds at most ${MAX_SOURCE_CHARS.toLocaleString("en-US")} characters (1 MiB of plain text); nothing in it was parsed`],
      help: { message: "split it into files that import each other" },
    });
    return { file, text, tokens: [], comments: [], module: { file, imports: [], decls: [] } };
  }
  const starts = chunkStarts(text);
  const tokens: IToken[] = [];
  const comments: IToken[] = [];
  const imports: Module["imports"][number][] = [];
  const decls: Module["decls"][number][] = [];
  starts.forEach((start, k) => {
    const chunk = parseChunk(file, text.slice(start, starts[k + 1] ?? text.length));
    const moved = start === 0 ? chunk : shifted(chunk, start);
    // One at a time: a spread of a few hundred thousand tokens overflows the call stack.
    for (const t of moved.tokens) tokens.push(t);
    for (const t of moved.comments) comments.push(t);
    for (const i of moved.module.imports) imports.push(i);
    for (const d of moved.module.decls) decls.push(d);
    for (const d of moved.diagnostics) diags.items.push(d);
  });
  return { file, text, tokens, comments, module: { file, imports, decls } };
}

interface Chunk { readonly tokens: readonly IToken[]; readonly comments: readonly IToken[]; readonly module: Module; readonly diagnostics: readonly Diagnostic[] }

/** Parsed declarations by file and text, least recently used first (an edit re-parses only what it touched). */
const chunkCache = new Map<string, Chunk>();
/** The cache's keys of each file, so that a file closed in an editor takes its chunks with it. */
const chunkKeys = new Map<string, Set<string>>();
/** Chunks kept at most (a few thousand declarations' tokens and trees: tens of MB at most). */
const CHUNK_CACHE_SIZE = 1024;

/** Drops every parsed declaration of `file` (a language server calls this when a document closes). */
export function forgetChunks(file: string): void {
  for (const key of chunkKeys.get(file) ?? []) chunkCache.delete(key);
  chunkKeys.delete(file);
}

function parseChunk(file: string, text: string): Chunk {
  const key = `${file}\u0000${text}`;
  const hit = chunkCache.get(key);
  if (hit) {
    chunkCache.delete(key); // most recently used last
    chunkCache.set(key, hit);
    return hit;
  }
  const diags = new DiagnosticBag();
  const r = parseCst(text);
  for (const e of r.lexErrors) {
    const ch = text.slice(e.offset, e.offset + e.length);
    diags.error("RNN0102", `the character \`${ch}\` cannot appear in a .rnn file`, {
      file, span: { start: e.offset, end: e.offset + Math.max(1, e.length) }, label: "unexpected character",
      notes: ["names are letters, digits and `_`; operators are `+ - * / @ · ⊙ ~ =`; comments start with `//`"],
    });
  }
  // After a keyword used as a name, the rest of its line is the parser's recovery: not reported again.
  let quietLine = -1;
  for (const e of r.parseErrors) {
    if (e.token.startLine === quietLine) continue;
    if (reportParseError(file, text, e, diags) === "keyword") quietLine = e.token.startLine ?? -1;
  }
  if (r.parseErrors.length >= MAX_SYNTAX_ERRORS) {
    const last = r.parseErrors[r.parseErrors.length - 1]!.token;
    const at = Number.isNaN(last.startOffset) ? text.length : last.startOffset;
    diags.error("RNN0101", `more than ${MAX_SYNTAX_ERRORS} syntax errors in this declaration: the rest of it was not read`, {
      file, span: { start: at, end: at }, label: "reading stopped here",
      notes: [`at most ${MAX_SYNTAX_ERRORS} syntax errors are reported per declaration; fix these and check again`],
    });
  }
  if (r.tooDeep) {
    const t = r.tooDeep;
    diags.error("RNN0106", `brackets and signs nest more than ${MAX_NESTING} deep here`, {
      file, span: { start: t.startOffset, end: (t.endOffset ?? t.startOffset) + 1 }, label: `level ${MAX_NESTING + 1}`,
      notes: [`at most ${MAX_NESTING} brackets \`(\` \`[\` and minus signs can be open at once; this declaration was not read`],
      help: { message: "give the inner parts names of their own (`a = …`, then use `a`)" },
    });
  }
  if (r.tooLong) {
    const t = r.tooLong;
    diags.error("RNN0110", `this expression is longer than ${MAX_EXPRESSION_TOKENS.toLocaleString("en-US")} tokens`, {
      file, span: { start: t.startOffset, end: (t.endOffset ?? t.startOffset) + 1 }, label: `token ${(MAX_EXPRESSION_TOKENS + 1).toLocaleString("en-US")}`,
      notes: [`one expression holds at most ${MAX_EXPRESSION_TOKENS.toLocaleString("en-US")} names, numbers, operators and brackets; this declaration was not read`],
      help: { message: "split it into named parts (`s1 = a + b + …`, then `s = s1 + s2`)" },
    });
  }
  const module = new AstBuilder(file, text, r.comments, diags).module(r.cst);
  const chunk = { tokens: r.tokens, comments: r.comments, module, diagnostics: diags.items };
  if (chunkCache.size >= CHUNK_CACHE_SIZE) {
    const oldest = chunkCache.keys().next().value!;
    chunkCache.delete(oldest);
    chunkKeys.get(oldest.slice(0, oldest.indexOf("\u0000")))?.delete(oldest);
  }
  chunkCache.set(key, chunk);
  const keys = chunkKeys.get(file) ?? new Set<string>();
  chunkKeys.set(file, keys.add(key));
  return chunk;
}

/** A copy of a value with every span (an object of just `start` and `end`) moved by `by`. */
function shiftSpans<T>(value: T, by: number): T {
  if (Array.isArray(value)) return value.map((v) => shiftSpans(v, by)) as T;
  if (typeof value !== "object" || value === null) return value;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 2 && typeof o["start"] === "number" && typeof o["end"] === "number") return { start: o["start"] + by, end: o["end"] + by } as T;
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = shiftSpans(o[k], by);
  return out as T;
}

/** The chunk moved to offset `by`; the last move of each chunk is kept (most edits leave other chunks where they were). */
const lastMove = new WeakMap<Chunk, { by: number; chunk: Chunk }>();
function shifted(c: Chunk, by: number): Chunk {
  const hit = lastMove.get(c);
  if (hit?.by === by) return hit.chunk;
  const chunk = shiftChunk(c, by);
  lastMove.set(c, { by, chunk });
  return chunk;
}

function shiftChunk(c: Chunk, by: number): Chunk {
  const token = (t: IToken): IToken => ({ ...t, startOffset: t.startOffset + by, endOffset: (t.endOffset ?? t.startOffset) + by });
  return { tokens: c.tokens.map(token), comments: c.comments.map(token), module: shiftSpans(c.module, by), diagnostics: shiftSpans(c.diagnostics, by) };
}

/**
 * Where top-level declarations start: lines beginning with `cell`, `model` or `import` outside block comments, moved
 * up over the comment and blank lines just above them (so that doc comments stay with their declaration).
 */
export function chunkStarts(text: string): number[] {
  const starts = [0];
  let i = 0;
  let runStart = -1;
  const keyword = /(?:cell|model|import)(?![\p{L}\p{N}_'])/uy;
  while (i < text.length) {
    const lineStart = i;
    keyword.lastIndex = i;
    if (keyword.test(text) && lineStart > 0) starts.push(runStart >= 0 ? runStart : lineStart);
    // Scan the line; a block comment may carry the scan over several lines.
    let onlyComment = true;
    let sawCode = false;
    while (i < text.length && text[i] !== "\n") {
      if (text.startsWith("//", i)) { i = text.indexOf("\n", i); if (i < 0) i = text.length; break; }
      if (text.startsWith("/*", i)) { const end = text.indexOf("*/", i + 2); i = end < 0 ? text.length : end + 2; onlyComment = false; continue; }
      if (text[i] === '"') { const end = text.indexOf('"', i + 1); const nl = text.indexOf("\n", i); i = end < 0 || (nl >= 0 && nl < end) ? (nl < 0 ? text.length : nl) : end + 1; sawCode = true; continue; }
      if (!/\s/.test(text[i]!)) sawCode = true;
      i++;
    }
    const commentOrBlank = onlyComment && !sawCode;
    runStart = commentOrBlank ? (runStart >= 0 ? runStart : lineStart) : -1;
    i++;
  }
  return [...new Set(starts)].sort((a, b) => a - b);
}

/** The language's keywords, by token type name. */
const keywordTypes = new Set(["Import", "From", "Cell", "Model", "Input", "State", "Param", "Gate", "Output", "Layer"]);

/** Reports a parse error; "keyword" when it is a keyword written where a name goes (`output state = …`). */
function reportParseError(file: string, text: string, e: IRecognitionException, diags: DiagnosticBag): "keyword" | undefined {
  const t = e.token;
  const atEof = t.tokenType.name === "EOF" || Number.isNaN(t.startOffset);
  const span: Span = atEof ? { start: Math.max(0, text.length - 1), end: text.length } : { start: t.startOffset, end: (t.endOffset ?? t.startOffset) + 1 };
  // A keyword followed by `=`, `:` or `,` stands where a name goes.
  if (!atEof && keywordTypes.has(t.tokenType.name) && /^\s*[=:,]/.test(text.slice(span.end, span.end + 80))) {
    diags.error("RNN0101", `\`${t.image}\` is a keyword, so it cannot name a value`, {
      file, span, label: "a keyword, not a name",
      notes: [`the keywords are ${[...keywordTypes].map((k) => `\`${k.toLowerCase()}\``).join(", ")}`],
      help: { message: `name it something else, such as \`${t.image}_\` or \`${t.image}s\`` },
    });
    return "keyword";
  }
  const rule = [...e.context.ruleStack].reverse().find((r) => ruleContext[r]);
  const where = rule ? ` in ${ruleContext[rule]}` : "";
  const expected = /Expecting token of type --> (\w+) <--/.exec(e.message)?.[1];
  let label = "unexpected here";
  let message = `unexpected ${describeFound(t)}${where}`;
  if (expected) {
    message = `expected ${tokenName(expected)}${where}, found ${describeFound(t)}`;
    label = `expected ${tokenName(expected)}`;
  } else if (e.name === "NotAllInputParsedException") {
    message = `unexpected ${describeFound(t)} at the top level`;
    label = "expected `cell` or `import`";
  }
  const innermost = e.context.ruleStack[e.context.ruleStack.length - 1];
  const inCellBody = innermost === "cellItem" || innermost === "cellDecl";
  diags.error("RNN0101", message, {
    file, span, label,
    notes: inCellBody && (e.name === "NoViableAltException" || e.name === "EarlyExitException")
      ? ["a cell holds `input`, `state`, `param`, `gate` and `output` declarations and equations `name = expression`"] : [],
  });
}
