// Diagnostics as data: what every stage reports and every face (CLI, LSP, tests) renders.
import type { Span } from "../ast/nodes.js";

export type Severity = "error" | "warning";

export interface Label {
  readonly file: string;
  readonly span: Span;
  readonly message: string;
}

/** A concrete fix: replace `span` in `file` with `text`. */
export interface Edit {
  readonly file: string;
  readonly span: Span;
  readonly text: string;
}

export interface Help {
  readonly message: string;
  readonly edit?: Edit;
  /**
   * The replacements a "did you mean" offers at `edit`'s span, best first, before they are tried: the compiler keeps
   * those that compile there (src/compiler.ts, "verify suggestions") and says `otherwise` when none does.
   */
  readonly candidates?: readonly string[];
  readonly otherwise?: string;
}

export interface Diagnostic {
  readonly code: string;
  readonly severity: Severity;
  /** Stands alone: readable without the source line. */
  readonly message: string;
  readonly primary: Label;
  readonly secondary: readonly Label[];
  readonly notes: readonly string[];
  readonly help?: Help;
}

export interface DiagnosticInit {
  file: string;
  span: Span;
  label?: string;
  secondary?: Label[];
  notes?: string[];
  help?: Help;
}

/** Collects diagnostics from every stage of one compilation. */
export class DiagnosticBag {
  readonly items: Diagnostic[] = [];

  error(code: string, message: string, init: DiagnosticInit): void {
    this.add("error", code, message, init);
  }

  warning(code: string, message: string, init: DiagnosticInit): void {
    this.add("warning", code, message, init);
  }

  /** What has been reported, so the same diagnostic at the same place is reported once (a declaration of several params sharing one bad initializer, say). */
  private readonly seen = new Set<string>();

  private add(severity: Severity, code: string, message: string, init: DiagnosticInit): void {
    const key = JSON.stringify([severity, code, message, init.file, init.span.start, init.span.end, init.label ?? ""]);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.items.push({
      code,
      severity,
      message,
      primary: { file: init.file, span: init.span, message: init.label ?? "" },
      secondary: init.secondary ?? [],
      notes: init.notes ?? [],
      ...(init.help ? { help: init.help } : {}),
    });
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === "error");
  }
}

/** Orders diagnostics by file, then position, for stable output. */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) =>
    a.primary.file < b.primary.file ? -1 : a.primary.file > b.primary.file ? 1 : a.primary.span.start - b.primary.span.start || a.code.localeCompare(b.code),
  );
}
