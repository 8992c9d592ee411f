// `rnnc lsp --stdio`: the language server. Diagnostics debounced per document, every request answered from the compiler's analysis.
import {
  CodeActionKind, createConnection, ProposedFeatures, TextDocuments, TextDocumentSyncKind, type Connection, type InitializeResult,
} from "vscode-languageserver/node.js";
import { TextDocument } from "vscode-languageserver-textdocument";
import { codeActions, completion, diagnostics, documentSymbols, foldingRanges, formatting, semanticTokens, tokenModifiers, tokenTypes } from "./editor.js";
import { definition, hover, prepareRename, references, rename } from "./navigation.js";
import { uriToPath, Workspace, type Analysis } from "./workspace.js";
import { cancelUndispatched, serverTransport } from "./transport.js";

/** The connection over stdin and stdout (see transport.ts for what a corrupt frame and an early request get). */
function stdioConnection(): Connection {
  const { reader, writer } = serverTransport(process.stdin, process.stdout);
  return createConnection(ProposedFeatures.all, reader, writer, { cancelUndispatched });
}

export function startServer(connection: Connection = stdioConnection()): void {
  const documents = new TextDocuments(TextDocument);
  const ws = new Workspace();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  let debounceMs = 150;

  const analysisOf = (uri: string): Analysis | undefined => {
    const doc = documents.get(uri);
    if (doc) ws.setDocument(doc);
    try {
      return ws.analyze(uriToPath(uri));
    } catch (e) {
      connection.console.error(`rnnc: analysis of ${uri} failed: ${(e as Error).stack ?? e}`);
      return undefined;
    }
  };

  /** Publishes a document's diagnostics unless it changed meanwhile (then a newer run is already scheduled). */
  const validate = (uri: string) => {
    const doc = documents.get(uri);
    if (!doc) return;
    const version = doc.version;
    const a = analysisOf(uri);
    if (!a || documents.get(uri)?.version !== version) return;
    void connection.sendDiagnostics({ uri, version, diagnostics: diagnostics(ws, a) });
  };

  /** Debounced: a burst of edits costs one analysis, and a pending run is dropped when another edit arrives. */
  const schedule = (uri: string, delay = debounceMs) => {
    clearTimeout(timers.get(uri));
    timers.set(uri, setTimeout(() => {
      timers.delete(uri);
      validate(uri);
      // Open files that import this one may have changed meaning too.
      for (const other of documents.all()) if (other.uri !== uri && !timers.has(other.uri)) validate(other.uri);
    }, delay));
  };

  connection.onInitialize((params): InitializeResult => {
    const opts = params.initializationOptions as { debounceMs?: number } | undefined;
    if (typeof opts?.debounceMs === "number" && opts.debounceMs >= 0) debounceMs = opts.debounceMs;
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        completionProvider: { triggerCharacters: ["~", "=", "{", ",", "("] },
        definitionProvider: true,
        referencesProvider: true,
        renameProvider: { prepareProvider: true },
        documentSymbolProvider: true,
        semanticTokensProvider: { legend: { tokenTypes, tokenModifiers }, full: true },
        foldingRangeProvider: true,
        documentFormattingProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      },
      serverInfo: { name: "rnnc" },
    };
  });

  documents.onDidOpen((e) => { ws.setDocument(e.document); schedule(e.document.uri, 0); });
  documents.onDidChangeContent((e) => { ws.setDocument(e.document); schedule(e.document.uri); });
  documents.onDidClose((e) => {
    clearTimeout(timers.get(e.document.uri));
    timers.delete(e.document.uri);
    ws.closeDocument(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  const at = <T>(uri: string, position: { line: number; character: number }, f: (a: Analysis, offset: number) => T, none: T): T => {
    const a = analysisOf(uri);
    return a ? f(a, ws.offset(uriToPath(uri), position)) : none;
  };
  connection.onHover((p) => at(p.textDocument.uri, p.position, (a, o) => hover(ws, a, o), null));
  connection.onCompletion((p) => at(p.textDocument.uri, p.position, (a, o) => completion(ws, a, o), []));
  connection.onDefinition((p) => at(p.textDocument.uri, p.position, (a, o) => definition(ws, a, o), null));
  connection.onReferences((p) => at(p.textDocument.uri, p.position, (a, o) => references(ws, a, o, p.context.includeDeclaration), []));
  connection.onPrepareRename((p) => at(p.textDocument.uri, p.position, (a, o) => prepareRename(ws, a, o), null));
  connection.onRenameRequest((p) => at(p.textDocument.uri, p.position, (a, o) => rename(ws, a, o, p.newName), null));
  connection.onDocumentSymbol((p) => { const a = analysisOf(p.textDocument.uri); return a ? documentSymbols(ws, a) : []; });
  connection.languages.semanticTokens.on((p) => { const a = analysisOf(p.textDocument.uri); return a ? semanticTokens(ws, a) : { data: [] }; });
  connection.onFoldingRanges((p) => { const a = analysisOf(p.textDocument.uri); return a ? foldingRanges(ws, a) : []; });
  connection.onDocumentFormatting((p) => { const a = analysisOf(p.textDocument.uri); return a ? formatting(ws, a) : []; });
  connection.onCodeAction((p) => { const a = analysisOf(p.textDocument.uri); return a ? codeActions(ws, a, p.context.diagnostics) : []; });

  documents.listen(connection);
  connection.listen();
}
