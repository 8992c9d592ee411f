// The playground's compiler session, as the page runs it: the text checked by the real compiler (every diagnostic, hover with shapes), the declaration at the cursor drawn, run on a small input with its values traced.
import type * as A from "../ast/nodes.js";
import { createCompiler, type CheckResult } from "../compiler.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { renderDiagnostic } from "../diagnostics/render.js";
import { evalDim } from "../ir/dims.js";
import type { CellIR, ModelIR } from "../ir/ir.js";
import { traceCell, traceModel, type TracedUse } from "../interp/trace.js";
import { describeBuiltin, describeDef, fileSymbols, type Def } from "../lsp/semantic.js";
import { cellPicture, modelPicture, type Picture } from "../picture/graph.js";
import { memoryHost } from "../resolve/host.js";
import { resolveDims, type DimEnv } from "../runtime/dims.js";
import { mulberry32 } from "../runtime/random.js";
import { alloc, type Tensor } from "../runtime/tensor.js";
import { parseFile } from "../syntax/syntax.js";
import { DiagnosticBag } from "../diagnostics/diagnostic.js";
import { cellParamSpecs, initParams, modelParamSpecs } from "../weights/weights.js";

/** The page's document, as the compiler sees it. */
export const FILE = "playground.rnn";

/** A problem as the editor marks it: where, how bad, and the rustc-style text the CLI prints. */
export interface Problem { readonly from: number; readonly to: number; readonly severity: "error" | "warning"; readonly code: string; readonly message: string; readonly rendered: string }

/** What the page can draw, run or train: a cell or model of the text. */
export type Target = { readonly kind: "cell"; readonly name: string; readonly ir: CellIR } | { readonly kind: "model"; readonly name: string; readonly ir: ModelIR };

/** Dims without a value in the text get this one when the page runs a cell or model. */
const SMALL_DIM = 4;

export class Session {
  private readonly files = new Map<string, string>();
  private readonly stdlib: string[];
  private last: { text: string; result: CheckResult } | undefined;

  constructor(stdlib: Readonly<Record<string, string>>) {
    for (const [name, text] of Object.entries(stdlib)) this.files.set(`std/${name}`, text);
    this.stdlib = [...this.files.keys()];
  }

  /** The text checked (cached while it is unchanged). */
  check(text: string): CheckResult {
    if (this.last?.text === text) return this.last.result;
    this.files.set(FILE, text);
    const result = createCompiler(memoryHost(this.files, this.stdlib)).check(FILE);
    this.last = { text, result };
    return result;
  }

  /** Every diagnostic of the text (errors and warnings), with its span in the text and its rendered form. */
  problems(text: string): Problem[] {
    const r = this.check(text);
    return r.diagnostics.filter((d: Diagnostic) => d.primary.file === FILE).map((d) => ({
      from: d.primary.span.start, to: Math.max(d.primary.span.end, d.primary.span.start + 1), severity: d.severity, code: d.code, message: d.message,
      rendered: renderDiagnostic(d, r.sources),
    }));
  }

  /** Hover at an offset: the name's declaration with its shape (as the language server says it), or nothing. */
  hover(text: string, offset: number): string | undefined {
    const r = this.check(text);
    if (!r.parsed) return undefined;
    const defsOf = (file: string): Def[] => {
      const t = this.files.get(file);
      if (t === undefined) return [];
      return parseFile(file, t, new DiagnosticBag()).module.decls.map((d) => ({ name: d.name.text, kind: d.kind, file, span: d.name.span, declSpan: d.span, container: undefined, doc: d.doc }));
    };
    const symbols = fileSymbols(r, defsOf);
    const within = (s: A.Span) => offset >= s.start && offset <= s.end;
    const def = symbols.defs.find((d) => d.file === FILE && within(d.span));
    const use = def ? undefined : symbols.uses.find((u) => within(u.span));
    const target = def ?? use?.def;
    if (target) return describeDef(target, target.file === FILE ? r : this.checkOther(target.file), undefined);
    return use?.builtin ? describeBuiltin(use.name, use.builtin) : undefined;
  }

  private checkOther(file: string): CheckResult {
    return createCompiler(memoryHost(this.files, this.stdlib)).check(file);
  }

  /** The cell or model whose declaration holds `offset`, else the text's first model, else its first cell; none while the text has errors. */
  targetAt(text: string, offset: number): Target | undefined {
    const r = this.check(text);
    if (r.diagnostics.some((d) => d.severity === "error") || !r.parsed) return undefined;
    const decls = r.parsed.module.decls;
    const at = decls.find((d) => offset >= d.span.start && offset <= d.span.end) ?? decls.find((d) => d.kind === "model") ?? decls[0];
    if (!at) return undefined;
    const compiler = createCompiler(memoryHost(this.files, this.stdlib));
    return at.kind === "model" ? { kind: "model", name: at.name.text, ir: compiler.model(FILE, at.name.text) } : { kind: "cell", name: at.name.text, ir: compiler.cell(FILE, at.name.text) };
  }

  picture(t: Target): Picture {
    return t.kind === "model" ? modelPicture(t.ir) : cellPicture(t.ir);
  }

  /** The target's dims: its defaults, and SMALL_DIM for a dim without one. */
  envOf(t: Target): DimEnv {
    return resolveDims(t.ir, new Map(t.ir.dims.filter((d) => d.default === undefined).map((d) => [d.name, SMALL_DIM])));
  }

  /** The target run on the interpreter over a small seeded input (2 examples, `steps` steps), every value traced. */
  run(t: Target, steps = 6, seed = 1): { uses: TracedUse[]; env: DimEnv } {
    const rng = mulberry32(seed);
    const env = this.envOf(t);
    const filled = (shape: number[], int: boolean): Tensor => {
      const x = alloc(shape, "f32");
      for (let i = 0; i < x.data.length; i++) x.data[i] = int ? 1 + Math.floor(rng() * 2) : 2 * rng() - 1;
      return x;
    };
    const B = 2;
    if (t.kind === "cell") {
      const params = initParams(cellParamSpecs(t.ir, env), seed);
      const inputs = Object.fromEntries(t.ir.inputs.map((i) => [i.name, filled([B, steps, ...i.shape.map((d) => evalDim(d, env) ?? SMALL_DIM)], i.dtype === "int")]));
      return { uses: traceCell(t.ir, env, params, { inputs, ...(t.ir.inputs.length ? {} : { steps }) }).uses, env };
    }
    const params = initParams(modelParamSpecs(t.ir, env), seed);
    const inputs = Object.fromEntries(t.ir.inputs.map((i) => [i.name, filled([B, ...(i.seq ? [steps] : []), ...i.shape.map((d) => evalDim(d, env) ?? SMALL_DIM)], i.dtype === "int")]));
    return { uses: traceModel(t.ir, env, params, { inputs, seed }).uses, env };
  }
}
