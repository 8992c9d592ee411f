// Errors about things outside a source file (flags, weights, input tensors): a code, a message, notes and a help.
import type { Diagnostic } from "./diagnostic.js";

export class RnncError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly notes: readonly string[] = [],
    readonly help?: string,
  ) {
    super(message);
    this.name = "RnncError";
  }
}

/** A mistake in how rnnc was asked (a flag, an option, a file name): the CLI prints it as one line and `Try 'rnnc --help'`, exit status 2. */
export class UsageError extends Error {}

/** A file's compile errors, thrown by the compiler's entry points when asked for a cell or model it cannot give. */
export class CompileErrors extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[], readonly sources: ReadonlyMap<string, string>) {
    super(`${diagnostics.length} error(s)`);
  }
}
