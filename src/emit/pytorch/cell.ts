// One layer's cell as a PyTorch module: its params, its states' starting values and one step over a batch, from the cell's IR.
import { RnncError } from "../../diagnostics/errors.js";
import { evalDim } from "../../ir/dims.js";
import { reachable } from "../../ir/graph.js";
import type { CellIR, LayerInfo, Node } from "../../ir/ir.js";
import { Op } from "../../ir/ops.js";
import { lengthSymbols, maskedOver } from "../../ir/whole-inputs.js";
import { optimize } from "../../passes/pipeline.js";
import type { DimEnv } from "../../runtime/dims.js";
import { lowerOp, type Operand } from "./lowering.js";
import { nativeCell, nativeScan, type NativeCell } from "./native.js";
import { Names, pyComment, pyFloat, pyIdent, pyInt, pyString, shapeList } from "./python.js";
import { splitCell, type SplitCell } from "./split.js";

/** A cell compiled to a class: what the model's code needs to call it. */
export interface PyCell {
  readonly className: string;
  readonly source: string;
  /** The cell's IR as compiled (optimized). */
  readonly cell: CellIR;
  /** Per state (in order): how many past values the step reads (its deepest lag, at least 1). */
  readonly lags: readonly number[];
  /** The length symbols of the sequences it reads whole, in the step's argument order (each a value and a mask). */
  readonly wholeSymbols: readonly string[];
  /** Set when the layer runs on torch's own recurrent module: its `scan(x, lengths, states…, reverse)` runs whole sequences. */
  readonly native?: NativeCell;
  /**
   * Set when a stdlib layer inlined into the cell is its one recurrence: `scan(xs…, lengths, states…, reverse)` runs
   * that layer on torch's module over the whole sequence and the rest of the cell once over every step.
   */
  readonly split?: SplitCell;
  /**
   * Whether the cell drops out values (`dropout(x, p)` in it): its `dropout_masks(B)` draws one mask per sequence for
   * each, which `step(…, masks)` multiplies in every step (rnnc's training: a unit dropped stays dropped for the whole
   * sequence); `step(…, [])` drops nothing (inference).
   */
  readonly drops: boolean;
}

const cannot = (l: LayerInfo, why: string): RnncError =>
  new RnncError("RNN0801", `cannot compile layer \`${l.name}\` (cell ${l.ir.name}) to PyTorch: ${why}`, [], "run it with rnnc run, or compile it to js, tfjs or onnx instead");

/**
 * The class: `__init__` makes the params (zeros until weights are loaded), `init_states(B)` gives each state's
 * starting value for a batch, and `step(inputs…, states by lag…, wholes and their masks…)` gives the cell's first output
 * and each state's new value.
 */
export function emitCell(className: string, l: LayerInfo, env: DimEnv): PyCell {
  // Dropout is kept (not the pass that makes it the identity): the step multiplies in masks when it is given them.
  const cell = optimize(l.ir, new Set(["dropout-off"]));
  const shapeOf = (n: { shape: Node["shape"] }): number[] => n.shape.map((d) => evalDim(d, env)!);
  const native = nativeCell(l, env);
  // Each dropout site (a value and a rate: the gates reading one input share its mask), in the order of the masks.
  const sites = new Map<string, { k: number; rate: number; shape: number[] }>();
  // (Zoneout's dropout draws anew at every step, `perStep`: F.dropout in the step, active in model.train().)
  for (const n of cell.nodes) if (n.op === Op.Dropout && (n.attrs.rate ?? 0) > 0 && !n.attrs.perStep) {
    const key = `${n.args[0]}:${n.attrs.rate}`;
    if (!sites.has(key)) sites.set(key, { k: sites.size, rate: n.attrs.rate!, shape: shapeOf(n) });
  }
  // (A cell that drops out values runs step by step: its masks are drawn for the step's nodes.)
  const split = native || sites.size ? undefined : splitCell(l.ir, env);
  const module = native ?? split?.native;
  const inSplit = (name: string) => split !== undefined && name.startsWith(`${split.prefix}.`) && split.native.views.has(name.slice(split.prefix.length + 1));
  const attrs = new Names(["training", "rnn"]);
  const params = cell.params.map((p) => ({ name: p.name, attr: attrs.fresh(`p_${pyIdent(p.name)}`), shape: shapeOf(p) }));
  // Each param as the code reads it: an attribute of its own, or a view of the torch module's (native, or the inlined layer's).
  const attrOf = new Map(cell.params.map((p, k) => [p.name, native ? native.views.get(p.name)! : inSplit(p.name) ? split!.native.views.get(p.name.slice(split!.prefix.length + 1))! : `self.${params[k]!.attr}`]));
  const lags = cell.states.map((s) => Math.max(1, s.maxLag));
  const symbolSet = lengthSymbols(cell);
  const symbols = [...symbolSet];

  /** Python lines computing `nodes` (in order) into fresh locals, leaves from `leaf`; each node's operand. */
  function body(names: Names, nodes: readonly Node[], leaf: (n: Node) => Operand | undefined, batch: () => string, graph: readonly Node[] = cell.nodes): { lines: string[]; v: Operand[] } {
    const v: Operand[] = [];
    const lines: string[] = [];
    for (const n of nodes) {
      const given = leaf(n);
      if (given) { v[n.id] = given; continue; }
      if (n.op === Op.Const) { v[n.id] = { name: `torch.tensor(${pyFloat(n.attrs.value!)})`, lead: 0, rank: 0, constant: n.attrs.value! }; continue; }
      if (n.op === Op.Param) { v[n.id] = { name: attrOf.get(n.attrs.name!)!, lead: 0, rank: n.shape.length }; continue; }
      const site = n.op === Op.Dropout ? sites.get(`${n.args[0]}:${n.attrs.rate}`) : undefined;
      if (site) {
        // the sequence's mask for this site, [B, …], where masks are given (training); the value itself otherwise
        const x = v[n.args[0]!]!, name = names.fresh(`v${n.id}`);
        const plain = x.lead === 0 ? `${x.name}.expand(${shapeList([batch()], site.shape)})` : x.name;
        lines.push(`${name} = ${x.name} * masks[${pyInt(site.k)}] if len(masks) > ${pyInt(site.k)} else ${plain}`);
        v[n.id] = { name, lead: Math.max(1, x.lead), rank: n.shape.length };
        continue;
      }
      if (n.op === Op.Input || n.op === Op.StateRead) throw new Error(`internal: leaf ${n.op} ${n.attrs.name} not given`);
      const args = n.args.map((a) => v[a]!);
      const lead = Math.max(0, ...args.map((a) => a.lead));
      const over = maskedOver(n, graph, symbolSet);
      const expr = over !== undefined
        ? `_masked_${n.op}(${args[0]!.name}, ${maskArg.get(over)!})`
        : lowerOp({ n, args, env, lead, batch, cannot: (why) => cannot(l, `\`${n.op}\`: ${why}`) });
      const name = names.fresh(`v${n.id}`);
      lines.push(`${name} = ${expr}`);
      v[n.id] = { name, lead, rank: n.shape.length };
    }
    return { lines, v };
  }
  const stepped = cell.inputs.filter((i) => i.memory === undefined);
  const wholes = cell.inputs.filter((i) => i.memory !== undefined);
  const argNames = new Names(["masks"]);
  const inputArg = new Map(cell.inputs.map((i) => [i.name, argNames.fresh(`x_${pyIdent(i.name)}`)]));
  const stateArg = cell.states.map((s, k) => Array.from({ length: lags[k]! }, (_, j) => argNames.fresh(`s_${pyIdent(s.name)}_${j + 1}`)));
  const maskArg = new Map(symbols.map((s) => [s, argNames.fresh(`mask_${pyIdent(s)}`)]));
  if (stepped.length === 0) throw cannot(l, "a cell with no input read step by step");
  const first = cell.outputs[0];
  if (!first) throw cannot(l, "a cell with no output");
  const roots = [first.node, ...cell.states.map((s) => s.update)];
  const live = reachable(cell.nodes, roots);
  const step = body(argNames, live, (n) => {
    if (n.op === Op.Input) {
      const inp = cell.inputs.find((i) => i.name === n.attrs.name)!;
      return { name: inputArg.get(inp.name)!, lead: 1, rank: n.shape.length };
    }
    if (n.op === Op.StateRead) {
      const k = cell.states.findIndex((s) => s.name === n.attrs.name);
      return { name: stateArg[k]![(n.attrs.lag ?? 1) - 1]!, lead: 1, rank: n.shape.length };
    }
    return undefined;
  }, () => "B");
  /** A value as B rows of its shape: a constant filled, a shared value repeated, a batched one as it is. */
  const rows = (o: Operand, shape: readonly number[], batch = "B") =>
    o.constant !== undefined ? `torch.full(${shapeList([batch], shape)}, ${pyFloat(o.constant)})` : o.lead === 0 ? `(${o.name} + torch.zeros(${shapeList([batch], shape)}))` : o.name;
  const out = (id: number) => rows(step.v[id]!, shapeOf(cell.nodes[id]!));
  const inits = body(new Names(), reachable(cell.nodes, cell.states.map((s) => s.init)), () => undefined, () => "B");
  const initOf = (k: number) => rows(inits.v[cell.states[k]!.init]!, shapeOf(cell.states[k]!));
  const sig = [
    ...stepped.map((i) => `${inputArg.get(i.name)!}: Tensor`),
    ...stateArg.flat().map((a) => `${a}: Tensor`),
    ...wholes.map((i) => `${inputArg.get(i.name)!}: Tensor`),
    ...symbols.map((s) => `${maskArg.get(s)!}: Tensor`),
    "masks: List[Tensor]",
  ];
  const ind = (lines: readonly string[], n: number) => lines.map((x) => " ".repeat(n) + x);
  const source = [
    `class ${className}(nn.Module):`,
    `    # layer ${pyComment(l.name)}: cell ${pyComment(cell.name)}${native ? ` on torch's ${native.module.replace(/\(.*/, "")}` : ""}`,
    ``,
    `    def __init__(self) -> None:`,
    `        super().__init__()`,
    ...(module
      ? [`        self.rnn = ${module.module}${split ? `  # layer ${pyComment(split.prefix)} inlined in the cell` : ""}`, ...(module.frozenHiddenBias ? [
        `        # rnnc's cell has one bias per gate: torch's second one stays zero, untrained`,
        `        with torch.no_grad():`,
        `            self.rnn.bias_hh_l0.zero_()`,
        `        self.rnn.bias_hh_l0.requires_grad_(False)`] : [])]
      : []),
    ...(native ? [] : params.filter((p) => !inSplit(p.name)).map((p) => `        self.${p.attr} = nn.Parameter(torch.zeros(${shapeList([], p.shape)}))`)),
    ``,
    `    def rnnc_params(self) -> Dict[str, Tensor]:`,
    `        """The params by their rnnc names (views of torch's own where it runs the layer)."""`,
    `        return {${cell.params.map((p) => `${pyString(p.name)}: ${attrOf.get(p.name)!}`).join(", ")}}`,
    ``,
    `    def init_states(self, B: int) -> List[Tensor]:`,
    ...ind(inits.lines, 8),
    `        return [${cell.states.map((_, k) => initOf(k)).join(", ")}]`,
    ``,
    ...(sites.size ? [
      `    def dropout_masks(self, B: int) -> List[Tensor]:`,
      `        """One mask per sequence for each dropout site: 0 with its rate, else 1 / (1 - rate)."""`,
      `        return [${[...sites.values()].map((s) => `torch.bernoulli(torch.full(${shapeList(["B"], s.shape)}, ${pyFloat(1 - s.rate)})) * ${pyFloat(1 / (1 - s.rate))}`).join(", ")}]`,
      ``] : []),
    `    def step(self, ${sig.join(", ")}) -> List[Tensor]:`,
    `        B = ${inputArg.get(stepped[0]!.name)!}.shape[0]`,
    ...ind(step.lines, 8),
    `        return [${roots.map(out).join(", ")}]`,
    ...(native ? ["", nativeScan(native)] : []),
    ...(split ? ["", nativeScan(split.native, "_layer_scan"), "", ...splitScan(split)] : []),
  ].join("\n");
  return { className, source, cell, lags, wholeSymbols: symbols, drops: sites.size > 0, ...(native ? { native } : {}), ...(split ? { split } : {}) };

  /** The split cell's scan: what comes before the layer over every step at once, the layer on torch's module, what comes after. */
  function splitScan(s: SplitCell): string[] {
    const names = new Names(["B", "T", "BT", "lengths", "h0", "c0", "reverse", "finals", "r", "u", "out", "on", ...inputArg.values(), ...maskArg.values()]);
    const xs = stepped.map((i) => names.fresh(`x_${pyIdent(i.name)}`));
    const flat = stepped.map((i) => names.fresh(`f_${pyIdent(i.name)}`));
    // Each sequence read whole, and its mask, as every step reads it: repeated over the T steps of each row, [BT, …].
    const wholeArgs = [...wholes.map((i) => names.fresh(`w_${pyIdent(i.name)}`)), ...symbols.map((sym) => names.fresh(`m_${pyIdent(sym)}`))];
    const wholeLocals = [...wholes.map((i) => inputArg.get(i.name)!), ...symbols.map((sym) => maskArg.get(sym)!)];
    const leafOf = (extra: (n: Node) => Operand | undefined) => (n: Node): Operand | undefined => {
      if (n.op === Op.Input) {
        const k = stepped.findIndex((i) => i.name === n.attrs.name);
        return { name: k >= 0 ? flat[k]! : inputArg.get(n.attrs.name!)!, lead: 1, rank: n.shape.length };
      }
      return extra(n);
    };
    const pre = body(names, s.pre, leafOf(() => undefined), () => "BT", l.ir.nodes);
    const H = shapeOf(l.ir.nodes[s.h]!)[0]!;
    const y = names.fresh("y_rows");
    // What comes after the layer and reads only sequences read whole (attention's keys projected): once per sequence, [B, …].
    const isWhole = (n: Node) => n.op === Op.Input && wholes.some((i) => i.name === n.attrs.name);
    const perSeq = new Set<number>(), shared = new Set<number>();
    for (const n of s.post) {
      if (n.id === s.h || (n.op === Op.Input && !isWhole(n))) continue;
      if (n.op === Op.Param || n.op === Op.Const || (n.args.length > 0 && n.args.every((a) => shared.has(a)))) shared.add(n.id);
      else if (isWhole(n) || (maskedOver(n, l.ir.nodes, symbolSet) === undefined && n.args.every((a) => perSeq.has(a) || shared.has(a)))) perSeq.add(n.id);
    }
    // (with the values computed from params alone, which both parts may read)
    const sharedComputed = (n: Node) => shared.has(n.id) && n.op !== Op.Param && n.op !== Op.Const;
    const once = body(names, s.post.filter((n) => perSeq.has(n.id) || shared.has(n.id)), (n) => (isWhole(n) ? { name: wholeArgs[wholes.findIndex((i) => i.name === n.attrs.name)]!, lead: 1, rank: n.shape.length } : undefined), () => "B", l.ir.nodes);
    const repeated = new Map<number, Operand>();
    const repeat: string[] = [];
    for (const n of s.post) if (perSeq.has(n.id) && !isWhole(n) && s.post.some((m) => !perSeq.has(m.id) && !shared.has(m.id) && m.args.includes(n.id))) {
      const v = once.v[n.id]!, name = names.fresh(`e${n.id}`);
      repeat.push(`${name} = ${v.name}.unsqueeze(1).expand([B, T] + list(${v.name}.shape[1:])).reshape([BT] + list(${v.name}.shape[1:]))`);
      repeated.set(n.id, { name, lead: 1, rank: v.rank });
    }
    // (each sequence read whole, or its mask, repeated for every step only where a step reads it)
    const stepNodes = s.post.filter((n) => !perSeq.has(n.id) && !shared.has(n.id));
    const readPerStep = new Set([
      ...wholes.filter((i) => stepNodes.some((m) => m.args.some((a) => isWhole(l.ir.nodes[a]!) && l.ir.nodes[a]!.attrs.name === i.name))).map((i) => inputArg.get(i.name)!),
      ...symbols.filter((sym) => stepNodes.some((m) => maskedOver(m, l.ir.nodes, symbolSet) === sym)).map((sym) => maskArg.get(sym)!),
    ]);
    const post = body(names, s.post.filter((n) => !perSeq.has(n.id) || isWhole(n) || repeated.has(n.id)),
      leafOf((n) => (n.id === s.h ? { name: y, lead: 1, rank: 1 } : repeated.get(n.id) ?? (sharedComputed(n) ? once.v[n.id] : undefined))), () => "BT", l.ir.nodes);
    const outNode = l.ir.nodes[l.ir.outputs[0]!.node]!;
    const outShape = shapeOf(outNode);
    const states = s.native.lstm ? ["h0", "c0"] : ["h0"];
    return [
      `    def scan(self, ${[...xs, ...wholeArgs, "lengths", ...states].map((x) => `${x}: Tensor`).join(", ")}, reverse: bool, finals: bool = True) -> List[Tensor]:`,
      `        B = ${xs[0]!}.shape[0]`,
      `        T = ${xs[0]!}.shape[1]`,
      `        BT = B * T`,
      ...xs.map((x, k) => `        ${flat[k]!} = ${x}.reshape([BT] + list(${x}.shape[2:]))`),
      ...wholeArgs.flatMap((w, k) => (readPerStep.has(wholeLocals[k]!) ? [`        ${wholeLocals[k]!} = ${w}.unsqueeze(1).expand([B, T] + list(${w}.shape[1:])).reshape([BT] + list(${w}.shape[1:]))`] : [])),
      ...(once.lines.length ? [`        # what reads no step (params alone; the sequences read whole: once per sequence, repeated for each step)`, ...ind([...once.lines, ...repeat], 8)] : []),
      `        # before layer ${pyComment(s.prefix)}: every step at once`,
      ...ind(pre.lines, 8),
      `        u = ${rows(pre.v[s.input]!, [s.I], "BT")}.reshape([B, T, ${pyInt(s.I)}])`,
      `        r = self._layer_scan(u, lengths, ${states.join(", ")}, reverse, finals)`,
      `        ${y} = r[0].reshape([BT, ${pyInt(H)}])`,
      `        # after it: every step at once, zero past each row's length`,
      ...ind(post.lines, 8),
      `        out = ${rows(post.v[outNode.id] ?? { name: y, lead: 1, rank: 1 }, outShape, "BT")}.reshape(${shapeList(["B", "T"], outShape)})`,
      `        on = _steps_mask(lengths, T)`,
      `        out = torch.where(on.view(${shapeList(["B", "T"], outShape.map(() => 1))}), out, torch.zeros_like(out))`,
      `        return [out, ${s.native.lstm ? "r[1], r[2]" : "r[1]"}]`,
    ];
  }
}

/** The helpers the cells and models call (masked reductions over a sequence read whole, masks from lengths). */
export const PRELUDE = `
def _steps_mask(lengths: Tensor, T: int) -> Tensor:
    """[batch, T] bool: True at each example's own steps."""
    return torch.arange(T, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def _keep(on: Tensor, new: Tensor, old: Tensor) -> Tensor:
    """new where on[b] (a [batch] bool), old elsewhere."""
    return torch.where(on.view([-1] + [1] * (new.dim() - 1)), new, old)


def _mask_like(x: Tensor, mask: Tensor) -> Tensor:
    """mask [batch, S] (float) with axes added so it lines up with x [batch, …, S]."""
    return mask.view([mask.shape[0]] + [1] * (x.dim() - 2) + [mask.shape[1]])


def _masked_softmax(x: Tensor, mask: Tensor) -> Tensor:
    m = _mask_like(x, mask)
    return torch.softmax(x.masked_fill(m == 0, -1e30), -1) * m


def _masked_log_softmax(x: Tensor, mask: Tensor) -> Tensor:
    m = _mask_like(x, mask)
    return torch.log_softmax(x.masked_fill(m == 0, -1e30), -1)


def _masked_sum(x: Tensor, mask: Tensor) -> Tensor:
    return (x * _mask_like(x, mask)).sum(-1)


def _masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    m = _mask_like(x, mask)
    return (x * m).sum(-1) / m.sum(-1)


def _reverse_within(x: Tensor, lengths: Tensor) -> Tensor:
    """Each row's first lengths[b] steps in reverse order (the padding after them left where it is)."""
    t = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    n = lengths.unsqueeze(1)
    index = torch.where(t < n, n - 1 - t, t)
    return x.gather(1, index.view(list(index.shape) + [1] * (x.dim() - 2)).expand(x.shape))


def _last(seq: Tensor, lengths: Tensor) -> Tensor:
    """Each example's element at its own last step."""
    return seq[torch.arange(seq.shape[0], device=seq.device), (lengths - 1).clamp(min=0)]
`;
