// `rnnc lsp --stdio`: the language server. Diagnostics debounced per document, every request answered from the compiler's analysis.
import {
  CodeActionKind, createConnection, ProposedFeatures, TextDocuments, TextDocumentSyncKind, type Connection, type InitializeResult,
} from "vscode-languageserver/node.js";
import { TextDocument } from "vscode-languageserver-textdocument";
import { codeActions, completion, diagnostics, documentSymbols, foldingRanges, formatting, semanticTokens, tokenModifiers, tokenTypes } from "./editor.js";
import { definition, hover, prepareRename, references, rename } from "./navigation.js";
import { onDisk, uriToPath, Workspace, type Analysis } from "./workspace.js";
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
  /** What was last published per document, so that an unchanged result is not sent again. */
  const published = new Map<string, string>();
  let debounceMs = 150;
  let shutdown = false;
  connection.onShutdown(() => { shutdown = true; });

  // The client may close the pipe with messages still queued: whatever is sent after that is dropped, and the server
  // ends quietly (status 0 after a shutdown request, as the protocol asks) instead of dying with a stack trace.
  const closed = (e: unknown) => e instanceof Error && /Connection is (closed|disposed)/.test(e.message);
  process.on("uncaughtException", (e) => {
    if (closed(e)) process.exit(shutdown ? 0 : 1);
    process.stderr.write(`rnnc lsp: internal error: ${(e as Error)?.message ?? String(e)}\n`);
    process.exit(1);
  });
  const send = (f: () => Promise<void>) => { try { f().catch(() => undefined); } catch (e) { if (!closed(e)) throw e; } };
  const publish = (uri: string, diags: ReturnType<typeof diagnostics>, version?: number) => {
    const text = JSON.stringify(diags);
    if (published.get(uri) === text) return;
    published.set(uri, text);
    send(() => connection.sendDiagnostics({ uri, ...(version !== undefined ? { version } : {}), diagnostics: diags }));
  };
  /** A line in the client's log (dropped once the client has gone). */
  const log = (line: string, error = false) => { try { if (error) connection.console.error(line); else connection.console.log(line); } catch (e) { if (!closed(e)) throw e; } };
  /** URIs already reported as not local files (one log line each). */
  const inMemory = new Set<string>();

  const analysisOf = (uri: string): Analysis | undefined => {
    const doc = documents.get(uri);
    if (doc) ws.setDocument(doc);
    try {
      return ws.analyze(uriToPath(uri));
    } catch (e) {
      log(`rnnc: analysis of ${uri} failed: ${(e as Error).stack ?? e}`, true);
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
    publish(uri, diagnostics(ws, a), version);
  };

  /** Debounced: a burst of edits costs one analysis, and a pending run is dropped when another edit arrives. */
  const schedule = (uri: string, delay = debounceMs) => {
    clearTimeout(timers.get(uri));
    timers.set(uri, setTimeout(() => {
      timers.delete(uri);
      validate(uri);
      // Open files whose analysis read this one may mean something else now (only those: opening many files is linear).
      const dependents = new Set(ws.dependents(uriToPath(uri)));
      for (const other of documents.all()) if (other.uri !== uri && !timers.has(other.uri) && dependents.has(uriToPath(other.uri))) validate(other.uri);
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

  documents.onDidOpen((e) => {
    const uri = e.document.uri;
    if (!onDisk(uriToPath(uri)) && !inMemory.has(uri)) {
      inMemory.add(uri);
      log(`rnnc: ${uri} is not a local file; it is checked from its buffer, and imports only "std"`);
    }
    ws.setDocument(e.document);
    schedule(uri, 0);
  });
  documents.onDidChangeContent((e) => { ws.setDocument(e.document); schedule(e.document.uri); });
  documents.onDidClose((e) => {
    clearTimeout(timers.get(e.document.uri));
    timers.delete(e.document.uri);
    ws.closeDocument(e.document.uri);
    inMemory.delete(e.document.uri);
    publish(e.document.uri, []);
    published.delete(e.document.uri);
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

  // Not part of LSP: what the server holds, for the soak test and for anyone watching a long session (`rnnc/stats`).
  connection.onRequest("rnnc/stats", () => {
    (globalThis as { gc?: () => void }).gc?.();
    return { ...ws.sizes(), documents: documents.all().length, published: published.size, timers: timers.size, heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss };
  });

  documents.listen(connection);
  connection.listen();
}
