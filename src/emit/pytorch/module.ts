// `rnnc compile --target pytorch`: a model as one Python file needing only torch: a module per layer's cell, the model's
// walk (the one model driver) as its forward, the weights embedded, and load/save of rnnc weights files.
import { RnncError } from "../../diagnostics/errors.js";
import { evalDim } from "../../ir/dims.js";
import type { LayerInfo, ModelIR, Node } from "../../ir/ir.js";
import { driveModel, type ModelBackend, type Scanned, type StatesOf } from "../../ir/model-driver.js";
import { Op } from "../../ir/ops.js";
import { layerEnv, type DimEnv } from "../../runtime/dims.js";
import type { Tensor } from "../../runtime/tensor.js";
import { modelParamSpecs } from "../../weights/weights.js";
import { emitBeam } from "./beam.js";
import { LOSSES_PY } from "./losses-py.js";
import { emitCell, PRELUDE, type PyCell } from "./cell.js";
import { lowerOp, type Operand } from "./lowering.js";
import { Names, pyComment, pyFloat, pyIdent, pyInt, pyString, shapeList } from "./python.js";
import { WEIGHTS_PY } from "./weights-py.js";

/** A value of the model's walk: one [batch, …], a sequence [batch, time, …] with its lengths, or a constant. */
type Value = { kind: "one"; name: string } | { kind: "seq"; name: string; lengths: string } | { kind: "const"; value: number };

const cannot = (what: string, why: string): RnncError =>
  new RnncError("RNN0801", `cannot compile ${what} to PyTorch: ${why}`, ["compiled today: scan and map of any cell (with init, reverse and lengths), apply, last, final and its fields, generate (greedy, sampled, beam search)"], "run it with rnnc run, or compile it to js, tfjs or onnx instead");

/** Little-endian float32 bytes in base64. */
function base64(t: Tensor): string {
  const bytes = new Uint8Array(t.data.length * 4);
  const view = new DataView(bytes.buffer);
  t.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return Buffer.from(bytes).toString("base64");
}

export interface PytorchModule { readonly source: string; readonly inputs: readonly string[]; readonly outputs: readonly string[] }

/** `only`: the outputs forward computes and returns (all, by default); the trainer asks for the one it trains. */
export function emitPytorch(ir: ModelIR, env: DimEnv, weights: ReadonlyMap<string, Tensor>, source: string, version: string, only?: readonly string[]): PytorchModule {
  const returned = ir.outputs.filter((o) => !only || only.includes(o.name));
  const layers = new Map(ir.layers.map((l) => [l.name, l]));
  const attrs = new Names(["training", "forward", "LAYERS"]);
  const cells = new Map<string, { cell: PyCell; attr: string }>();
  ir.layers.forEach((l, k) => cells.set(l.name, { cell: emitCell(`Cell${k}_${pyIdent(l.ir.name, "c_")}`, l, layerEnv(l, env)), attr: attrs.fresh(`l_${pyIdent(l.name)}`) }));
  const layerOf = (n: Node): LayerInfo => layers.get(n.attrs.layer!)!;
  const cellOf = (n: Node) => cells.get(n.attrs.layer!)!;
  /** A shape in a layer's cell, in that layer's dims. */
  const cellShape = (l: LayerInfo, s: Node["shape"]) => { const e = layerEnv(l, env); return s.map((d) => evalDim(d, e)!); };

  const names = new Names();
  const lines: string[] = [];
  const emit = (indent: number, line: string) => lines.push(" ".repeat(8 + indent) + line);
  // forward's arguments: every input in the spec's order, then the lengths of the sequences among them, in order.
  const inputs = ir.inputs.map((i) => i.name);
  const inputArgs = new Map(ir.inputs.map((i) => [i.name, { name: names.fresh(`in_${pyIdent(i.name)}`), lengths: i.seq ? names.fresh(`in_${pyIdent(i.name)}_lengths`) : undefined }]));
  const args = [...inputArgs.values()].map((a) => `${a.name}: Tensor`);
  const lengthArgs = [...inputArgs.values()].flatMap((a) => (a.lengths ? [`${a.lengths}: Optional[Tensor] = None`] : []));
  for (const a of inputArgs.values())
    if (a.lengths) lines.push(`        if ${a.lengths} is None:`, `            ${a.lengths} = torch.full([${a.name}.shape[0]], ${a.name}.shape[1], dtype=torch.int64)`);
  const one = (x: Value): string => {
    if (x.kind === "seq") throw new Error("internal: a sequence where a single value was expected");
    return x.kind === "one" ? x.name : `torch.tensor(${pyFloat(x.value)})`;
  };
  const seq = (x: Value) => { if (x.kind !== "seq") throw new Error("internal: not a sequence"); return x; };
  const operand = (x: Value, rank: number): Operand => x.kind === "const" ? { name: `torch.tensor(${pyFloat(x.value)})`, lead: 0, rank: 0, constant: x.value } : { name: x.name, lead: x.kind === "seq" ? 2 : 1, rank };
  const local = (hint: string, expr: string, indent = 0): string => { const v = names.fresh(hint); emit(indent, `${v} = ${expr}`); return v; };

  /** Each sequence a layer reads whole, zero past its lengths, and its float mask [batch, S], by length symbol order. */
  const wholeArgs = (l: LayerInfo, c: PyCell, xs: readonly (Value | undefined)[]): string[] => {
    const values: string[] = [], masks = new Map<string, string>();
    l.ir.inputs.forEach((inp, k) => {
      if (inp.memory === undefined) return;
      const s = seq(xs[k]!);
      const m = local(`mask_${inp.name}`, `_steps_mask(${s.lengths}, ${s.name}.shape[1]).to(torch.float32)`);
      values.push(local(`whole_${inp.name}`, `${s.name} * ${m}.view([${m}.shape[0], ${m}.shape[1]] + [1] * (${s.name}.dim() - 2))`));
      masks.set(inp.memory, m);
    });
    return [...values, ...c.wholeSymbols.map((sym) => masks.get(sym)!)];
  };
  const startStates = (c: PyCell, attr: string, init: StatesOf<Value> | undefined, batch: string): string[][] => {
    const given = init ? [...init.values()].map(one) : undefined;
    const fresh = given ? undefined : local(`init_${attr}`, `self.${attr}.init_states(${batch})`);
    return c.cell.states.map((s, k) => Array.from({ length: c.lags[k]! }, (_, j) => local(`${attr}_${s.name}_${j + 1}`, given ? given[k]! : `${fresh}[${k}]`)));
  };
  /** Every state's starting value from a fresh `init_states` result, once per lag the step reads. */
  const freshStates = (c: PyCell, init: string): string[] => c.cell.states.flatMap((_, k) => Array<string>(c.lags[k]!).fill(`${init}[${k}]`));
  const recordOf = (c: PyCell, states: string[][]): StatesOf<Value> => new Map(c.cell.states.map((s, k) => [s.name, { kind: "one", name: states[k]![0]! }]));
  /** Shifts each state's lags and takes its new value, in the rows where `on` (a [batch] bool) holds. */
  const advance = (states: string[][], r: string, on: string, indent: number) => {
    states.forEach((lags, k) => {
      for (let j = lags.length - 1; j >= 1; j--) emit(indent, `${lags[j]!} = _keep(${on}, ${lags[j - 1]!}, ${lags[j]!})`);
      emit(indent, `${lags[0]!} = _keep(${on}, ${r}[${k + 1}], ${lags[0]!})`);
    });
  };

  /** The masks a step multiplies in: drawn once per sequence in training (`model.train()`) where the cell drops out values, else none. */
  const masksOf = (c: PyCell, attr: string, batch: string): string => (c.drops ? local(`drop_${attr}`, `self.${attr}.dropout_masks(${batch}) if self.training else []`) : "[]");
  /** Whether anything reads the scan's final states (`final(…)`): if not, torch's module need not pack padded rows. */
  const finalsRead = (n: Node) => ir.nodes.some((m) => m.op === Op.Final && m.args[0] === n.id);
  const scan = (n: Node, xs: readonly Value[], init: StatesOf<Value> | undefined): Scanned<Value> => {
    const l = layerOf(n), { cell: c, attr } = cellOf(n);
    const stepped = xs.filter((_, k) => l.ir.inputs[k]!.memory === undefined).map(seq);
    const first = stepped[0]!;
    const wholes = wholeArgs(l, c, xs);
    const outShape = cellShape(l, c.cell.nodes[c.cell.outputs[0]!.node]!.shape);
    emit(0, `# ${n.attrs.reverse ? "reverse " : ""}scan of layer ${pyComment(l.name)}`);
    const B = local("B", `${first.name}.shape[0]`);
    if (c.native && stepped.length === (c.native.maskedInput ? 2 : 1) && wholes.length === 0) {
      // torch's own recurrent module over the whole sequence (states of lag 1 only: the stdlib's cells), its input
      // dropped out first where it trains with a mask (the product the cell's training form starts with)
      const states = startStates(c, attr, init, B);
      const x = c.native.maskedInput ? local("dropped", `${first.name} * ${stepped[1]!.name}`) : first.name;
      const r = local("r", `self.${attr}.scan(${x}, ${first.lengths}, ${states.map((s) => s[0]!).join(", ")}, ${n.attrs.reverse ? "True" : "False"}, ${finalsRead(n) ? "True" : "False"})`);
      const finals = c.cell.states.map((s, k) => [local(`${attr}_${s.name}`, `${r}[${k + 1}]`)]);
      return { seq: { kind: "seq", name: local("y", `${r}[0]`), lengths: first.lengths }, finals: recordOf(c, finals) };
    }
    if (c.split) {
      // the stdlib layer inlined in the cell on torch's own module, the rest of the cell over every step at once
      const states = startStates(c, attr, init, B);
      const r = local("r", `self.${attr}.scan(${[...stepped.map((x) => x.name), ...wholes, first.lengths, ...states.map((s) => s[0]!), n.attrs.reverse ? "True" : "False", finalsRead(n) ? "True" : "False"].join(", ")})`);
      const finals = c.cell.states.map((s, k) => [local(`${attr}_${s.name}`, `${r}[${k + 1}]`)]);
      return { seq: { kind: "seq", name: local("y", `${r}[0]`), lengths: first.lengths }, finals: recordOf(c, finals) };
    }
    const T = local("T", `${first.name}.shape[1]`);
    const on = local("on", `_steps_mask(${first.lengths}, ${T})`);
    const states = startStates(c, attr, init, B);
    const masks = masksOf(c, attr, B);
    const ys = names.fresh("ys");
    emit(0, `${ys}: List[Tensor] = []`);
    const t = names.fresh("t");
    emit(0, `for ${t} in ${n.attrs.reverse ? `range(${T} - 1, -1, -1)` : `range(${T})`}:`);
    const r = names.fresh("r"), m = names.fresh("m");
    emit(4, `${r} = self.${attr}.step(${[...stepped.map((x) => `${x.name}[:, ${t}]`), ...states.flat(), ...wholes, masks].join(", ")})`);
    emit(4, `${m} = ${on}[:, ${t}]`);
    advance(states, r, m, 4);
    emit(4, `${ys}.append(_keep(${m}, ${r}[0], torch.zeros_like(${r}[0])))`);
    if (n.attrs.reverse) emit(0, `${ys}.reverse()`);
    const y = local("y", `torch.stack(${ys}, 1) if len(${ys}) > 0 else torch.zeros(${shapeList([B, "0"], outShape)})`);
    return { seq: { kind: "seq", name: y, lengths: first.lengths }, finals: recordOf(c, states) };
  };

  const backend: ModelBackend<Value> = {
    input: (n) => {
      const given = inputArgs.get(n.attrs.name!)!;
      return given.lengths ? { kind: "seq", name: given.name, lengths: given.lengths } : { kind: "one", name: given.name };
    },
    constant: (n) => ({ kind: "const", value: n.attrs.value! }),
    pointwise: (n, xs) => {
      const ops = xs.map((x, k) => operand(x, ir.nodes[n.args[k]!]!.shape.length));
      const lead = Math.max(0, ...ops.map((o) => o.lead));
      const withLead = ops.find((o) => o.lead > 0);
      const expr = lowerOp({ n, args: ops, env, lead, batch: () => { if (!withLead) throw cannot(`\`${n.op}\` between layers`, "no value gives the batch size"); return `${withLead.name}.shape[0]`; }, cannot: (why) => cannot(`\`${n.op}\` between layers`, why) });
      const name = local(`v${n.id}`, expr);
      const s = xs.find((x) => x.kind === "seq");
      return s && s.kind === "seq" ? { kind: "seq", name, lengths: s.lengths } : { kind: "one", name };
    },
    [Op.Scan]: scan,
    [Op.Map]: (n, xs) => {
      const l = layerOf(n), { cell: c, attr } = cellOf(n);
      if (l.ir.inputs.some((i) => i.memory !== undefined)) return scan(n, xs, undefined).seq;
      // Every step at once: [batch·time, …] through one step from the starting states (a map starts afresh each step).
      const s = xs.map(seq), first = s[0]!;
      emit(0, `# map of layer ${pyComment(l.name)}`);
      const B = local("B", `${first.name}.shape[0]`), T = local("T", `${first.name}.shape[1]`);
      const flat = s.map((x) => local("flat", `${x.name}.reshape([${B} * ${T}] + list(${x.name}.shape[2:]))`));
      const init = local(`init_${attr}`, `self.${attr}.init_states(${B} * ${T})`);
      // (each row a step of its own: a map's masks are drawn anew at every step)
      const r = local("r", `self.${attr}.step(${[...flat, ...freshStates(c, init), masksOf(c, attr, `${B} * ${T}`)].join(", ")})`);
      const y = local("y", `${r}[0].reshape([${B}, ${T}] + list(${r}[0].shape[1:]))`);
      const on = local("on", `_steps_mask(${first.lengths}, ${T})`);
      const name = local("y", `torch.where(${on}.view([${B}, ${T}] + [1] * (${y}.dim() - 2)), ${y}, torch.zeros_like(${y}))`);
      return { kind: "seq", name, lengths: first.lengths };
    },
    [Op.Apply]: (n, xs) => {
      const l = layerOf(n), { cell: c, attr } = cellOf(n);
      if (l.ir.inputs.some((i) => i.memory !== undefined)) throw cannot(`apply of layer \`${l.name}\``, "a layer reading a sequence whole applied to single values");
      const singles = xs.map(one);
      const init = local(`init_${attr}`, `self.${attr}.init_states(${singles[0]!}.shape[0])`);
      const r = local("r", `self.${attr}.step(${[...singles, ...freshStates(c, init), masksOf(c, attr, `${singles[0]!}.shape[0]`)].join(", ")})`);
      return { kind: "one", name: local("y", `${r}[0]`) };
    },
    [Op.Generate]: (n, start, init, given) => {
      const l = layerOf(n), { cell: c, attr } = cellOf(n);
      const tokens = n.dtype === "int";
      const wholes = wholeArgs(l, c, [undefined, ...given]);
      const initNames = init ? [...init.values()].map(one) : [];
      const from = initNames[0] ?? (start ? one(start) : undefined) ?? (given[0] ? seq(given[0]).name : undefined);
      if (!from) throw cannot(`generate of layer \`${l.name}\``, "nothing gives the batch size (give it an init or a start value)");
      emit(0, `# generate with layer ${pyComment(l.name)}`);
      const B = local("B", `${from}.shape[0]`);
      const states = startStates(c, attr, init, B);
      if ((n.attrs.beam ?? 1) > 1) {
        const out = c.cell.nodes[c.cell.outputs[0]!.node]!;
        const r = emitBeam({ emit, fresh: (h) => names.fresh(h), step: `self.${attr}.step`, states: states.map((s) => s[0]!), wholes, masks: masksOf(c, attr, B), B, K: n.attrs.beam!, steps: n.attrs.steps!,
          start: n.attrs.startToken!, until: n.attrs.until ?? -1, lengthNorm: n.attrs.lengthNorm ?? 0, V: cellShape(l, out.shape)[0]!, probabilities: out.op === Op.Softmax });
        return { seq: { kind: "seq", name: r.y, lengths: r.lengths }, finals: new Map(c.cell.states.map((s, k) => [s.name, { kind: "one", name: r.finals[k]! }])) };
      }
      const masks = masksOf(c, attr, B);
      const x = local("x", tokens ? `torch.full([${B}], ${pyInt(n.attrs.startToken!)}, dtype=torch.int64)` : one(start!));
      const alive = local("alive", `torch.ones([${B}], dtype=torch.bool)`);
      const lengths = local("lengths", `torch.zeros([${B}], dtype=torch.int64)`);
      const ys = names.fresh("ys");
      emit(0, `${ys}: List[Tensor] = []`);
      const k = names.fresh("k"), r = names.fresh("r");
      emit(0, `for ${k} in range(${pyInt(n.attrs.steps!)}):`);
      emit(4, `${r} = self.${attr}.step(${[x, ...states.flat(), ...wholes, masks].join(", ")})`);
      advance(states, r, alive, 4);
      if (tokens) {
        const temperature = n.attrs.temperature ?? 0;
        const next = names.fresh("next");
        emit(4, temperature > 0
          ? `${next} = torch.multinomial(torch.softmax(${r}[0] / ${pyFloat(temperature)}, -1), 1).squeeze(1)`
          : `${next} = ${r}[0].argmax(-1)`);
        if ((n.attrs.until ?? -1) >= 0) emit(4, `${alive} = ${alive} & (${next} != ${pyInt(n.attrs.until!)})`);
        emit(4, `${ys}.append(torch.where(${alive}, ${next}, torch.zeros_like(${next})))`);
        emit(4, `${lengths} = ${lengths} + ${alive}.to(torch.int64)`);
        emit(4, `${x} = ${next}`);
        emit(4, `if not bool(${alive}.any()):`);
        emit(8, "break");
      } else {
        emit(4, `${ys}.append(${r}[0])`);
        emit(4, `${lengths} = ${lengths} + 1`);
        emit(4, `${x} = ${r}[0]`);
      }
      const outShape = tokens ? [] : cellShape(l, c.cell.nodes[c.cell.outputs[0]!.node]!.shape);
      const y = local("y", `torch.stack(${ys}, 1) if len(${ys}) > 0 else torch.zeros(${shapeList([B, "0"], outShape)}${tokens ? ", dtype=torch.int64" : ""})`);
      // Rows that ended early hold zeros past their lengths; a sequence as long as its longest row.
      const name = local("y", `${y}[:, : int(${lengths}.max())] if ${B} > 0 and ${y}.shape[1] > 0 else ${y}`);
      return { seq: { kind: "seq", name, lengths }, finals: recordOf(c, states) };
    },
    [Op.Last]: (_n, x) => {
      const s = seq(x);
      return { kind: "one", name: local("last", `_last(${s.name}, ${s.lengths})`) };
    },
  };
  const v = driveModel(ir, backend, only ? returned.map((o) => o.node) : undefined);
  const outputs: string[] = [];
  const results = returned.flatMap((o) => {
    const d = v[o.node]!;
    if (d.kind === "states") throw cannot(`output \`${o.name}\` (a record of states)`, "output each state as its own field, e.g. `final(s).h`");
    const x = d.v;
    outputs.push(o.name);
    if (x.kind === "seq") outputs.push(`${o.name}_lengths`);
    return x.kind === "seq" ? [`${pyString(o.name)}: ${x.name}`, `${pyString(`${o.name}_lengths`)}: ${x.lengths}`] : [`${pyString(o.name)}: ${one(x)}`];
  });
  const specs = modelParamSpecs(ir, env);
  const dims = [...env].sort(([a], [b]) => a.localeCompare(b)).map(([k, d]) => `${pyComment(k)}=${d}`).join(", ") || "none";
  const text = [
    `# Generated by rnnc ${pyComment(version)} from ${pyComment(source)}: model ${pyComment(ir.name)}, target pytorch, dims ${dims}.`,
    `# Do not edit: change the spec and compile again. Needs only torch; batch-first inputs, lengths for padded sequences.`,
    `from typing import Dict, List, Optional`,
    ``,
    `import torch`,
    `import torch.nn.functional as F`,
    `from torch import Tensor, nn`,
    PRELUDE,
    WEIGHTS_PY,
    LOSSES_PY,
    ...[...cells.values()].flatMap(({ cell }) => [cell.source, "", ""]),
    `class Model(nn.Module):`,
    `    # model ${pyComment(ir.name)}: inputs ${inputs.map(pyComment).join(", ")}; outputs ${outputs.map(pyComment).join(", ")}`,
    `    INPUTS = [${inputs.map(pyString).join(", ")}]`,
    `    # each input's element type and whether it is a sequence (batch-first [batch, time, …], with NAME_lengths)`,
    `    INPUT_KINDS = {${ir.inputs.map((i) => `${pyString(i.name)}: (${pyString(i.dtype === "int" ? "int64" : "float32")}, ${i.seq ? "True" : "False"})`).join(", ")}}`,
    `    OUTPUTS = [${outputs.map(pyString).join(", ")}]`,
    `    LAYERS = {${ir.layers.map((l) => `${pyString(l.name)}: ${pyString(cells.get(l.name)!.attr)}`).join(", ")}}`,
    ``,
    `    def __init__(self, embedded_weights: bool = True) -> None:`,
    `        super().__init__()`,
    ...ir.layers.map((l) => `        self.${cells.get(l.name)!.attr} = ${cells.get(l.name)!.cell.className}()`),
    `        if embedded_weights:`,
    `            load_rnnc_weights(self, _embedded_weights())`,
    ``,
    `    def forward(self${[...args, ...lengthArgs].map((a) => `, ${a}`).join("")}) -> Dict[str, Tensor]:`,
    ...lines,
    `        return {${results.join(", ")}}`,
    ``,
    ``,
    `_EMBEDDED = {`,
    ...specs.map((p) => `    ${pyString(p.name)}: (${JSON.stringify([...p.shape])}, ${pyString(base64(weights.get(p.name)!))}),`),
    `}`,
    ``,
    ``,
    `def _embedded_weights() -> Dict[str, Tensor]:`,
    `    return {name: _decode(shape, data) for name, (shape, data) in _EMBEDDED.items()}`,
    ``,
  ].join("\n");
  return { source: text, inputs, outputs };
}
