// Editor features over one analysis: diagnostics, completion, outline, semantic tokens, folding, formatting and quick fixes.
import {
  CodeActionKind, CompletionItemKind, DiagnosticSeverity, DiagnosticTag, FoldingRangeKind, SymbolKind,
  type CodeAction, type CompletionItem, type Diagnostic as LspDiagnostic, type DocumentSymbol, type FoldingRange, type SemanticTokens, type TextEdit,
} from "vscode-languageserver";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { formatText } from "../format/format.js";
import { builtins } from "../ir/ops.js";
import { randomFunctions } from "../elaborate/random-ops.js";
import { initializers } from "../ir/initializers.js";
import { keywords } from "../syntax/tokens.js";
import { constructDocs, shapeOf, type Def, type DefKind } from "./semantic.js";
import { pathToUri, type Analysis, type Workspace } from "./workspace.js";

/** The compiler's diagnostics of this file, with related spans, notes and help; a help with an edit travels in `data`. */
export function diagnostics(ws: Workspace, a: Analysis): LspDiagnostic[] {
  return a.result.diagnostics.filter((d) => d.primary.file === a.result.file).map((d: Diagnostic) => ({
    range: ws.range(d.primary.file, d.primary.span),
    severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: d.code,
    source: "rnnc",
    message: [d.message, ...(d.primary.message ? [d.primary.message] : []), ...d.notes.map((n) => `note: ${n}`), ...(d.help ? [`help: ${d.help.message}`] : [])].join("\n"),
    relatedInformation: d.secondary.map((l) => ({ location: { uri: pathToUri(l.file), range: ws.range(l.file, l.span) }, message: l.message })),
    ...(d.code === "RNN0501" || d.code === "RNN0503" || d.code === "RNN0504" ? { tags: [DiagnosticTag.Unnecessary] } : {}),
    ...(d.help?.edit ? { data: { help: d.help.message, edit: d.help.edit } } : {}),
  }));
}

/** Quick fixes: each diagnostic whose help carries an edit becomes one. */
export function codeActions(ws: Workspace, a: Analysis, sent: readonly LspDiagnostic[]): CodeAction[] {
  const out: CodeAction[] = [];
  for (const d of sent) {
    const data = d.data as { help?: string; edit?: { file: string; span: { start: number; end: number }; text: string } } | undefined;
    if (!data?.edit || data.edit.file !== a.result.file) continue;
    out.push({
      title: data.help ?? `replace with \`${data.edit.text}\``, kind: CodeActionKind.QuickFix, diagnostics: [d], isPreferred: true,
      edit: { changes: { [pathToUri(a.result.file)]: [{ range: ws.range(a.result.file, data.edit.span), newText: data.edit.text }] } },
    });
  }
  return out;
}

const completionKind: Record<DefKind, CompletionItemKind> = {
  cell: CompletionItemKind.Class, model: CompletionItemKind.Module, dim: CompletionItemKind.TypeParameter, option: CompletionItemKind.Property,
  input: CompletionItemKind.Variable, state: CompletionItemKind.Field, param: CompletionItemKind.Constant, layer: CompletionItemKind.Function,
  value: CompletionItemKind.Variable, gate: CompletionItemKind.Variable, output: CompletionItemKind.Variable,
};

export function completion(ws: Workspace, a: Analysis, offset: number): CompletionItem[] {
  const text = a.result.parsed!.text;
  const line = text.slice(text.lastIndexOf("\n", offset - 1) + 1, offset);
  const cells = () => {
    const stdCells = (ws.host.resolveImport("std", a.result.file) ?? []).flatMap((f) => ws.topLevelDefs(f));
    const seen = new Set<string>();
    return [...a.symbols.defs.filter((d) => d.kind === "cell" && d.container === undefined), ...stdCells]
      .filter((d) => !seen.has(d.name) && seen.add(d.name))
      .map((d): CompletionItem => ({ label: d.name, kind: CompletionItemKind.Class, detail: d.file === a.result.file ? "cell" : `cell from ${d.file.split("/").pop()}`, ...(d.doc ? { documentation: d.doc } : {}) }));
  };
  if (/~\s*[\p{L}_]*$/u.test(line)) return [...initializers.values()].map((i) => ({ label: i.name, kind: CompletionItemKind.Function, detail: "initializer", documentation: i.doc }));
  if (/\bimport\s*\{[^}]*$/u.test(line)) return cells();
  if (/\blayer\s+[\p{L}_][\p{L}\p{N}_']*\s*=\s*[\p{L}_]*$/u.test(line)) return cells();
  const decl = a.result.parsed!.module.decls.find((d) => offset >= d.span.start && offset <= d.span.end);
  const scope = decl ? a.symbols.defs.filter((d) => d.container === decl.name.text) : [];
  const items: CompletionItem[] = scope.map((d) => {
    const shape = shapeOf(d, a.result);
    return { label: d.name, kind: completionKind[d.kind], detail: `${d.kind}${shape ? `: ${shape.split(", which")[0]}` : ""}`, ...(d.doc ? { documentation: d.doc } : {}) };
  });
  const atLineStart = /^\s*[\p{L}_]*$/u.test(line);
  if (atLineStart) items.push(...keywords.map((k) => ({ label: k.name.toLowerCase(), kind: CompletionItemKind.Keyword })));
  if (decl?.kind === "model") items.push(...Object.entries(constructDocs).map(([label, doc]) => ({ label, kind: CompletionItemKind.Keyword, detail: "sequence construct", documentation: doc })));
  if (decl) items.push(...[...builtins.values()].filter((b) => /^[a-z_]+$/.test(b.name)).map((b) => ({ label: b.name, kind: CompletionItemKind.Function, detail: "builtin", documentation: b.doc })),
    ...[...randomFunctions].map(([label, f]) => ({ label, kind: CompletionItemKind.Function, detail: "builtin", documentation: f.doc })));
  if (!decl) for (const c of cells()) items.push(c);
  return items;
}

const symbolKind: Record<DefKind, SymbolKind> = {
  cell: SymbolKind.Class, model: SymbolKind.Module, dim: SymbolKind.TypeParameter, option: SymbolKind.Property, input: SymbolKind.Variable,
  state: SymbolKind.Field, param: SymbolKind.Constant, layer: SymbolKind.Object, value: SymbolKind.Variable, gate: SymbolKind.Boolean, output: SymbolKind.Event,
};

export function documentSymbols(ws: Workspace, a: Analysis): DocumentSymbol[] {
  const file = a.result.file;
  const own = a.symbols.defs.filter((d) => d.file === file);
  const sym = (d: Def, children?: DocumentSymbol[]): DocumentSymbol => {
    const shape = shapeOf(d, a.result);
    return { name: d.name, kind: symbolKind[d.kind], detail: shape ? `${d.kind} ${shape.split(", which")[0]}` : d.kind, range: ws.range(file, d.declSpan), selectionRange: ws.range(file, d.span), ...(children ? { children } : {}) };
  };
  // Members by container name, gathered once (a large file has thousands of declarations).
  const members = new Map<string, Def[]>();
  for (const d of own) if (d.container !== undefined) {
    const list = members.get(d.container);
    if (list) list.push(d);
    else members.set(d.container, [d]);
  }
  return own.filter((d) => d.container === undefined).map((top) => sym(top, (members.get(top.name) ?? []).filter((d) => d.declSpan.start >= top.declSpan.start && d.declSpan.end <= top.declSpan.end).sort((x, y) => x.span.start - y.span.start).map((d) => sym(d))));
}

export const tokenTypes = ["class", "typeParameter", "parameter", "variable", "property", "function", "enumMember", "namespace"];
export const tokenModifiers = ["declaration", "readonly", "defaultLibrary"];
const tokenType: Record<DefKind, number> = { cell: 0, model: 0, dim: 1, input: 2, state: 3, value: 3, gate: 3, output: 3, param: 4, layer: 5, option: 6 };

/** Names coloured by what they are (LSP semantic tokens, relative encoding). */
export function semanticTokens(ws: Workspace, a: Analysis): SemanticTokens {
  const file = a.result.file;
  const items: { start: number; end: number; type: number; mods: number }[] = [];
  for (const d of a.symbols.defs) if (d.file === file) items.push({ ...d.span, type: tokenType[d.kind], mods: 1 | (d.kind === "param" || d.kind === "dim" ? 2 : 0) });
  for (const u of a.symbols.uses) {
    if (u.def) items.push({ ...u.span, type: tokenType[u.def.kind], mods: u.def.kind === "param" || u.def.kind === "dim" ? 2 : 0 });
    else if (u.builtin) items.push({ ...u.span, type: 5, mods: 4 });
  }
  items.sort((x, y) => x.start - y.start);
  const data: number[] = [];
  let line = 0;
  let char = 0;
  let last = -1;
  for (const it of items) {
    if (it.start === last) continue;
    last = it.start;
    const r = ws.range(file, it);
    if (r.start.line !== r.end.line) continue;
    data.push(r.start.line - line, r.start.line === line ? r.start.character - char : r.start.character, r.end.character - r.start.character, it.type, it.mods);
    line = r.start.line;
    char = r.start.character;
  }
  return { data };
}

export function foldingRanges(ws: Workspace, a: Analysis): FoldingRange[] {
  const file = a.result.file;
  const out: FoldingRange[] = [];
  for (const d of a.result.parsed!.module.decls) {
    // From the declaration's first line to the line before its closing brace.
    const r = ws.range(file, { start: d.span.start, end: Math.max(d.span.start, d.span.end - 1) });
    if (r.end.line > r.start.line) out.push({ startLine: r.start.line, endLine: r.end.line - 1 });
  }
  const lineOf = (offset: number) => ws.range(file, { start: offset, end: offset }).start.line;
  const runs = (lines: number[], kind: FoldingRangeKind) => {
    let start = -1;
    lines.forEach((l, i) => {
      if (start < 0) start = l;
      if (lines[i + 1] !== l + 1) {
        if (l > start) out.push({ startLine: start, endLine: l, kind });
        start = -1;
      }
    });
  };
  runs([...new Set(a.result.parsed!.comments.filter((c) => c.tokenType.name !== "BlockComment" && !a.result.parsed!.text.slice(a.result.parsed!.text.lastIndexOf("\n", c.startOffset - 1) + 1, c.startOffset).trim()).map((c) => lineOf(c.startOffset)))], FoldingRangeKind.Comment);
  runs(a.result.parsed!.module.imports.map((i) => lineOf(i.span.start)), FoldingRangeKind.Imports);
  return out;
}

export function formatting(ws: Workspace, a: Analysis): TextEdit[] {
  const text = a.result.parsed!.text;
  const r = formatText(text, a.result.file);
  if (r.text === undefined || r.text === text) return [];
  return [{ range: ws.range(a.result.file, { start: 0, end: text.length }), newText: r.text }];
}
