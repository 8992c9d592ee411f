// The language's size limits (src/diagnostics/limits.ts): at each limit a program goes through every stage, past it
// the coded error comes back without a crash, and memory stays bounded. Inputs are generated here.
import { describe, expect, it } from "vitest";
import { createCompiler } from "../../src/compiler.js";
import { MAX_DECLARATIONS, MAX_EXPRESSION_DEPTH, MAX_NESTING, MAX_SOURCE_CHARS, MAX_SYNTAX_ERRORS } from "../../src/diagnostics/limits.js";
import { renderDiagnostics } from "../../src/diagnostics/render.js";
import { formatText } from "../../src/format/format.js";
import { runCell } from "../../src/interp/run-cell.js";
import { optimize } from "../../src/passes/pipeline.js";
import { memoryHost } from "../../src/resolve/host.js";
import { alloc } from "../../src/runtime/tensor.js";

function check(text: string) {
  const r = createCompiler(memoryHost(new Map([["l.rnn", text]]))).check("l.rnn");
  renderDiagnostics(r.diagnostics, r.sources); // rendering must cope too
  return r;
}
const codesOf = (text: string) => check(text).diagnostics.map((d) => d.code);
const cellWith = (body: string) => `cell C<H> {\n  input x: [H]\n${body}\n}\n`;

/** Runs the cell one step on the interpreter after the optimizing passes; returns y. */
function runOnce(text: string): number[] {
  const ir = optimize(createCompiler(memoryHost(new Map([["l.rnn", text]]))).cell("l.rnn", "C"));
  const x = alloc([1, 1, 2], "f32");
  x.data.set([0.5, -0.25]);
  return [...runCell(ir, new Map([["H", 2]]), new Map(), { inputs: { x }, initialStates: {} }).outputs["y"]!.data];
}

describe("nesting of brackets and signs", () => {
  const nested = (n: number, open: string, close: string) => cellWith(`  output y = ${open.repeat(n)}x${close.repeat(n)}`);
  it(`${MAX_NESTING} levels check, format and run; one more is RNN0106`, () => {
    for (const [open, close] of [["(", ")"], ["tanh(", ")"], ["-", ""], ["-(", ")"]] as const) {
      const levels = open === "-(" ? MAX_NESTING / 2 : MAX_NESTING;
      expect(codesOf(nested(levels, open, close)), open).toEqual([]);
      expect(formatText(nested(levels, open, close), "l.rnn").text).toBeDefined();
      expect(codesOf(nested(levels + 1, open, close)), open).toEqual(["RNN0106"]);
    }
    expect(runOnce(nested(MAX_NESTING, "(", ")"))).toEqual([0.5, -0.25]);
    expect(runOnce(nested(MAX_NESTING, "-", ""))).toEqual([0.5, -0.25]);
  });
  it("ten thousand of them are refused at once, without recursion", () => {
    for (const [open, close] of [["(", ")"], ["-", ""], ["[", "]"]]) {
      const r = check(nested(10_000, open!, close!));
      expect(r.diagnostics.map((d) => d.code)).toContain("RNN0106");
    }
  });
});

describe("expression depth", () => {
  const sum = (n: number) => cellWith(`  output y = ${Array(n).fill("x").join(" + ")}`);
  it(`a chain of ${MAX_EXPRESSION_DEPTH + 1} terms (depth ${MAX_EXPRESSION_DEPTH}) checks, formats and runs; one more term is RNN0107 alone`, () => {
    expect(codesOf(sum(MAX_EXPRESSION_DEPTH + 1))).toEqual([]);
    expect(formatText(sum(MAX_EXPRESSION_DEPTH + 1), "l.rnn").text).toBeDefined();
    expect(runOnce(sum(MAX_EXPRESSION_DEPTH + 1))).toEqual([0.5 * (MAX_EXPRESSION_DEPTH + 1), -0.25 * (MAX_EXPRESSION_DEPTH + 1)]);
    expect(codesOf(sum(MAX_EXPRESSION_DEPTH + 2))).toEqual(["RNN0107"]); // no cascade (no "cell has no output")
  });
  it("a sum of 5,000 terms is refused without recursion; one of 100,000 before it is parsed (RNN0110, bounded memory)", () => {
    expect(codesOf(sum(5_000))).toEqual(["RNN0107"]);
    expect(codesOf(sum(100_000))).toEqual(["RNN0110"]);
  });
});

describe("declarations", () => {
  const chain = (n: number) => cellWith([`  v0 = x`, ...Array.from({ length: n - 2 }, (_, i) => `  v${i + 1} = v${i} + x`), `  output y = v${n - 2}`].join("\n"));
  it(`a chain of ${MAX_DECLARATIONS} declarations (each reading the one before) checks and runs; one more is RNN0108`, () => {
    // input x, v0 … v(n-3), output y: n declarations in all
    expect(codesOf(chain(MAX_DECLARATIONS - 1))).toEqual([]);
    expect(runOnce(chain(MAX_DECLARATIONS - 1))).toEqual([0.5 * (MAX_DECLARATIONS - 2), -0.25 * (MAX_DECLARATIONS - 2)]);
    expect(codesOf(chain(MAX_DECLARATIONS + 1))).toEqual(["RNN0108"]);
  }, 120_000);
  it("a model over the limit is refused the same way", () => {
    const items = Array.from({ length: MAX_DECLARATIONS + 1 }, (_, i) => `  input x${i}: [T, H]`).join("\n");
    expect(codesOf(`model M<H> {\n${items}\n}\n`)).toEqual(["RNN0108"]);
  });
});

describe("file size", () => {
  it(`a file of more than ${MAX_SOURCE_CHARS.toLocaleString("en-US")} characters is RNN0109 and nothing of it is parsed`, () => {
    const big = cellWith("  output y = x") + "//".padEnd(MAX_SOURCE_CHARS, "x");
    const before = process.memoryUsage().heapUsed;
    const r = check(big);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["RNN0109"]);
    expect(r.cells.size).toBe(0);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(256 << 20);
  });
});

describe("an equation on the line after an input", () => {
  it("is its own declaration, not the input's element type", () => {
    const r = check("cell C<H> {\n  input x: [H]\n  v = x + x\n  input k: [] int\n  w = v\n  output y = w\n}\n");
    expect(r.diagnostics).toEqual([]);
    const ir = r.cells.get("C")!.ir;
    expect(ir.inputs.map((i) => [i.name, i.dtype])).toEqual([["x", "float"], ["k", "int"]]);
  });
  it("an unknown element type on the input's own line is still RNN0105", () => {
    expect(codesOf("cell C<H> {\n  input x: [H] long\n  output y = x\n}\n")).toContain("RNN0105");
  });
});

describe("files full of mistakes, up to the size limit", () => {
  const fill = (head: string, unit: (k: number) => string, tail = "") => {
    let text = head;
    for (let k = 0; text.length + unit(k).length + tail.length <= MAX_SOURCE_CHARS; k++) text += unit(k);
    return text + tail;
  };
  it(`one declaration with a syntax error on every line reports ${MAX_SYNTAX_ERRORS} of them and says the rest was not read`, () => {
    for (const line of ["  = = x\n", "  v = x +\n", "  input : ]\n", "  ) ( ] [ )\n"]) {
      const r = check(fill("cell C<H> {\n  input x: [H]\n", () => line, "}\n"));
      const syntax = r.diagnostics.filter((d) => d.code === "RNN0101");
      expect(syntax.length, line).toBeLessThanOrEqual(MAX_SYNTAX_ERRORS + 1);
      // Lines of brackets alone never end an expression: past 16,384 tokens of them the declaration is not parsed.
      expect(syntax.length + r.diagnostics.filter((d) => d.code === "RNN0110").length, line).toBeGreaterThan(0);
      if (syntax.length > MAX_SYNTAX_ERRORS) expect(syntax.at(-1)!.message).toContain("the rest of it was not read");
    }
  }, 60_000);
  it("tens of thousands of broken declarations are each reported (no cap across declarations), without a crash", () => {
    const r = check(fill("", (k) => `cell C${k}<H> { input x: [H]\n output y = x + W }\n`));
    expect(r.diagnostics.length).toBeGreaterThan(20_000);
    expect(new Set(r.diagnostics.map((d) => d.code))).toEqual(new Set(["RNN0201"]));
    const soup = check(fill("", () => "cell C { $ }\n"));
    expect(soup.diagnostics.length).toBeGreaterThan(50_000);
  }, 60_000);
});
