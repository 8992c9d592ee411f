// Random edit sequences never break the language server's features: every request on every intermediate text answers.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { ResponseError } from "vscode-languageserver";
import { TextDocument } from "vscode-languageserver-textdocument";
import { describe, expect, it } from "vitest";
import { codeActions, completion, diagnostics, documentSymbols, foldingRanges, formatting, semanticTokens } from "../../src/lsp/editor.js";
import { definition, hover, prepareRename, references, rename } from "../../src/lsp/navigation.js";
import { Workspace } from "../../src/lsp/workspace.js";
import { rnnFiles, root } from "../helpers.js";

const corpus = [...rnnFiles("stdlib"), ...rnnFiles("examples")].map((f) => readFileSync(f, "utf8"));
const vocabulary = ["cell", "model", "param", "state", "input", "output", "gate", "layer", "=", "[", "]", "(", ")", "<", ">", ",", "@", "~", "t-1", "h", "x", "W", "LSTM", "scan(", "\n", "}", "{", "//", "///", ".h", "σ", "\"std\""];

const edit = fc.record({ at: fc.nat(), del: fc.nat({ max: 8 }), ins: fc.array(fc.constantFrom(...vocabulary), { maxLength: 3 }) });

/** Runs every feature at `offset`; renames may refuse (ResponseError), nothing else may throw. */
function everything(ws: Workspace, path: string, offset: number): void {
  const a = ws.analyze(path)!;
  diagnostics(ws, a);
  const diags = diagnostics(ws, a);
  codeActions(ws, a, diags);
  hover(ws, a, offset);
  completion(ws, a, offset);
  definition(ws, a, offset);
  references(ws, a, offset, true);
  documentSymbols(ws, a);
  semanticTokens(ws, a);
  foldingRanges(ws, a);
  formatting(ws, a);
  for (const f of [() => prepareRename(ws, a, offset), () => rename(ws, a, offset, "renamed")]) {
    try {
      f();
    } catch (e) {
      if (!(e instanceof ResponseError)) throw e;
    }
  }
}

describe("language server robustness", () => {
  it("answers every request after every edit of random edit sequences", () => {
    const ws = new Workspace();
    const path = `${root}/scratch-robustness.rnn`;
    fc.assert(fc.property(fc.nat({ max: corpus.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 12 }), fc.nat(), (i, edits, probe) => {
      let text = corpus[i]!;
      let version = 1;
      for (const e of edits) {
        const at = e.at % (text.length + 1);
        text = text.slice(0, at) + e.ins.join(" ") + text.slice(at + e.del);
        ws.setDocument(TextDocument.create(`file://${path}`, "rnn", version++, text));
        everything(ws, path, probe % (text.length + 1));
      }
      expect(ws.analyze(path)!.result.parsed!.text).toBe(text);
    }), { numRuns: 150, seed: 2024 });
  }, 120_000);
});
