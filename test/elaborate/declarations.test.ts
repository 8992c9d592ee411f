// The declaration list is the one symbol table: the cell elaborator's IR and the language server's names both come from it.
import { describe, expect, it } from "vitest";
import type * as A from "../../src/ast/nodes.js";
import { DiagnosticBag } from "../../src/diagnostics/diagnostic.js";
import { declarationsOf } from "../../src/elaborate/declarations.js";
import { parseFile } from "../../src/syntax/syntax.js";
import { fileSymbols } from "../../src/lsp/semantic.js";
import { cellFrom, compiler, rnnFiles } from "../helpers.js";

const files = [...rnnFiles("stdlib"), ...rnnFiles("examples")].filter((f) => !f.includes("typo"));

describe("declarations", () => {
  it.each(files)("%s: the language server lists exactly the declared names of every cell and model", (file) => {
    const result = compiler.check(file);
    const symbols = fileSymbols(result, () => []);
    for (const d of result.parsed!.module.decls) {
      const lsp = symbols.defs.filter((x) => x.container === d.name.text).map((x) => `${x.kind} ${x.name}`);
      expect(lsp).toEqual(declarationsOf(d).names.map((x) => `${x.kind} ${x.name.text}`));
      if (d.kind !== "cell") continue;
      const ir = result.cells.get(d.name.text)?.ir;
      if (!ir) continue;
      const declared = new Set(declarationsOf(d).names.map((x) => x.name.text));
      for (const n of [...ir.inputs, ...ir.states, ...ir.params, ...ir.values].map((x) => x.name)) if (!n.includes(".")) expect(declared, n).toContain(n);
    }
  });

  it("an equation for a state is an assignment, not a declaration; equations come after the other declarations", () => {
    const text = `cell C<H> { g = sigmoid(h[t-1])  state h: [H] = 0  h = g * tanh(h[t-1])  output y = h * 2 }`;
    expect(cellFrom(text).states.map((x) => x.name)).toEqual(["h"]);
    const { names, assignments, outputs } = declarationsOf(parsedCell(text));
    expect(names.map((x) => `${x.kind} ${x.name.text}`)).toEqual(["dim H", "state h", "value g", "output y"]);
    expect(assignments.map((a) => a.name.text)).toEqual(["h"]);
    expect(outputs.map((o) => o.name.text)).toEqual(["y"]);
  });
});

function parsedCell(text: string): A.CellDecl {
  return parseFile("c.rnn", text, new DiagnosticBag()).module.decls[0] as A.CellDecl;
}
