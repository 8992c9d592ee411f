// Fixture runner: test/fixtures/<stage>/NAME.rnn against NAME.expected; UPDATE_FIXTURES=1 rewrites the expectations.
// pairs/ holds the same mistake made in a cell (NAME.cell.rnn) and in a model (NAME.model.rnn): their codes must agree.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCompiler } from "../src/compiler.js";
import { memoryHost } from "../src/resolve/host.js";
import { renderDiagnostics } from "../src/diagnostics/render.js";
import { codes } from "../src/diagnostics/codes.js";
import { printCellIR, printModelIR } from "../src/ir/print.js";
import { stdlibFiles } from "../src/node/host.js";
import { root } from "./helpers.js";

const fixtures = join(root, "test", "fixtures");
const update = process.env["UPDATE_FIXTURES"] === "1";
const stdlib = new Map(stdlibFiles().map((f) => [`std/${f.split("/").pop()}`, readFileSync(f, "utf8")]));

/** Compiles a fixture in memory (paths relative to the stage folder, so fixtures may import each other; stdlib as "std/…"). */
function compileFixture(stage: string, name: string) {
  const siblings = readdirSync(join(fixtures, stage)).filter((f) => f.endsWith(".rnn")).map((f) => [f, readFileSync(join(fixtures, stage, f), "utf8")] as const);
  const files = new Map([...siblings, ...stdlib]);
  return createCompiler(memoryHost(files, [...stdlib.keys()])).check(name);
}

/** What each stage's fixture prints. */
const stages: Record<string, (name: string) => string> = {
  diagnostics: (name) => {
    const r = compileFixture("diagnostics", name);
    return renderDiagnostics(r.diagnostics, r.sources) + "\n";
  },
  pairs: (name) => {
    const r = compileFixture("pairs", name);
    return renderDiagnostics(r.diagnostics, r.sources) + "\n";
  },
  ir: (name) => {
    const r = compileFixture("ir", name);
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    return [...[...r.cells.values()].map((c) => printCellIR(c.ir)), ...[...r.models.values()].map((m) => printModelIR(m.ir))].join("\n\n") + "\n";
  },
};

const seenCodes = new Set<string>();

for (const [stage, produce] of Object.entries(stages)) {
  describe(`fixtures/${stage}`, () => {
    for (const name of readdirSync(join(fixtures, stage)).filter((f) => f.endsWith(".rnn")).sort()) {
      it(name, () => {
        const actual = produce(name);
        for (const m of actual.matchAll(/\[(RNN\d{4})\]/g)) seenCodes.add(m[1]!);
        const expectedPath = join(fixtures, stage, name.replace(/\.rnn$/, ".expected"));
        if (update || !existsSync(expectedPath)) {
          if (!update) throw new Error(`missing ${expectedPath}; run npm run fixtures:update`);
          writeFileSync(expectedPath, actual);
        }
        expect(actual).toBe(readFileSync(expectedPath, "utf8"));
      });
    }
  });
}

describe("fixtures/pairs: a mistake gets the same codes in a cell and in a model", () => {
  const names = readdirSync(join(fixtures, "pairs")).filter((f) => f.endsWith(".cell.rnn")).map((f) => f.replace(/\.cell\.rnn$/, "")).sort();
  it("every cell fixture has its model twin", () => {
    expect(names.length).toBeGreaterThan(15);
    for (const n of names) expect(existsSync(join(fixtures, "pairs", `${n}.model.rnn`)), n).toBe(true);
  });
  it.each(names)("%s", (n) => {
    const codesOf = (kind: string) => compileFixture("pairs", `${n}.${kind}.rnn`).diagnostics.map((d) => `${d.severity}[${d.code}]`);
    const cell = codesOf("cell");
    expect(cell.length).toBeGreaterThan(0);
    expect(codesOf("model")).toEqual(cell);
  });
});

describe("fixture coverage", () => {
  it("every compile-time diagnostic code appears in a diagnostics fixture", () => {
    // Codes about files, flags, weights and tensors (RNN00xx, RNN06xx) and ONNX export (RNN08xx) are tested through the CLI and the exporter; the size limits
    // whose inputs are too large for a fixture (RNN0108, RNN0109, RNN0110) by inputs generated in test/syntax/limits.test.ts.
    const compileTime = [...codes.keys()].filter((c) => !/^RNN0(0|6|8)/.test(c) && !["RNN0108", "RNN0109", "RNN0110"].includes(c));
    expect(compileTime.filter((c) => !seenCodes.has(c))).toEqual([]);
    expect([...seenCodes].filter((c) => !codes.has(c))).toEqual([]);
  });
});
