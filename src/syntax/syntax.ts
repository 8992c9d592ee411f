// Syntax stage: text → CST → AST, with lexing and parsing errors turned into diagnostics.
import type { IRecognitionException, IToken } from "chevrotain";
import type { CstNode } from "chevrotain";
import type { Module, Span } from "../ast/nodes.js";
import type { DiagnosticBag } from "../diagnostics/diagnostic.js";
import { AstBuilder } from "./cst-to-ast.js";
import { parseCst } from "./parser.js";

export interface ParsedFile {
  readonly file: string;
  readonly text: string;
  readonly cst: CstNode;
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

/** Parses one file. Never throws: every problem becomes a diagnostic, and the AST holds what could be recovered. */
export function parseFile(file: string, text: string, diags: DiagnosticBag): ParsedFile {
  const r = parseCst(text);
  for (const e of r.lexErrors) {
    const ch = text.slice(e.offset, e.offset + e.length);
    diags.error("RNN0102", `the character \`${ch}\` cannot appear in a .rnn file`, {
      file, span: { start: e.offset, end: e.offset + Math.max(1, e.length) }, label: "unexpected character",
      notes: ["names are letters, digits and `_`; operators are `+ - * / @ · ⊙ ~ =`; comments start with `//`"],
    });
  }
  for (const e of r.parseErrors) reportParseError(file, text, e, diags);
  const module = new AstBuilder(file, text, r.comments, diags).module(r.cst);
  return { file, text, cst: r.cst, tokens: r.tokens, comments: r.comments, module };
}

function reportParseError(file: string, text: string, e: IRecognitionException, diags: DiagnosticBag): void {
  const t = e.token;
  const atEof = t.tokenType.name === "EOF" || Number.isNaN(t.startOffset);
  const span: Span = atEof ? { start: Math.max(0, text.length - 1), end: text.length } : { start: t.startOffset, end: (t.endOffset ?? t.startOffset) + 1 };
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
