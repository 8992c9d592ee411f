// The VS Code extension package: its manifest points at real files, and activation starts `rnnc lsp --stdio` for .rnn documents.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import Module, { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "../helpers.js";

const dir = join(root, "src", "vscode");
const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));

describe("VS Code extension", () => {
  it("has a manifest whose contributions exist and agree with the grammar", () => {
    expect(existsSync(join(dir, manifest.main))).toBe(true);
    const lang = manifest.contributes.languages[0];
    expect(lang).toMatchObject({ id: "rnn", extensions: [".rnn"] });
    expect(JSON.parse(readFileSync(join(dir, lang.configuration), "utf8")).comments.lineComment).toBe("//");
    const grammar = manifest.contributes.grammars[0];
    expect(JSON.parse(readFileSync(join(dir, grammar.path), "utf8")).scopeName).toBe(grammar.scopeName);
    expect(manifest.activationEvents).toEqual(["onLanguage:rnn"]);
  });

  it("starts the language server over stdio for rnn documents, preferring the workspace's own rnnc", async () => {
    const project = mkdtempSync(join(tmpdir(), "rnnc-vscode-"));
    mkdirSync(join(project, "node_modules", ".bin"), { recursive: true });
    writeFileSync(join(project, "node_modules", ".bin", "rnnc"), "");
    const started: { command?: string; args?: string[]; selector?: unknown; options?: unknown } = {};
    const fakes: Record<string, unknown> = {
      vscode: {
        workspace: {
          getConfiguration: () => ({ get: (k: string) => (k === "diagnostics.debounceMs" ? 40 : "") }),
          workspaceFolders: [{ uri: { fsPath: project } }],
          createFileSystemWatcher: () => ({ dispose() {} }),
        },
      },
      "vscode-languageclient/node": {
        TransportKind: { stdio: 0 },
        LanguageClient: class {
          constructor(_id: string, _name: string, server: { run: { command: string; args: string[] } }, client: { documentSelector: unknown; initializationOptions: unknown }) {
            started.command = server.run.command;
            started.args = server.run.args;
            started.selector = client.documentSelector;
            started.options = client.initializationOptions;
          }
          start() { return Promise.resolve(); }
          stop() { return Promise.resolve(); }
        },
      },
    };
    const M = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
    const load = M._load;
    M._load = (request: string, ...rest: unknown[]) => (request in fakes ? fakes[request] : load(request, ...rest));
    try {
      const ext = createRequire(import.meta.url)(join(dir, "extension.js"));
      const subscriptions: unknown[] = [];
      await ext.activate({ subscriptions });
      expect(started.command).toBe(join(project, "node_modules", ".bin", "rnnc"));
      expect(started.args).toEqual(["lsp", "--stdio"]);
      expect(started.selector).toEqual([{ language: "rnn" }]);
      expect(started.options).toEqual({ debounceMs: 40 });
      expect(subscriptions).toHaveLength(1);
    } finally {
      M._load = load;
    }
  });
});
