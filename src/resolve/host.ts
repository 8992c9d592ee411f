// The host interface: how the compiler core reads files without importing node: modules.

export interface Host {
  /** The text of a file, or undefined when it cannot be read. */
  readFile(path: string): string | undefined;
  /**
   * The files an import specifier names, seen from `fromFile`: `"std"` names the standard library's files,
   * `"./cells.rnn"` a file relative to the importer. Undefined when nothing is found.
   */
  resolveImport(spec: string, fromFile: string): readonly string[] | undefined;
  /** What a path names (for files on disk: its real path), so that one file reached by two paths is one module. */
  canonical?(path: string): string;
}

/** A host over an in-memory map of files, for tests, the language server's open buffers and browsers. */
export function memoryHost(files: ReadonlyMap<string, string>, stdlib: readonly string[] = []): Host {
  return {
    readFile: (p) => files.get(p),
    resolveImport(spec, fromFile) {
      if (spec === "std") return stdlib;
      const dir = fromFile.includes("/") ? fromFile.slice(0, fromFile.lastIndexOf("/") + 1) : "";
      const path = normalizePath(dir + spec);
      return files.has(path) ? [path] : undefined;
    },
  };
}

/** Resolves `.` and `..` segments of a slash-separated path. */
export function normalizePath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "." || (seg === "" && out.length > 0)) continue;
    if (seg === ".." && out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else out.push(seg);
  }
  return out.join("/");
}
