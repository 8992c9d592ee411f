// Symbolic dimensions: integer polynomials over dimension names, compared in a canonical form.

/** A dimension such as `H`, `2*H`, `I + H` or `64`: monomial key ("" for the constant, "H", "H*I") → coefficient. */
export type Dim = ReadonlyMap<string, number>;
/** A value's per-example shape; batch is implicit. */
export type Shape = readonly Dim[];

export function dimConst(n: number): Dim {
  return n === 0 ? new Map() : new Map([["", n]]);
}

export function dimVar(name: string): Dim {
  return new Map([[name, 1]]);
}

function normalize(m: Map<string, number>): Dim {
  for (const [k, v] of m) if (v === 0) m.delete(k);
  return m;
}

export function dimAdd(a: Dim, b: Dim, sign = 1): Dim {
  const m = new Map(a);
  for (const [k, v] of b) m.set(k, (m.get(k) ?? 0) + sign * v);
  return normalize(m);
}

export function dimMul(a: Dim, b: Dim): Dim {
  const m = new Map<string, number>();
  for (const [ka, va] of a)
    for (const [kb, vb] of b) {
      const key = [...ka.split("*"), ...kb.split("*")].filter(Boolean).sort().join("*");
      m.set(key, (m.get(key) ?? 0) + va * vb);
    }
  return normalize(m);
}

export function dimEquals(a: Dim, b: Dim): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

export function shapeEquals(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => dimEquals(d, b[i]!));
}

/** The constant value of a dimension with no names in it, else undefined. */
export function dimValue(d: Dim): number | undefined {
  if (d.size === 0) return 0;
  if (d.size === 1 && d.has("")) return d.get("")!;
  return undefined;
}

export function dimToString(d: Dim): string {
  if (d.size === 0) return "0";
  const terms = [...d.entries()].sort(([a], [b]) => (a === "" ? 1 : b === "" ? -1 : a.localeCompare(b)));
  let out = "";
  terms.forEach(([k, v], i) => {
    const neg = v < 0;
    const abs = Math.abs(v);
    const body = k === "" ? String(abs) : abs === 1 ? k : `${abs}*${k}`;
    out += i === 0 ? (neg ? `-${body}` : body) : neg ? ` - ${body}` : ` + ${body}`;
  });
  return out;
}

export function shapeToString(s: Shape): string {
  return `[${s.map(dimToString).join(", ")}]`;
}

/** Substitutes numbers for names; returns undefined if a name has no value. */
export function evalDim(d: Dim, env: ReadonlyMap<string, number>): number | undefined {
  let total = 0;
  for (const [k, v] of d) {
    let term = v;
    for (const name of k.split("*").filter(Boolean)) {
      const x = env.get(name);
      if (x === undefined) return undefined;
      term *= x;
    }
    total += term;
  }
  return total;
}

export function dimNames(d: Dim): string[] {
  return [...new Set([...d.keys()].flatMap((k) => k.split("*").filter(Boolean)))];
}

/** Replaces names by dimensions (a layer's dims by the dims it was instantiated with); undefined if a name has no value. */
export function substDim(d: Dim, subst: ReadonlyMap<string, Dim | undefined>): Dim | undefined {
  let total: Dim = dimConst(0);
  for (const [k, v] of d) {
    let term: Dim = dimConst(v);
    for (const name of k.split("*").filter(Boolean)) {
      const x = subst.has(name) ? subst.get(name) : dimVar(name);
      if (x === undefined) return undefined;
      term = dimMul(term, x);
    }
    total = dimAdd(total, term);
  }
  return total;
}

/** The name when the dimension is exactly one name (coefficient 1), else undefined. */
export function dimAsName(d: Dim): string | undefined {
  if (d.size !== 1) return undefined;
  const [[k, v]] = [...d];
  return v === 1 && k !== "" && !k.includes("*") ? k : undefined;
}
