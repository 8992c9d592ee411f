// Benchmark of the language server's hot path: diagnostics for a 2,000-line spec after a one-character edit.
import { TextDocument } from "vscode-languageserver-textdocument";
import { diagnostics } from "../lsp/editor.js";
import { Workspace } from "../lsp/workspace.js";

/** A spec of about `lines` lines: LSTM-like cells with their own names, and a model stacking a few of them. */
export function bigSpec(lines: number): string {
  const cell = (k: number) => `/// Cell ${k}: an LSTM written out.
cell C${k}<I, H>(forget_bias = 1) {
  input x: [I]
  state h: [H] = 0
  state c: [H] = 0
  param W_xi, W_xf, W_xg, W_xo: [H, I] ~ glorot_uniform
  param W_hi, W_hf, W_hg, W_ho: [H, H] ~ orthogonal
  param b_i, b_g, b_o:          [H]    ~ zeros
  param b_f:                    [H]    ~ constant(forget_bias)

  gate i = σ(W_xi @ x + W_hi @ h[t-1] + b_i)     // input gate
  gate f = σ(W_xf @ x + W_hf @ h[t-1] + b_f)     // forget gate
  g      = tanh(W_xg @ x + W_hg @ h[t-1] + b_g)  // candidate memory
  gate o = σ(W_xo @ x + W_ho @ h[t-1] + b_o)     // output gate
  c      = f ⊙ c[t-1] + i ⊙ g
  h      = o ⊙ tanh(c)
  output h
}
`;
  const per = cell(0).split("\n").length;
  const n = Math.max(1, Math.round((lines - 8) / per));
  const model = `\nmodel Stack<I = 8, H = 16> {\n  input xs: [T, I]\n  layer a = C0<I, H>\n  layer b = C1<H, H>\n  output hs = scan(b, scan(a, xs))\n}\n`;
  return Array.from({ length: n }, (_, k) => cell(k)).join("\n") + model;
}

export interface LspBench { lines: number; edits: number; medianMs: number; p90Ms: number; firstMs: number }

/** Median time from a one-character edit to the file's diagnostics, as the server computes them. */
export function benchDiagnostics(lines = 2000, edits = 41): LspBench {
  const ws = new Workspace();
  const path = "/bench/big.rnn";
  let text = bigSpec(lines);
  const uri = "file:///bench/big.rnn";
  let t0 = performance.now();
  ws.setDocument(TextDocument.create(uri, "rnn", 1, text));
  diagnostics(ws, ws.analyze(path)!);
  const firstMs = performance.now() - t0;
  const times: number[] = [];
  const middle = text.indexOf("b_g)", Math.floor(text.length / 2));
  for (let k = 0; k < edits; k++) {
    // Typing: a character inserted into a name in the middle of the file (an unknown name), then deleted again.
    // The length changes, so every declaration after the edit moves.
    text = k % 2 === 0 ? text.slice(0, middle + 2) + "x" + text.slice(middle + 2) : text.slice(0, middle + 2) + text.slice(middle + 3);
    t0 = performance.now();
    ws.setDocument(TextDocument.create(uri, "rnn", k + 2, text));
    const d = diagnostics(ws, ws.analyze(path)!);
    times.push(performance.now() - t0);
    if ((k % 2 === 0) !== d.some((x) => x.code === "RNN0201")) throw new Error("bench: the edit did not change the diagnostics as expected");
  }
  times.sort((a, b) => a - b);
  return { lines: text.split("\n").length, edits, medianMs: times[Math.floor(times.length / 2)]!, p90Ms: times[Math.floor(times.length * 0.9)]!, firstMs };
}
