// How a value from a file appears in a message: short, and without walking it.

/** A JSON value in a message, without walking it (a value nested 100,000 deep would overflow the stack). */
export const describe = (x: unknown): string =>
  typeof x === "number" || typeof x === "boolean" || x === null ? String(x) : typeof x === "string" ? JSON.stringify(x.slice(0, 40)) : Array.isArray(x) ? "a list" : typeof x === "object" ? "an object" : typeof x;
