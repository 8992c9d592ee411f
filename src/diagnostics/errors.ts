// Errors about things outside a source file (flags, weights, input tensors): a code, a message, notes and a help.

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
