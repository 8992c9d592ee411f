// The composition root: one pipeline of stages, shared by the CLI, the language server, the formatter and the tests.
import type * as A from "./ast/nodes.js";
import { checkCell } from "./check/cell-checks.js";
import { DiagnosticBag, sortDiagnostics, type Diagnostic } from "./diagnostics/diagnostic.js";
import { closestNames } from "./diagnostics/suggest.js";
import { elaborateCell, type Elaborated } from "./elaborate/cell.js";
import type { OptionValue } from "./elaborate/scope.js";
import { RnncError } from "./errors.js";
import type { Host } from "./host.js";
import type { CellIR } from "./ir/ir.js";
import { resolveImports, type VisibleCell } from "./resolve/resolve.js";
import { parseFile, type ParsedFile } from "./syntax/syntax.js";

/** What one compilation of a root file knows; each stage reads what the earlier ones left. */
export interface CompileContext {
  readonly host: Host;
  readonly file: string;
  readonly diags: DiagnosticBag;
  readonly load: (path: string) => ParsedFile | undefined;
  parsed?: ParsedFile;
  visible?: Map<string, VisibleCell>;
  readonly cells: Map<string, Elaborated>;
}

interface Stage {
  readonly name: string;
  readonly run: (ctx: CompileContext) => void;
}

/** The front end, in order. Later stages (passes, backends) start from `cells`. */
export const pipeline: readonly Stage[] = [
  { name: "syntax", run: (ctx) => { ctx.parsed = ctx.load(ctx.file); } },
  { name: "resolve", run: (ctx) => { if (ctx.parsed) ctx.visible = resolveImports(ctx.parsed, ctx.host, ctx.load, ctx.diags); } },
  {
    name: "elaborate",
    run: (ctx) => {
      for (const d of ctx.parsed?.module.decls ?? []) {
        if (ctx.cells.has(d.name.text)) continue;
        ctx.cells.set(d.name.text, elaborateCell(d, ctx.file, ctx.parsed!.text, ctx.diags));
      }
    },
  },
  { name: "check", run: (ctx) => { for (const c of ctx.cells.values()) checkCell(c.ir, c.ok, ctx.diags); } },
  { name: "quiet cascades", run: (ctx) => dropCascades(ctx) },
];

/** Findings that a syntax error inside the same cell can cause (a dropped declaration or equation). */
const cascadeCodes = new Set(["RNN0201", "RNN0401", "RNN0406", "RNN0501", "RNN0503"]);

/** Drops cascade findings in cells that hold a syntax error: the parser skipped part of them. */
function dropCascades(ctx: CompileContext): void {
  const syntaxErrors = ctx.diags.items.filter((d) => d.primary.file === ctx.file && (d.code === "RNN0101" || d.code === "RNN0102"));
  if (!syntaxErrors.length || !ctx.parsed) return;
  const broken = ctx.parsed.module.decls.filter((c) => syntaxErrors.some((d) => d.primary.span.start >= c.span.start && d.primary.span.start <= c.span.end));
  const inBroken = (d: Diagnostic) => d.primary.file === ctx.file && broken.some((c) => d.primary.span.start >= c.span.start && d.primary.span.start <= c.span.end);
  const keep = ctx.diags.items.filter((d) => !(cascadeCodes.has(d.code) && inBroken(d)));
  ctx.diags.items.splice(0, ctx.diags.items.length, ...keep);
}

export interface CheckResult {
  readonly file: string;
  readonly diagnostics: readonly Diagnostic[];
  readonly cells: ReadonlyMap<string, Elaborated>;
  readonly parsed: ParsedFile | undefined;
  readonly visible: ReadonlyMap<string, VisibleCell>;
  /** Text of every file read, for rendering diagnostics. */
  readonly sources: ReadonlyMap<string, string>;
}

export interface Compiler {
  /** Parses, resolves, elaborates and checks a file; every diagnostic of the file is returned. */
  check(file: string): CheckResult;
  /** A cell visible in `file` (its own or imported), elaborated with option overrides; throws RnncError if it has errors. */
  cell(file: string, name: string | undefined, overrides?: ReadonlyMap<string, OptionValue>): CellIR;
}

export function createCompiler(host: Host): Compiler {
  const parseCache = new Map<string, ParsedFile>();

  const loader = (diags: DiagnosticBag, sources: Map<string, string>) => (path: string): ParsedFile | undefined => {
    const text = host.readFile(path);
    if (text === undefined) return undefined;
    sources.set(path, text);
    const cached = parseCache.get(path);
    if (cached && cached.text === text) {
      // Re-report the cached file's syntax diagnostics for this compilation.
      for (const d of syntaxDiagnostics.get(cached) ?? []) diags.items.push(d);
      return cached;
    }
    const own = new DiagnosticBag();
    const parsed = parseFile(path, text, own);
    parseCache.set(path, parsed);
    syntaxDiagnostics.set(parsed, own.items);
    diags.items.push(...own.items);
    return parsed;
  };
  const syntaxDiagnostics = new WeakMap<ParsedFile, readonly Diagnostic[]>();

  function check(file: string): CheckResult {
    const diags = new DiagnosticBag();
    const sources = new Map<string, string>();
    const ctx: CompileContext = { host, file, diags, load: loader(diags, sources), cells: new Map() };
    for (const stage of pipeline) stage.run(ctx);
    if (!ctx.parsed) {
      throw new RnncError("RNN0001", `cannot read ${file}`, [], "check the path; .rnn files are plain UTF-8 text");
    }
    return { file, diagnostics: sortDiagnostics(diags.items), cells: ctx.cells, parsed: ctx.parsed, visible: ctx.visible ?? new Map(), sources };
  }

  function cell(file: string, name: string | undefined, overrides: ReadonlyMap<string, OptionValue> = new Map()): CellIR {
    const result = check(file);
    const visible = result.visible;
    const local = result.parsed?.module.decls.map((d) => d.name.text) ?? [];
    const chosen = name ?? (local.length === 1 ? local[0] : undefined);
    if (chosen === undefined) {
      throw new RnncError("RNN0002", local.length ? `${file} declares several cells; say which one to use` : `${file} declares no cell`, [],
        local.length ? `pass --cell with one of: ${local.join(", ")}` : "declare a cell, or import one from \"std\"");
    }
    const found = visible.get(chosen);
    if (!found) {
      const near = closestNames(chosen, visible.keys());
      throw new RnncError("RNN0002", `no cell \`${chosen}\` in ${file}`, [`cells available: ${[...visible.keys()].join(", ") || "none"}`],
        near.length ? `did you mean \`${near[0]}\`?` : undefined);
    }
    const diags = new DiagnosticBag();
    for (const o of overrides.keys()) {
      if (!found.decl.options.some((d: A.CellOption) => d.name.text === o))
        throw new RnncError("RNN0208", `cell \`${chosen}\` has no option \`${o}\``,
          [found.decl.options.length ? `its options are ${found.decl.options.map((d) => d.name.text).join(", ")}` : "it declares no options"]);
    }
    const text = result.sources.get(found.file) ?? host.readFile(found.file) ?? "";
    const elaborated = elaborateCell(found.decl, found.file, text, diags, overrides);
    const errors = result.diagnostics.filter((d) => d.severity === "error");
    if (errors.length) throw new CompileErrors(errors, result.sources);
    if (!elaborated.ok) throw new CompileErrors(sortDiagnostics(diags.items.filter((d) => d.severity === "error")), result.sources);
    return elaborated.ir;
  }

  return { check, cell };
}

/** Thrown when a program asked to run has compile errors; carries them for rendering. */
export class CompileErrors extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[], readonly sources: ReadonlyMap<string, string>) {
    super(`${diagnostics.length} error(s)`);
  }
}
