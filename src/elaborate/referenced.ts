// The names a declaration's expressions mention, read from its syntax: a layer mentioned in an equation whose
// elaboration stopped at another error is not "never applied".
import type * as A from "../ast/nodes.js";

/** Every name an expression of `decl` reads or calls (`x`, `embed` in `map(embed, xs)`, `head` in `head(v)`). */
export function referencedNames(decl: A.CellDecl | A.ModelDecl): Set<string> {
  const out = new Set<string>();
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (typeof v !== "object" || v === null || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) { for (const x of v) walk(x); return; }
    const o = v as { kind?: unknown; name?: { text?: unknown }; callee?: { text?: unknown } };
    if (o.kind === "name" && typeof o.name?.text === "string") out.add(o.name.text);
    if (o.kind === "call" && typeof o.callee?.text === "string") out.add(o.callee.text);
    for (const x of Object.values(v)) walk(x);
  };
  walk(decl);
  return out;
}
