// Parsing a declaration at a time gives the whole-file parse, and after an edit only the edited declaration is parsed again.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DiagnosticBag } from "../../src/diagnostics/diagnostic.js";
import { AstBuilder } from "../../src/syntax/cst-to-ast.js";
import { parseCst } from "../../src/syntax/parser.js";
import { chunkStarts, parseFile } from "../../src/syntax/syntax.js";
import { rnnFiles } from "../helpers.js";

/** The parse of the whole text at once, as the parser alone gives it. */
function wholeFile(file: string, text: string) {
  const r = parseCst(text);
  const diags = new DiagnosticBag();
  return { module: new AstBuilder(file, text, r.comments, diags).module(r.cst), tokens: r.tokens.map((t) => [t.startOffset, t.image]) };
}

describe("chunked parsing", () => {
  const files = [...rnnFiles("stdlib"), ...rnnFiles("examples"), ...rnnFiles("test")];

  it("cuts files only where a top-level declaration (with its comments) starts", () => {
    const text = 'import { LSTM } from "std"\n\n/// doc\n// note\ncell A { input x: [I] }\n/* cell B {\n*/\nmodel M { }\n  cell C { }\n';
    const cuts = chunkStarts(text);
    expect(cuts.map((c) => text.slice(c, c + 8))).toEqual(["import {", "\n/// doc", "model M "]);
  });

  it("gives the same AST and tokens as parsing each file whole", () => {
    let clean = 0;
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      const diags = new DiagnosticBag();
      const chunked = parseFile(f, text, diags);
      if (diags.items.length) continue;
      clean++;
      const whole = wholeFile(f, text);
      expect(JSON.parse(JSON.stringify(chunked.module)), f).toEqual(JSON.parse(JSON.stringify(whole.module)));
      expect(chunked.tokens.map((t) => [t.startOffset, t.image]), f).toEqual(whole.tokens);
    }
    expect(clean).toBeGreaterThan(40);
  });

  it("reuses the declarations an edit did not touch", () => {
    const text = readFileSync(rnnFiles("stdlib").find((f) => f.endsWith("lstm.rnn"))!, "utf8");
    const before = parseFile("lstm.rnn", text, new DiagnosticBag());
    const edited = text.replace("gate o = σ(W_xo @ x + W_ho @ h[t-1] + p_o", "gate o = σ(W_xo @ x + W_ho @ h[t-1] + p_o * 2");
    expect(edited).not.toBe(text);
    const after = parseFile("lstm.rnn", edited, new DiagnosticBag());
    expect(after.module.decls[0]).toBe(before.module.decls[0]);
    expect(after.module.decls[1]).not.toBe(before.module.decls[1]);
    expect(after.module.decls[1]!.name.text).toBe("PeepholeLSTM");
  });
});
