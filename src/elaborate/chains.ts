// Long chains of equations (each reading the one before) in an order that keeps on-demand evaluation shallow.
import type * as A from "../ast/nodes.js";
import type { Sym } from "./scope.js";

/** Links of a chain evaluated on demand, one inside the other, before the chain is evaluated from its far end. */
const SHALLOW = 32;

/** The names an expression reads at the current step (not inside `v[t-k]`), left to right. */
function namesRead(e: A.Expr, out: string[]): void {
  switch (e.kind) {
    case "name": out.push(e.name.text); break;
    case "binary": namesRead(e.left, out); namesRead(e.right, out); break;
    case "neg": namesRead(e.operand, out); break;
    case "paren": namesRead(e.inner, out); break;
    case "field": case "slice": namesRead(e.target, out); break;
    case "call": for (const a of e.args) namesRead(a, out); for (const a of e.named) namesRead(a.value, out); break;
    default: break; // numbers; a lag reads the past, which needs no evaluation now
  }
}

/**
 * The equations to evaluate first, deepest dependency first, when some chain of them is longer than SHALLOW; none
 * otherwise (short chains are evaluated on demand in source order, as always). Iterative: any chain length is fine.
 */
export function deepChainsFirst(symbols: ReadonlyMap<string, Sym>, equationOf: (s: Sym) => { value: A.Expr } | undefined): Sym[] {
  const deps = new Map<string, Sym[]>();
  for (const sym of symbols.values()) {
    const eq = equationOf(sym);
    if (!eq) continue;
    const names: string[] = [];
    namesRead(eq.value, names);
    deps.set(sym.name, names.map((n) => symbols.get(n)).filter((s): s is Sym => !!s && !!equationOf(s)));
  }
  const order: Sym[] = [];
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  let deepest = 0;
  for (const root of symbols.values()) {
    if (!deps.has(root.name) || depth.has(root.name)) continue;
    const stack: { sym: Sym; next: number }[] = [{ sym: root, next: 0 }];
    visiting.add(root.name);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const ds = deps.get(top.sym.name)!;
      if (top.next < ds.length) {
        const d = ds[top.next++]!;
        if (depth.has(d.name) || visiting.has(d.name)) continue; // done, or a cycle (reported when evaluated)
        visiting.add(d.name);
        stack.push({ sym: d, next: 0 });
        continue;
      }
      stack.pop();
      visiting.delete(top.sym.name);
      const own = 1 + Math.max(0, ...ds.map((d) => depth.get(d.name) ?? 0));
      depth.set(top.sym.name, own);
      deepest = Math.max(deepest, own);
      order.push(top.sym);
    }
  }
  return deepest > SHALLOW ? order : [];
}
