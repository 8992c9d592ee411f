// Finding names under the cursor: hover, go to definition, find references and rename.
import { ResponseError, ErrorCodes, type Hover, type Location, type Range, type WorkspaceEdit, type TextEdit } from "vscode-languageserver";
import type * as A from "../ast/nodes.js";
import { keywords } from "../syntax/tokens.js";
import { builtins } from "../ir/ops.js";
import { describeBuiltin, describeDef, type Def, type Use } from "./semantic.js";
import { pathToUri, type Analysis, type Workspace } from "./workspace.js";

const IDENTIFIER = /^[\p{L}_][\p{L}\p{N}_']*$/u;
const KEYWORDS = new Set(keywords.map((k) => k.name.toLowerCase()));

const within = (span: A.Span, offset: number) => offset >= span.start && offset <= span.end;
const sameDef = (a: Def | undefined, b: Def | undefined): boolean => !!a && !!b && a.file === b.file && a.span.start === b.span.start && a.name === b.name;

/** The declaration or use under `offset`. */
function symbolAt(a: Analysis, offset: number): { def: Def | undefined; use: Use | undefined; span: A.Span } | undefined {
  const def = a.symbols.defs.find((d) => d.file === a.result.file && within(d.span, offset));
  if (def) return { def, use: undefined, span: def.span };
  const use = a.symbols.uses.find((u) => within(u.span, offset));
  return use ? { def: use.def, use, span: use.span } : undefined;
}

/** For a value's declaration, the span of its expression (models find the value's IR node by it). */
function valueSpan(a: Analysis, def: Def): A.Span | undefined {
  const decl = a.result.parsed?.module.decls.find((d) => d.name.text === def.container);
  for (const item of decl?.items ?? []) {
    if (item.kind === "def" && item.name.span.start === def.span.start) return item.value.span;
    if (item.kind === "output") for (const o of item.items) if (o.name.span.start === def.span.start && o.value) return o.value.span;
  }
  return undefined;
}

export function hover(ws: Workspace, a: Analysis, offset: number): Hover | null {
  const at = symbolAt(a, offset);
  if (!at) return null;
  const text = at.def ? describeDef(at.def, at.def.file === a.result.file ? a.result : ws.analyze(at.def.file)!.result, valueSpan(a, at.def))
    : at.use?.builtin ? describeBuiltin(at.use.name, at.use.builtin) : undefined;
  return text ? { contents: { kind: "markdown", value: text }, range: ws.range(a.result.file, at.span) } : null;
}

export function definition(ws: Workspace, a: Analysis, offset: number): Location | null {
  const def = symbolAt(a, offset)?.def;
  return def ? { uri: pathToUri(def.file), range: ws.range(def.file, def.span) } : null;
}

/** Every span in this file naming `def` (its declaration, if here, first). */
function occurrences(a: Analysis, def: Def, withDeclaration: boolean): A.Span[] {
  const own = withDeclaration && def.file === a.result.file ? [def.span] : [];
  return [...own, ...a.symbols.uses.filter((u) => sameDef(u.def, def)).map((u) => u.span)];
}

export function references(ws: Workspace, a: Analysis, offset: number, withDeclaration: boolean): Location[] {
  const def = symbolAt(a, offset)?.def;
  if (!def) return [];
  const here = occurrences(a, def, false).map((s) => ({ uri: pathToUri(a.result.file), range: ws.range(a.result.file, s) }));
  const decl = withDeclaration ? [{ uri: pathToUri(def.file), range: ws.range(def.file, def.span) }] : [];
  return [...decl, ...here];
}

/** Checks that the name under the cursor can be renamed here; returns its range. */
export function prepareRename(ws: Workspace, a: Analysis, offset: number): { range: Range; placeholder: string } {
  const at = symbolAt(a, offset);
  if (!at?.def) throw new ResponseError(ErrorCodes.InvalidRequest, at?.use?.builtin ? `\`${at.use.name}\` is built in and cannot be renamed` : "there is no name to rename here");
  if (at.def.file !== a.result.file) throw new ResponseError(ErrorCodes.InvalidRequest, `\`${at.def.name}\` is declared in ${at.def.file}; rename it there`);
  return { range: ws.range(a.result.file, at.span), placeholder: at.def.name };
}

export function rename(ws: Workspace, a: Analysis, offset: number, newName: string): WorkspaceEdit {
  prepareRename(ws, a, offset);
  const def = symbolAt(a, offset)!.def!;
  if (!IDENTIFIER.test(newName)) throw new ResponseError(ErrorCodes.InvalidParams, `\`${newName}\` is not a name: names are letters, digits, \`_\` and \`'\`, not starting with a digit`);
  if (KEYWORDS.has(newName)) throw new ResponseError(ErrorCodes.InvalidParams, `\`${newName}\` is a keyword`);
  if (builtins.has(newName)) throw new ResponseError(ErrorCodes.InvalidParams, `\`${newName}\` is a builtin function`);
  const clash = a.symbols.defs.find((d) => d.name === newName && d.container === def.container && !sameDef(d, def))
    ?? (def.container === undefined && a.result.visible.has(newName) ? { name: newName } : undefined);
  if (clash) throw new ResponseError(ErrorCodes.InvalidParams, `\`${newName}\` is already declared ${def.container ? `in \`${def.container}\`` : "in this file"}`);
  const edits: TextEdit[] = occurrences(a, def, true).map((s) => ({ range: ws.range(a.result.file, s), newText: newName }));
  return { changes: { [pathToUri(a.result.file)]: edits } };
}
