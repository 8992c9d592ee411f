// Model IR to and from JSON (Maps written as {"$map": [[k, v], …]}), for modules that carry their model with them.
import type { ModelIR } from "./ir.js";

const MAP = "$map";

export function modelToJson(ir: ModelIR): string {
  return JSON.stringify(ir, (_k, v: unknown) => (v instanceof Map ? { [MAP]: [...v] } : v));
}

export function modelFromJson(text: string): ModelIR {
  return JSON.parse(text, (_k, v: unknown) => {
    if (typeof v === "object" && v !== null && !Array.isArray(v) && MAP in v && Object.keys(v).length === 1) return new Map((v as Record<string, [unknown, unknown][]>)[MAP]);
    return v;
  }) as ModelIR;
}
