// End to end: `rnnc lsp --stdio` as a separate process, driven over JSON-RPC the way an editor drives it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { CodeAction, CompletionItem, Diagnostic, DocumentSymbol, Hover, Location, SemanticTokens, TextEdit, WorkspaceEdit, FoldingRange } from "vscode-languageserver-protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatText } from "../../src/format/format.js";
import { compiler, root } from "../helpers.js";
import { TestClient } from "./client.js";

const typoFile = "examples/seed-lstm-typo.rnn";
const typoText = readFileSync(join(root, typoFile), "utf8");
const lines = typoText.split("\n");
/** The 0-based position of the `occurrence`-th `needle` on 1-based `line`. */
const pos = (line: number, needle: string, occurrence = 1) => {
  let at = -1;
  for (let k = 0; k < occurrence; k++) at = lines[line - 1]!.indexOf(needle, at + 1);
  return { line: line - 1, character: at };
};

let client: TestClient;
let typoUri: string;

beforeAll(async () => {
  client = new TestClient();
  const init = (await client.initialize()) as { capabilities: Record<string, unknown> };
  expect(Object.keys(init.capabilities)).toEqual(expect.arrayContaining(["hoverProvider", "completionProvider", "definitionProvider", "renameProvider", "documentFormattingProvider", "codeActionProvider", "semanticTokensProvider"]));
  typoUri = await client.open(typoFile);
});

afterAll(async () => {
  await client.close();
});

describe("rnnc lsp --stdio", () => {
  it("publishes the seed typo's diagnostics at the product, with code, related spans and help", async () => {
    const diags = await client.diagnostics(typoUri);
    const errors = diags.filter((d) => d.code === "RNN0301");
    expect(errors).toHaveLength(2);
    expect(errors[0]!.range).toEqual({ start: { line: 17, character: 27 }, end: { line: 17, character: 40 } });
    expect(errors[0]!.message).toContain("matrix product `W_xg @ h[t-1]` has mismatched inner dimensions");
    expect(errors[0]!.message).toContain("help: did you mean `W_hg`?");
    expect(errors[0]!.relatedInformation!.map((r) => r.message)).toEqual(["`W_xg` has shape [H, I]", "`h[t-1]` has shape [H]"]);
    expect(diags.filter((d) => d.code === "RNN0501").map((d) => d.range.start)).toEqual([pos(13, "W_hg"), pos(13, "W_hi")]);
  });

  it("hovers a param with its shape and its declaration", async () => {
    const h = await client.request<Hover>("textDocument/hover", { textDocument: { uri: typoUri }, position: pos(18, "W_xg", 2) });
    const text = (h.contents as { value: string }).value;
    expect(text).toContain("param W_xg: [H, I]");
    expect(text).toContain("In cell `SeedLSTM`");
    const state = await client.request<Hover>("textDocument/hover", { textDocument: { uri: typoUri }, position: pos(18, "h[t-1]") });
    expect((state.contents as { value: string }).value).toContain("state h: [H]");
  });

  it("hovers a model's values with symbolic and concrete shapes, and its constructs with their use", async () => {
    const rel = "examples/g2p/g2p.rnn";
    const uri = await client.open(rel);
    const g2p = readFileSync(join(root, rel), "utf8").split("\n");
    const at = (needle: string, delta = 0) => { const line = g2p.findIndex((l) => l.includes(needle)); return { line, character: g2p[line]!.indexOf(needle) + delta }; };
    const text = async (p: { line: number; character: number }) => ((await client.request<Hover>("textDocument/hover", { textDocument: { uri }, position: p })).contents as { value: string }).value;
    expect(await text(at("enc ="))).toContain("value enc: [S, H]");
    expect(await text(at("enc ="))).toContain("[S, 128] with the default dims");
    expect(await text(at("input letters", 6))).toContain("input letters: [S] int");
    expect(await text(at("final(enc)"))).toContain("Sequence construct: final(scan(…))");
  });

  it("completes initializers after `~`, and names in scope, keywords and builtins elsewhere", async () => {
    const afterTilde = await client.request<CompletionItem[]>("textDocument/completion", { textDocument: { uri: typoUri }, position: { line: 12, character: lines[12]!.indexOf("~") + 2 } });
    expect(afterTilde.map((c) => c.label)).toEqual(expect.arrayContaining(["orthogonal", "glorot_uniform", "zeros"]));
    const lineStart = await client.request<CompletionItem[]>("textDocument/completion", { textDocument: { uri: typoUri }, position: { line: 18, character: 2 } });
    const labels = lineStart.map((c) => c.label);
    expect(labels).toEqual(expect.arrayContaining(["W_hg", "h", "c", "gate", "param", "tanh", "sigmoid"]));
    expect(lineStart.find((c) => c.label === "W_hg")!.detail).toBe("param: [H, H]");
  });

  it("goes to a definition in the standard library", async () => {
    const uri = await client.open("examples/name-gender/name-gender.rnn");
    const nameGender = readFileSync(join(root, "examples/name-gender/name-gender.rnn"), "utf8").split("\n");
    const line = nameGender.findIndex((l) => l.includes("= LSTM<"));
    const loc = await client.request<Location>("textDocument/definition", { textDocument: { uri }, position: { line, character: nameGender[line]!.indexOf("LSTM") + 1 } });
    expect(loc.uri).toBe(client.uri("stdlib/lstm.rnn"));
    const std = readFileSync(join(root, "stdlib/lstm.rnn"), "utf8").split("\n");
    expect(std[loc.range.start.line]!.slice(loc.range.start.character, loc.range.end.character)).toBe("LSTM");
    expect(std[loc.range.start.line]).toMatch(/^cell LSTM</);
    const refs = await client.request<Location[]>("textDocument/references", { textDocument: { uri }, position: { line, character: nameGender[line]!.indexOf("LSTM") }, context: { includeDeclaration: true } });
    expect(refs.map((r) => r.uri)).toEqual([client.uri("stdlib/lstm.rnn"), uri, uri]);
  });

  it("renames a param everywhere in its cell, and refuses keywords, clashes and builtins", async () => {
    const edit = await client.request<WorkspaceEdit>("textDocument/rename", { textDocument: { uri: typoUri }, position: pos(13, "W_hg"), newName: "W_hidden_g" });
    const edits = edit.changes![typoUri]!;
    expect(edits.map((e) => e.range.start)).toEqual([pos(13, "W_hg")]);
    const fEdit = await client.request<WorkspaceEdit>("textDocument/rename", { textDocument: { uri: typoUri }, position: pos(12, "W_xg"), newName: "U_g" });
    expect(fEdit.changes![typoUri]!.map((e) => e.range.start)).toEqual([pos(12, "W_xg"), pos(18, "W_xg"), pos(18, "W_xg", 2)]);
    for (const [name, why] of [["cell", "keyword"], ["W_xf", "already declared"], ["tanh", "builtin"], ["2x", "not a name"]] as const)
      await expect(client.request("textDocument/rename", { textDocument: { uri: typoUri }, position: pos(12, "W_xg"), newName: name })).rejects.toThrow(why);
    await expect(client.request("textDocument/prepareRename", { textDocument: { uri: typoUri }, position: pos(18, "tanh") })).rejects.toThrow("built in");
  });

  it("lists symbols, colours names and folds declarations", async () => {
    const symbols = await client.request<DocumentSymbol[]>("textDocument/documentSymbol", { textDocument: { uri: typoUri } });
    expect(symbols.map((s) => s.name)).toEqual(["SeedLSTM"]);
    expect(symbols[0]!.children!.map((c) => c.name)).toEqual(expect.arrayContaining(["I", "H", "x", "h", "c", "W_hg", "b_f", "f", "g", "i", "o"]));
    expect(symbols[0]!.children!.find((c) => c.name === "W_hg")!.detail).toBe("param [H, H]");
    const tokens = await client.request<SemanticTokens>("textDocument/semanticTokens/full", { textDocument: { uri: typoUri } });
    expect(tokens.data.length % 5).toBe(0);
    expect(tokens.data.length / 5).toBeGreaterThan(40);
    const folds = await client.request<FoldingRange[]>("textDocument/foldingRange", { textDocument: { uri: typoUri } });
    expect(folds).toContainEqual({ startLine: lines.findIndex((l) => l.startsWith("cell ")), endLine: lines.indexOf("}") - 1 });
  });

  it("formats a document, and applies a quick fix from a diagnostic's help", async () => {
    const messy = "cell A<I,H>{\ninput x:[I]\nstate h:[H]=0 // note\nparam W:[H,I]~zeros\nh=tanh(W@x+h[t - 1])\noutput h}\n";
    const uri = await client.open("scratch-format.rnn", messy);
    const edits = await client.request<TextEdit[]>("textDocument/formatting", { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });
    expect(edits).toHaveLength(1);
    expect(edits[0]!.newText).toBe(formatText(messy).text);

    const diags = await client.diagnostics(typoUri);
    const product = diags.find((d) => d.code === "RNN0301")!;
    const actions = await client.request<CodeAction[]>("textDocument/codeAction", { textDocument: { uri: typoUri }, range: product.range, context: { diagnostics: [product] } });
    expect(actions).toHaveLength(1);
    expect(actions[0]!.title).toContain("did you mean `W_hg`?");
    const fix = actions[0]!.edit!.changes![typoUri]![0]!;
    expect(fix).toEqual({ range: { start: pos(18, "W_xg", 2), end: { line: 17, character: pos(18, "W_xg", 2).character + 4 } }, newText: "W_hg" });
    const version = await client.change(typoUri, [{ range: fix.range, text: fix.newText }]);
    const after = await client.diagnosticsOf(typoUri, version);
    expect(after.filter((d) => d.code === "RNN0301")).toHaveLength(1);
    expect(after.find((d) => d.code === "RNN0301")!.range.start.line).toBe(18);
  });

  it("follows a document through many small edits", async () => {
    const uri = await client.open("scratch-typing.rnn", "");
    const target = 'import { LSTM } from "std"\nmodel M<I = 3, H = 4> {\n  input xs: [T, I]\n  layer rnn = LSTM<I, H>\n  output hs = scan(rnn, xs)\n}\n';
    let text = "";
    let version = 1;
    const seen = new Set<string>();
    // Typed a character at a time: every intermediate text gets diagnostics or a newer edit replaces it.
    for (const ch of target) {
      const at = text.split("\n");
      version = await client.change(uri, [{ range: { start: { line: at.length - 1, character: at[at.length - 1]!.length }, end: { line: at.length - 1, character: at[at.length - 1]!.length } }, text: ch }]);
      text += ch;
      if (ch === "\n") (await client.diagnosticsOf(uri, version)).forEach((d) => seen.add(String(d.code)));
    }
    expect(await client.diagnosticsOf(uri, version)).toEqual([]);
    expect(seen.has("RNN0101")).toBe(true);
    // A typo in the cell's name, then its correction.
    const line = 3;
    const col = target.split("\n")[line]!.indexOf("LSTM");
    version = await client.change(uri, [{ range: { start: { line, character: col + 1 }, end: { line, character: col + 2 } }, text: "T" }]);
    const wrong = await client.diagnosticsOf(uri, version);
    expect(wrong.map((d) => d.code)).toContain("RNN0708");
    expect(wrong.find((d) => d.code === "RNN0708")!.message).toContain("LTTM");
    version = await client.change(uri, [{ range: { start: { line, character: col + 1 }, end: { line, character: col + 2 } }, text: "S" }]);
    expect(await client.diagnosticsOf(uri, version)).toEqual([]);
    expect(client.stderr).toBe("");
  });

  it("follows imports between open files: an edit in one re-checks the other", async () => {
    const cellUri = await client.open("scratch-cells.rnn", "cell Mine<I, H> {\n  input x: [I]\n  state h: [H] = 0\n  param W: [H, I] ~ glorot_uniform\n  h = tanh(W @ x + h[t-1])\n  output h\n}\n");
    const mainUri = await client.open("scratch-main.rnn", 'import { Mine } from "./scratch-cells.rnn"\nmodel M<I = 3, H = 4> {\n  input xs: [T, I]\n  layer l = Mine<I, H>\n  output hs = scan(l, xs)\n}\n');
    expect(await client.diagnosticsOf(mainUri, 1)).toEqual([]);
    const def = await client.request<Location>("textDocument/definition", { textDocument: { uri: mainUri }, position: { line: 3, character: 13 } });
    expect(def.uri).toBe(cellUri);
    await client.change(cellUri, [{ range: { start: { line: 4, character: 11 }, end: { line: 4, character: 12 } }, text: "h" }]);
    const broken = await client.diagnostics(mainUri, (p) => p.diagnostics.length > 0);
    expect(broken.map((d) => d.code)).toEqual(["RNN0712"]);
    expect(broken[0]!.range.start).toEqual({ line: 3, character: 12 });
  });

  it("agrees with rnnc check on every example and stdlib file", async () => {
    for (const rel of ["stdlib/gru.rnn", "examples/g2p/g2p.rnn", "examples/seed-lstm.rnn"]) {
      const uri = await client.open(rel);
      const diags: Diagnostic[] = await client.diagnostics(uri);
      expect(diags.map((d) => d.code), rel).toEqual(compiler.check(join(root, rel)).diagnostics.map((d) => d.code));
    }
  });
});
