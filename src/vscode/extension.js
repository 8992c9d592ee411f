// The VS Code extension of rnnc: starts `rnnc lsp --stdio` for .rnn files and hands the editor to it.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

/** The rnnc command: the setting, else the workspace's node_modules/.bin/rnnc, else rnnc on the PATH. */
function serverCommand() {
  const configured = vscode.workspace.getConfiguration("rnnc").get("server.command");
  if (configured) return configured;
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const local = path.join(folder.uri.fsPath, "node_modules", ".bin", process.platform === "win32" ? "rnnc.cmd" : "rnnc");
    if (fs.existsSync(local)) return local;
  }
  return "rnnc";
}

function activate(context) {
  const command = serverCommand();
  const run = { command, args: ["lsp", "--stdio"], transport: TransportKind.stdio };
  client = new LanguageClient("rnnc", "rnnc language server", { run, debug: run }, {
    documentSelector: [{ language: "rnn" }],
    initializationOptions: { debounceMs: vscode.workspace.getConfiguration("rnnc").get("diagnostics.debounceMs") },
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.rnn") },
  });
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
