// The composition root: one pipeline of stages, shared by the CLI, the language server, the formatter and the tests.
import type * as A from "./ast/nodes.js";
import { checkCell } from "./check/cell-checks.js";
import { DiagnosticBag, sortDiagnostics, type Diagnostic } from "./diagnostics/diagnostic.js";
import { closestNames } from "./diagnostics/suggest.js";
import { withoutCascades } from "./diagnostics/cascades.js";
import { verifySuggestions } from "./diagnostics/verify-suggestions.js";
import { elaborateCell, type Elaborated } from "./elaborate/cell.js";
import type { CellLibrary, FoundCell } from "./elaborate/layers.js";
import { elaborateModel, type ElaboratedModel } from "./elaborate/model.js";
import type { OptionValue } from "./elaborate/scope.js";
import { CompileErrors, RnncError } from "./diagnostics/errors.js";
export { CompileErrors } from "./diagnostics/errors.js";
import type { Host } from "./resolve/host.js";
import type { CellIR, ModelIR } from "./ir/ir.js";
import { resolveImports, type VisibleCell } from "./resolve/resolve.js";
import { forgetChunks, parseFile, type ParsedFile } from "./syntax/syntax.js";

/** What one compilation of a root file knows; each stage reads what the earlier ones left. */
export interface CompileContext {
  readonly host: Host;
  readonly file: string;
  readonly diags: DiagnosticBag;
  readonly load: (path: string) => ParsedFile | undefined;
  readonly lib: CellLibrary;
  parsed?: ParsedFile;
  visible?: Map<string, VisibleCell>;
  readonly cells: Map<string, Elaborated>;
  readonly models: Map<string, ElaboratedModel>;
  /** The file's diagnostics were its text this one (undefined in the compilations that try suggestions). */
  readonly recheck?: (text: string) => readonly Diagnostic[];
}

interface Stage {
  readonly name: string;
  readonly run: (ctx: CompileContext) => void;
}

/** The front end, in order. Later stages (passes, backends) start from `cells` and `models`. */
export const pipeline: readonly Stage[] = [
  { name: "syntax", run: (ctx) => { ctx.parsed = ctx.load(ctx.file); } },
  { name: "resolve", run: (ctx) => { if (ctx.parsed) ctx.visible = resolveImports(ctx.parsed, ctx.host, ctx.load, ctx.diags); } },
  {
    name: "elaborate",
    run: (ctx) => {
      for (const d of ctx.parsed?.module.decls ?? []) {
        if (ctx.cells.has(d.name.text) || ctx.models.has(d.name.text)) continue;
        if (d.kind === "cell") ctx.cells.set(d.name.text, ctx.lib.guard(d, () => elaborateCell(d, ctx.file, ctx.parsed!.text, ctx.diags, ctx.lib)));
        else ctx.models.set(d.name.text, elaborateModel(d, ctx.file, ctx.parsed!.text, ctx.diags, ctx.lib));
      }
    },
  },
  { name: "check", run: (ctx) => { for (const c of ctx.cells.values()) checkCell(c.ir, c.ok, ctx.diags); } },
  { name: "quiet cascades", run: (ctx) => dropCascades(ctx) },
  {
    name: "verify suggestions",
    run: (ctx) => {
      if (!ctx.recheck || !ctx.parsed || !ctx.diags.items.some((d) => d.help?.candidates)) return;
      const items = verifySuggestions(ctx.diags.items, ctx.file, ctx.parsed.text, ctx.recheck);
      ctx.diags.items.length = 0;
      ctx.diags.items.push(...items);
    },
  },
];

/** Findings that a syntax error inside the same declaration can cause (a dropped declaration or equation). */
const cascadeCodes = new Set(["RNN0201", "RNN0401", "RNN0406", "RNN0501", "RNN0503", "RNN0504"]);

/** Errors after which the parser or the AST left part of a declaration out. */
const syntaxCodes = new Set(["RNN0101", "RNN0102", "RNN0106", "RNN0107"]);

/** Drops cascade findings in declarations that hold a syntax error: the parser skipped part of them. */
function dropCascades(ctx: CompileContext): void {
  const errorAt = ctx.diags.items.filter((d) => d.primary.file === ctx.file && syntaxCodes.has(d.code)).map((d) => d.primary.span.start).sort((a, b) => a - b);
  if (!errorAt.length || !ctx.parsed) return;
  // Declarations (in source order, not overlapping) that hold a syntax error; found by binary search (files can be large).
  const firstAtOrAfter = (xs: readonly number[], v: number) => {
    let lo = 0, hi = xs.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (xs[mid]! < v) lo = mid + 1; else hi = mid; }
    return lo;
  };
  const broken = ctx.parsed.module.decls.map((c) => c.span).filter((s) => { const k = firstAtOrAfter(errorAt, s.start); return k < errorAt.length && errorAt[k]! <= s.end; })
    .sort((a, b) => a.start - b.start);
  const starts = broken.map((s) => s.start);
  const inBroken = (at: number) => { const k = firstAtOrAfter(starts, at + 1) - 1; return k >= 0 && at <= broken[k]!.end; };
  const keep = ctx.diags.items.filter((d) => !(cascadeCodes.has(d.code) && d.primary.file === ctx.file && inBroken(d.primary.span.start)));
  ctx.diags.items.length = 0;
  for (const d of keep) ctx.diags.items.push(d);
}

export interface CheckResult {
  readonly file: string;
  readonly diagnostics: readonly Diagnostic[];
  readonly cells: ReadonlyMap<string, Elaborated>;
  readonly models: ReadonlyMap<string, ElaboratedModel>;
  readonly parsed: ParsedFile | undefined;
  readonly visible: ReadonlyMap<string, VisibleCell>;
  /** Text of every file read, for rendering diagnostics. */
  readonly sources: ReadonlyMap<string, string>;
}

export interface Compiler {
  /** Parses, resolves, elaborates and checks a file; every diagnostic of the file is returned. */
  check(file: string): CheckResult;
  /** A cell visible in `file` (its own or imported), elaborated with option overrides; throws if the file has errors. */
  cell(file: string, name: string | undefined, overrides?: ReadonlyMap<string, OptionValue>): CellIR;
  /** A model declared in `file` (the only one when `name` is left out); throws if the file has errors. */
  model(file: string, name: string | undefined): ModelIR;
  /** Drops what is kept of a file (its parse), as a language server does when a document closes. */
  forget(file: string): void;
}

/** `verify`: try each "did you mean" in place before offering it (off in the compilations that do the trying). */
export function createCompiler(host: Host, verify = true): Compiler {
  const parseCache = new Map<string, ParsedFile>();
  const syntaxDiagnostics = new WeakMap<ParsedFile, readonly Diagnostic[]>();

  const loader = (diags: DiagnosticBag, sources: Map<string, string>) => (path: string): ParsedFile | undefined => {
    const text = host.readFile(path);
    if (text === undefined) return undefined;
    sources.set(path, text);
    // One file is one module however it is named (relative or absolute, through a link): keyed by what the host says it is.
    const key = host.canonical?.(path) ?? path;
    let parsed = parseCache.get(key);
    if (!parsed || parsed.text !== text) {
      const own = new DiagnosticBag();
      parsed = parseFile(path, text, own);
      parseCache.set(key, parsed);
      syntaxDiagnostics.set(parsed, own.items);
    }
    sources.set(parsed.file, text);
    for (const d of syntaxDiagnostics.get(parsed) ?? []) diags.items.push(d);
    return parsed;
  };

  /** Cells for layers, seen from each file; elaborated once per options, errors reported where the cell is declared. */
  function library(sources: Map<string, string>): CellLibrary {
    const scopes = new Map<string, Map<string, VisibleCell>>();
    const cache = new Map<A.CellDecl, Map<string, CellIR | undefined>>();
    const failures = new Map<A.CellDecl, Map<string, readonly Diagnostic[]>>();
    const active = new Set<A.CellDecl>();
    const quiet = new DiagnosticBag();
    let stdNames: string[] | undefined;
    const scopeOf = (file: string): Map<string, VisibleCell> => {
      let s = scopes.get(file);
      if (!s) {
        const parsed = loader(quiet, sources)(file);
        s = parsed ? resolveImports(parsed, host, loader(quiet, sources), quiet) : new Map();
        scopes.set(file, s);
      }
      return s;
    };
    const lib: CellLibrary = {
      find(name, fromFile) {
        const v = scopeOf(fromFile).get(name);
        if (!v) return undefined;
        if (v.decl.kind === "model") return "model";
        return { decl: v.decl, file: v.file, text: sources.get(v.file) ?? host.readFile(v.file) ?? "" };
      },
      visibleCells: (fromFile) => [...scopeOf(fromFile)].filter(([, v]) => v.decl.kind === "cell").map(([k]) => k),
      stdlibCells: () => (stdNames ??= (host.resolveImport("std", "") ?? []).flatMap((f) => loader(quiet, sources)(f)?.module.decls.filter((d) => d.kind === "cell").map((d) => d.name.text) ?? [])),
      guard(decl, f) {
        active.add(decl);
        try {
          return f();
        } finally {
          active.delete(decl);
        }
      },
      elaborate(found: FoundCell, options) {
        if (active.has(found.decl)) return "recursive";
        const key = JSON.stringify([...options].sort());
        const byOptions = cache.get(found.decl) ?? new Map<string, CellIR | undefined>();
        cache.set(found.decl, byOptions);
        if (byOptions.has(key)) return byOptions.get(key);
        active.add(found.decl);
        const own = new DiagnosticBag();
        const r = elaborateCell(found.decl, found.file, found.text, own, lib, options);
        active.delete(found.decl);
        const ir = r.ok ? r.ir : undefined;
        byOptions.set(key, ir);
        if (!r.ok) failures.set(found.decl, new Map([...(failures.get(found.decl) ?? []), [key, own.items]]));
        return ir;
      },
      errors: (found, options) => failures.get(found.decl)?.get(JSON.stringify([...options].sort())) ?? [],
    };
    return lib;
  }

  function check(file: string): CheckResult {
    const diags = new DiagnosticBag();
    const sources = new Map<string, string>();
    const recheck = verify ? (text: string) => {
      const overlay: Host = Object.create(host) as Host;
      overlay.readFile = (p: string) => (p === file ? text : host.readFile(p));
      return createCompiler(overlay, false).check(file).diagnostics;
    } : undefined;
    const ctx: CompileContext = { host, file, diags, load: loader(diags, sources), lib: library(sources), cells: new Map(), models: new Map(), ...(recheck ? { recheck } : {}) };
    for (const stage of pipeline) stage.run(ctx);
    if (!ctx.parsed) throw new RnncError("RNN0001", `cannot read ${file}`, [], "check the path; .rnn files are plain UTF-8 text");
    return {
      file, diagnostics: sortDiagnostics(withoutCascades(diags.items, sources)), cells: ctx.cells, models: ctx.models,
      parsed: ctx.parsed, visible: ctx.visible ?? new Map(), sources,
    };
  }

  function failOnErrors(result: CheckResult): void {
    const errors = result.diagnostics.filter((d) => d.severity === "error");
    if (errors.length) throw new CompileErrors(errors, result.sources);
  }

  function pick(result: CheckResult, name: string | undefined, kind: "cell" | "model"): VisibleCell {
    const file = result.file;
    const local = result.parsed?.module.decls.filter((d) => d.kind === kind).map((d) => d.name.text) ?? [];
    const chosen = name ?? (local.length === 1 ? local[0] : undefined);
    if (chosen === undefined) {
      throw new RnncError("RNN0002", local.length ? `${file} declares several ${kind}s; say which one to use` : `${file} declares no ${kind}`, [],
        local.length ? `pass --${kind} with one of: ${local.join(", ")}` : kind === "cell" ? 'declare a cell, or import one from "std"' : "declare a model, or run a cell with --cell");
    }
    const found = result.visible.get(chosen);
    if (!found || found.decl.kind !== kind) {
      const names = [...result.visible].filter(([, v]) => v.decl.kind === kind).map(([k]) => k);
      const near = closestNames(chosen, names);
      throw new RnncError("RNN0002", `no ${kind} \`${chosen}\` in ${file}`, [`${kind}s available: ${names.join(", ") || "none"}`],
        near.length ? `did you mean \`${near[0]}\`?` : undefined);
    }
    return found;
  }

  function cell(file: string, name: string | undefined, overrides: ReadonlyMap<string, OptionValue> = new Map()): CellIR {
    const result = check(file);
    const found = pick(result, name, "cell");
    const decl = found.decl as A.CellDecl;
    for (const o of overrides.keys()) {
      if (!decl.options.some((d) => d.name.text === o))
        throw new RnncError("RNN0208", `cell \`${decl.name.text}\` has no option \`${o}\``,
          [decl.options.length ? `its options are ${decl.options.map((d) => d.name.text).join(", ")}` : "it declares no options"]);
    }
    failOnErrors(result);
    const diags = new DiagnosticBag();
    const sources = new Map(result.sources);
    const text = sources.get(found.file) ?? host.readFile(found.file) ?? "";
    const elaborated = elaborateCell(decl, found.file, text, diags, library(sources), overrides);
    if (!elaborated.ok) throw new CompileErrors(sortDiagnostics(diags.items.filter((d) => d.severity === "error")), sources);
    return elaborated.ir;
  }

  function model(file: string, name: string | undefined): ModelIR {
    const result = check(file);
    const found = pick(result, name, "model");
    failOnErrors(result);
    return result.models.get(found.decl.name.text)!.ir;
  }

  const forget = (file: string) => {
    parseCache.delete(host.canonical?.(file) ?? file);
    forgetChunks(file);
  };
  return { check, cell, model, forget };
}

/** Thrown when a program asked to run has compile errors; carries them for rendering. */
