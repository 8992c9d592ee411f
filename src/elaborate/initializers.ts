// Checks a param's `~ initializer(args)` against the initializer table and evaluates its constant arguments.
import type * as A from "../ast/nodes.js";
import type { DiagnosticBag } from "../diagnostics/diagnostic.js";
import { closestNames } from "../diagnostics/suggest.js";
import type { Shape } from "../ir/dims.js";
import type { InitSpec } from "../ir/ir.js";
import { defaultInitializer, initializers } from "../ir/initializers.js";
import type { CellScope } from "./scope.js";

export function initializerOf(init: A.Initializer | undefined, shape: Shape, file: string, diags: DiagnosticBag, scope: CellScope): InitSpec | undefined {
  if (!init) return { name: defaultInitializer(shape.length), args: [] };
  const info = initializers.get(init.name.text);
  if (!info) {
    const near = closestNames(init.name.text, initializers.keys());
    diags.error("RNN0204", `unknown initializer \`${init.name.text}\``, {
      file, span: init.name.span, label: "no initializer has this name",
      notes: [`initializers: ${[...initializers.keys()].join(", ")}`],
      ...(near.length ? { help: { message: `did you mean \`${near[0]}\`?`, edit: { file, span: init.name.span, text: near[0]! } } } : {}),
    });
    return undefined;
  }
  if (!info.arities.includes(init.args.length)) {
    const want = info.arities.join(" or ");
    diags.error("RNN0303", `initializer \`${info.name}\` takes ${want} argument${want === "1" ? "" : "s"} but was given ${init.args.length}`, {
      file, span: init.span, label: `${init.args.length} given`, notes: [`${info.name}: ${info.doc}`],
    });
    return undefined;
  }
  const args: number[] = [];
  for (const a of init.args) {
    const v = constantOf(a, scope);
    if (v === undefined) {
      diags.error("RNN0208", "initializer arguments must be numbers", {
        file, span: a.span, label: "not a constant number",
        notes: ["an initializer runs before any data is seen, so its arguments are numbers or numeric cell options"],
      });
      return undefined;
    }
    args.push(v);
  }
  return { name: info.name, args };
}

function constantOf(e: A.Expr, scope: CellScope): number | undefined {
  switch (e.kind) {
    case "number": return e.value;
    case "paren": return constantOf(e.inner, scope);
    case "neg": {
      const v = constantOf(e.operand, scope);
      return v === undefined ? undefined : -v;
    }
    case "name": {
      const s = scope.symbols.get(e.name.text);
      return s?.kind === "option" && typeof s.value === "number" ? s.value : undefined;
    }
    case "binary": {
      const l = constantOf(e.left, scope);
      const r = constantOf(e.right, scope);
      if (l === undefined || r === undefined) return undefined;
      return e.op === "+" ? l + r : e.op === "-" ? l - r : e.op === "*" ? l * r : e.op === "/" ? l / r : undefined;
    }
    default: return undefined;
  }
}
