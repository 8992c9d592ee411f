// A minimal LSP client for tests: spawns `rnnc lsp --stdio` and talks JSON-RPC to it, as an editor would.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type DataCallback, type Message, type MessageConnection, type ResponseMessage } from "vscode-jsonrpc/node.js";
import type { Diagnostic, PublishDiagnosticsParams } from "vscode-languageserver-protocol";
import { root } from "../helpers.js";

export class TestClient {
  readonly proc: ChildProcess;
  readonly conn: MessageConnection;
  private readonly latest = new Map<string, PublishDiagnosticsParams>();
  private waiters: { uri: string; test: (p: PublishDiagnosticsParams) => boolean; resolve: (p: PublishDiagnosticsParams) => void }[] = [];
  readonly versions = new Map<string, number>();
  stderr = "";
  /** publishDiagnostics notifications received so far. */
  publishes = 0;
  /** Responses to requests written with `sendTogether`, which the connection does not know about. */
  private readonly rawWaiters = new Map<number | string, (m: ResponseMessage) => void>();

  constructor(nodeFlags: readonly string[] = []) {
    this.proc = spawn(process.execPath, [...nodeFlags, join(root, "dist", "cli", "main.js"), "lsp", "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stderr!.on("data", (d) => { this.stderr += String(d); });
    const reader = new StreamMessageReader(this.proc.stdout!);
    const listen = reader.listen.bind(reader);
    reader.listen = (callback: DataCallback) => listen((m: Message) => {
      const id = (m as ResponseMessage).id;
      const waiter = !("method" in m) && id !== undefined && id !== null ? this.rawWaiters.get(id) : undefined;
      if (waiter) { this.rawWaiters.delete(id!); waiter(m as ResponseMessage); } else callback(m);
    });
    this.conn = createMessageConnection(reader, new StreamMessageWriter(this.proc.stdin!));
    this.conn.onNotification("textDocument/publishDiagnostics", (p: PublishDiagnosticsParams) => {
      this.publishes++;
      this.latest.set(p.uri, p);
      const ready = this.waiters.filter((w) => w.uri === p.uri && w.test(p));
      this.waiters = this.waiters.filter((w) => !ready.includes(w));
      for (const w of ready) w.resolve(p);
    });
    this.conn.onNotification("window/logMessage", () => undefined);
    this.conn.listen();
  }

  async initialize(): Promise<unknown> {
    const r = await this.conn.sendRequest("initialize", { processId: process.pid, rootUri: pathToFileURL(root).href, capabilities: {}, initializationOptions: { debounceMs: 10 } });
    await this.conn.sendNotification("initialized", {});
    return r;
  }

  uri(rel: string): string {
    return pathToFileURL(join(root, rel)).href;
  }

  async open(rel: string, text = readFileSync(join(root, rel), "utf8")): Promise<string> {
    const uri = this.uri(rel);
    this.versions.set(uri, 1);
    await this.conn.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "rnn", version: 1, text } });
    return uri;
  }

  async change(uri: string, changes: unknown[]): Promise<number> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.conn.sendNotification("textDocument/didChange", { textDocument: { uri, version }, contentChanges: changes });
    return version;
  }

  /** The next diagnostics for `uri` that satisfy `test` (or the latest ones, if they already do). */
  diagnostics(uri: string, test: (p: PublishDiagnosticsParams) => boolean = () => true, timeoutMs = 20000): Promise<Diagnostic[]> {
    const have = this.latest.get(uri);
    if (have && test(have)) return Promise.resolve(have.diagnostics);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching diagnostics for ${uri} within ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      this.waiters.push({ uri, test, resolve: (p) => { clearTimeout(timer); resolve(p.diagnostics); } });
    });
  }

  /** Diagnostics published for exactly this version of the document. */
  diagnosticsOf(uri: string, version: number): Promise<Diagnostic[]> {
    return this.diagnostics(uri, (p) => p.version === version);
  }

  request<T>(method: string, params: unknown): Promise<T> {
    return this.conn.sendRequest(method, params) as Promise<T>;
  }

  /**
   * Writes `messages` to the server in one write, so that it reads them together (a pipe delivers a write of this
   * size whole), and resolves with the responses to those that are requests, by id. Requests here use ids of their own.
   */
  sendTogether(messages: object[]): Map<number | string, Promise<ResponseMessage>> {
    const answers = new Map<number | string, Promise<ResponseMessage>>();
    for (const m of messages) {
      const id = (m as { id?: number | string }).id;
      if (id !== undefined) answers.set(id, new Promise((resolve) => this.rawWaiters.set(id, resolve)));
    }
    const frames = messages.map((m) => { const body = JSON.stringify({ jsonrpc: "2.0", ...m }); return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`; });
    this.proc.stdin!.write(frames.join(""));
    return answers;
  }

  async close(): Promise<void> {
    await this.conn.sendRequest("shutdown").catch(() => undefined);
    await this.conn.sendNotification("exit").catch(() => undefined);
    this.conn.dispose();
    this.proc.kill();
  }
}
