// PyTorch state dicts (nn.LSTM, nn.GRU, nn.RNN, nn.Linear, nn.Embedding) onto a spec's params: gates unstacked, the
// two biases summed where rnnc's cell has one, by a name map the user gives or by kind and shape where unambiguous.
import { RnncError } from "../diagnostics/errors.js";
import { alloc, type Tensor } from "../runtime/tensor.js";
import type { NamedTensor } from "./safetensors.js";
import type { ParamSpec } from "./weights.js";

/**
 * GRU0: a GRU whose reset gate applies before the recurrent product (one bias per gate; rnnc's GRUResetBefore).
 * LSTM2: an rnnc cell with PyTorch's two biases per gate (TorchLSTM), which takes an nn.LSTM's biases as they are.
 * LSTMP: an LSTM with peepholes (an ONNX LSTM with P; rnnc's PeepholeLSTM), its `peephole_l0` [3·H] in the order p_i, p_f, p_o.
 */
type Kind = "LSTM" | "LSTM2" | "LSTMP" | "GRU" | "GRU0" | "RNN" | "Linear" | "Embedding";
/** A PyTorch module (one layer and direction of a recurrent one) found in the state dict. */
interface Unit { readonly key: string; readonly kind: Kind; readonly tensors: ReadonlyMap<string, NamedTensor> }
/** An rnnc layer whose params form a stdlib cell. */
interface Target { readonly prefix: string; readonly kind: Kind; readonly specs: ReadonlyMap<string, ParamSpec> }

const rnncParams: Record<Kind, readonly string[]> = {
  LSTM: ["W_xi", "W_xf", "W_xg", "W_xo", "W_hi", "W_hf", "W_hg", "W_ho", "b_i", "b_f", "b_g", "b_o"],
  LSTM2: ["W_xi", "W_xf", "W_xg", "W_xo", "W_hi", "W_hf", "W_hg", "W_ho", "b_xi", "b_xf", "b_xg", "b_xo", "b_hi", "b_hf", "b_hg", "b_ho"],
  LSTMP: ["W_xi", "W_xf", "W_xg", "W_xo", "W_hi", "W_hf", "W_hg", "W_ho", "p_i", "p_f", "p_o", "b_i", "b_f", "b_g", "b_o"],
  GRU: ["W_xz", "W_xr", "W_xn", "W_hz", "W_hr", "W_hn", "b_xz", "b_xr", "b_xn", "b_hz", "b_hr", "b_hn"],
  GRU0: ["W_xz", "W_xr", "W_xn", "W_hz", "W_hr", "W_hn", "b_z", "b_r", "b_n"],
  RNN: ["W_xh", "W_hh", "b_h"],
  Linear: ["W", "b"],
  Embedding: ["table"],
};
/** PyTorch's stacked gate order: LSTM i, f, g, o; GRU r, z, n. */
const gates: Partial<Record<Kind, readonly string[]>> = { LSTM: ["i", "f", "g", "o"], LSTM2: ["i", "f", "g", "o"], LSTMP: ["i", "f", "g", "o"], GRU: ["r", "z", "n"], GRU0: ["r", "z", "n"], RNN: ["h"] };

function unitsOf(tensors: ReadonlyMap<string, NamedTensor>): Unit[] {
  const units = new Map<string, Map<string, NamedTensor>>();
  const add = (key: string, part: string, t: NamedTensor) => { if (!units.has(key)) units.set(key, new Map()); units.get(key)!.set(part, t); };
  for (const [name, t] of tensors) {
    const rec = /^(.*?)\.?(weight_ih|weight_hh|bias_ih|bias_hh|reset_before|peephole)_l(\d+)(_reverse)?$/.exec(name);
    if (rec) { add(`${rec[1]}${rec[1] ? "." : ""}l${rec[3]}${rec[4] ?? ""}`, rec[2]!, t); continue; }
    const lin = /^(.*?)\.?(weight|bias)$/.exec(name);
    if (lin) add(lin[1]!, lin[2]!, t);
  }
  return [...units].flatMap(([key, parts]): Unit[] => {
    const ih = parts.get("weight_ih"), hh = parts.get("weight_hh"), w = parts.get("weight");
    if (ih && hh) {
      const rows = ih.shape[0]! / hh.shape[1]!;
      const kind: Kind | undefined = rows === 4 ? (parts.has("peephole") ? "LSTMP" : "LSTM") : rows === 3 ? (parts.has("reset_before") ? "GRU0" : "GRU") : rows === 1 ? "RNN" : undefined;
      return kind ? [{ key, kind, tensors: parts }] : [];
    }
    if (w && w.shape.length === 2) return [{ key, kind: parts.has("bias") ? "Linear" as const : "Embedding" as const, tensors: parts }];
    return [];
  });
}

function targetsOf(specs: readonly ParamSpec[]): Target[] {
  const groups = new Map<string, Map<string, ParamSpec>>();
  for (const s of specs) {
    const cut = s.name.lastIndexOf(".");
    const prefix = s.name.slice(0, cut);
    if (!groups.has(prefix)) groups.set(prefix, new Map());
    groups.get(prefix)!.set(s.name.slice(cut + 1), s);
  }
  return [...groups].flatMap(([prefix, ps]) => {
    const kind = (Object.keys(rnncParams) as Kind[]).find((k) => rnncParams[k].length === ps.size && rnncParams[k].every((p) => ps.has(p)));
    return kind ? [{ prefix, kind: kind === "Linear" ? "Linear" : kind, specs: ps }] : [];
  });
}

/** The PyTorch module kind a layer of this kind takes. */
const moduleKind = (k: Kind): Kind => (k === "LSTM2" ? "LSTM" : k);

/** How a module came to fill a layer, for the table `rnnc import` prints. */
export interface Placed { readonly module: string; readonly kind: string; readonly layer: string; readonly how: "--map" | "the source's wiring" | "the only fit" | "the direction it runs" | "stacked, in data-flow order" }

/** How a source's units go to a spec's layers. */
export interface Mapping {
  /** Unit keys (e.g. `lstm.l0`, `fc`) → rnnc layers, as `--map` gives them. */
  readonly names?: ReadonlyMap<string, string>;
  /** The same from a spec derived from the source's wiring (`--map` overrides them). */
  readonly wired?: ReadonlyMap<string, string>;
  /** The layers in data-flow order (first applied first). */
  readonly layerOrder?: readonly string[];
  /** The layers the model scans in reverse: a unit of a reverse direction (`…_reverse`) goes to one of these first. */
  readonly reversed?: ReadonlySet<string>;
  /** What a unit is, in messages: "PyTorch module" (the default), "ONNX node direction", "Keras layer". */
  readonly noun?: string;
  /** Hears where each unit went. */
  readonly placed?: (p: Placed) => void;
}

/**
 * The params of `specs` from a PyTorch state dict, mapped as `mapping` says. A layer that several units fit is never
 * left to elimination: where the model's directions tell them apart (a reverse unit to a layer scanned in reverse),
 * they do; the layers of one stacked module (`lstm.l0`, `lstm.l1`, …) fill such layers in data-flow order; any other
 * ambiguity is an error proposing the complete `--map`.
 */
export function importTorch(tensors: ReadonlyMap<string, NamedTensor>, specs: readonly ParamSpec[], source: string, mapping: Mapping = {}): Map<string, Tensor> {
  const { names: given = new Map<string, string>(), wired = new Map<string, string>(), layerOrder = [], reversed = new Set<string>(), noun = "PyTorch module", placed = () => undefined } = mapping;
  const units = unitsOf(tensors);
  const names = new Map([...[...wired].filter(([, layer]) => ![...given.values()].includes(layer)), ...given]);
  const rank = (prefix: string) => { const k = layerOrder.indexOf(prefix); return k < 0 ? layerOrder.length : k; };
  const targets = targetsOf(specs).sort((a, b) => rank(a.prefix) - rank(b.prefix));
  const out = new Map<string, Tensor>();
  const used = new Set<string>();
  const take = (t: Target, unit: Unit, how: Placed["how"]) => {
    used.add(unit.key);
    placed({ module: unit.key, kind: unit.kind, layer: t.prefix, how });
    for (const [param, tensor] of convert(unit, t, source)) out.set(`${t.prefix}.${param}`, tensor);
  };
  const fitting = (u: Unit, t: Target) => u.kind === moduleKind(t.kind) && shapesFit(u, t);
  // Where the directions tell units apart, they do: a reverse unit fits a reverse layer, a forward unit a forward one.
  const isReverse = (u: Unit) => u.key.endsWith("_reverse");
  const fits = (u: Unit, t: Target) => fitting(u, t) && (isReverse(u) === reversed.has(t.prefix) || !units.some((o) => o !== u && fitting(o, t) && isReverse(o) === reversed.has(t.prefix)));
  // Layers --map names first.
  const rest: Target[] = [];
  for (const t of targets) {
    const named = [...names].find(([, layer]) => layer === t.prefix)?.[0];
    if (named === undefined) { rest.push(t); continue; }
    const unit = units.find((u) => u.key === named);
    if (!unit) throw new RnncError("RNN0602", `${source} has no ${noun} \`${named}\` (named for layer \`${t.prefix}\`)`, [`its modules: ${units.map((u) => `${u.key} (${u.kind})`).join(", ") || "none rnnc reads"}`]);
    if (unit.kind !== moduleKind(t.kind)) throw new RnncError("RNN0603", `${noun} \`${named}\` is an ${unit.kind}, but layer \`${t.prefix}\` is an ${moduleKind(t.kind)}`);
    take(t, unit, given.has(named) ? "--map" : "the source's wiring");
  }
  // The rest: what fits each. A layer several modules fit is ambiguous even if --map took some of them: what is left
  // would go to it by elimination, which is how a partial --map used to swap two layers.
  const candidates = new Map(rest.map((t) => [t, units.filter((u) => fits(u, t))]));
  for (const [t, c] of candidates) if (!c.some((u) => !used.has(u.key))) {
    throw new RnncError("RNN0601", `${source} has no ${t.kind} whose shapes fit layer \`${t.prefix}\`${c.length ? " that --map left free" : ""}`, [`its modules: ${units.map((u) => `${u.key} (${u.kind} ${[...u.tensors.values()][0]!.shape.join("×")})`).join(", ") || "none rnnc reads"}`, `the layer wants ${[...t.specs.values()].map((s) => `${s.name} [${s.shape.join(", ")}]`).join(", ")}`]);
  }
  const ambiguous = rest.filter((t) => candidates.get(t)!.length > 1);
  // Layers several modules fit: one stacked module's layers, as many as the layers and none taken by --map, go in
  // data-flow order.
  const stackOf = (key: string) => /^(.*)\.l(\d+)(_reverse)?$/.exec(key);
  const pool = [...new Set(ambiguous.flatMap((t) => candidates.get(t)!))].sort((a, b) => Number(stackOf(a.key)?.[2] ?? 0) - Number(stackOf(b.key)?.[2] ?? 0));
  const oneStack = pool.length === ambiguous.length && pool.every((u) => !used.has(u.key) && stackOf(u.key) && stackOf(u.key)![1] === stackOf(pool[0]!.key)![1] && stackOf(u.key)![3] === stackOf(pool[0]!.key)![3])
    && ambiguous.every((t, k) => candidates.get(t)!.includes(pool[k]!)) && layerOrder.length > 0;
  if (ambiguous.length && !oneStack) {
    const proposal = [...names].map(([m, l]) => `${m}=${l}`);
    const free = pool.filter((u) => !used.has(u.key));
    for (const t of ambiguous) {
      const u = free.find((x) => candidates.get(t)!.includes(x));
      if (u) { proposal.push(`${u.key}=${t.prefix}`); free.splice(free.indexOf(u), 1); }
    }
    throw new RnncError("RNN0601", `several ${noun}s fit ${ambiguous.length === 1 ? "layer" : "layers"} ${ambiguous.map((t) => `\`${t.prefix}\` (${candidates.get(t)!.map((u) => u.key).join(", ")})`).join(" and ")}`,
      [`rnnc does not guess which is which${names.size ? ", nor leave a layer to elimination after a partial --map" : ""}: give every such layer its ${noun} (layers in data-flow order: ${targets.map((t) => t.prefix).join(", ")})`],
      `for example --map ${proposal.join(",")}`);
  }
  for (const t of rest) {
    if (ambiguous.includes(t)) { take(t, pool[ambiguous.indexOf(t)]!, "stacked, in data-flow order"); continue; }
    const only = candidates.get(t)![0]!;
    if (used.has(only.key)) throw new RnncError("RNN0601", `${noun} ${only.key}, the only one that fits layer \`${t.prefix}\`, went to another layer`, [], `name the modules with --map (layers in data-flow order: ${targets.map((x) => x.prefix).join(", ")})`);
    take(t, only, units.filter((u) => fitting(u, t)).length > 1 ? "the direction it runs" : "the only fit");
  }
  // A param no unit filled belongs to a layer whose cell is none rnnc reads from such files: left empty, it would be
  // no model at all.
  const empty = specs.filter((s) => !out.has(s.name));
  if (empty.length) {
    const layers = [...new Set(empty.map((s) => s.name.slice(0, Math.max(0, s.name.lastIndexOf(".")))))];
    throw new RnncError("RNN0601", `${source} has no values for ${empty.length === 1 ? "param" : "params"} ${empty.slice(0, 6).map((s) => `\`${s.name}\``).join(", ")}${empty.length > 6 ? ` and ${empty.length - 6} more` : ""}`,
      [`their ${layers.length === 1 ? "layer's" : "layers'"} cell (${layers.map((l) => `\`${l || "the model"}\``).join(", ")}) is not one rnnc fills from ${/^[AEIOU]/.test(noun) ? "an" : "a"} ${noun}: it reads the stdlib's LSTM, TorchLSTM, PeepholeLSTM (from ONNX's P), GRU, GRUResetBefore, Elman, Dense and Embedding`],
      "write those layers with stdlib cells, or fill their params yourself (rnnc init writes a weights file to start from)");
  }
  return out;
}

function shapesFit(u: Unit, t: Target): boolean {
  try { convert(u, t, ""); return true; } catch { return false; }
}

/** One unit's tensors as the target's params, every shape checked (RNN0603 naming both shapes). */
function convert(u: Unit, t: Target, source: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  /** `data` of shape `shape` (a tensor, or the rows of one gate) into `param`: the shapes must be equal, not only their sizes. */
  const put = (param: string, data: Float32Array, from: string, fromShape: readonly number[], shape: readonly number[] = fromShape) => {
    const spec = t.specs.get(param)!;
    if (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i]) || data.length !== spec.shape.reduce((a, b) => a * b, 1))
      throw new RnncError("RNN0603", `${source}: \`${from}\` [${fromShape.join(", ")}] does not fit \`${t.prefix}.${param}\` [${spec.shape.join(", ")}]`);
    const x = alloc([...spec.shape], "f32");
    x.data.set(data);
    out.set(param, x);
  };
  const get = (part: string) => {
    const x = u.tensors.get(part);
    if (!x) throw new RnncError("RNN0601", `${source}: \`${u.key}\` has no ${part}`);
    return x;
  };
  if (u.kind === "Linear") { put("W", get("weight").data, `${u.key}.weight`, get("weight").shape); put("b", get("bias").data, `${u.key}.bias`, get("bias").shape); return out; }
  if (u.kind === "Embedding") { put("table", get("weight").data, `${u.key}.weight`, get("weight").shape); return out; }
  const ih = get("weight_ih"), hh = get("weight_hh");
  const H = hh.shape[1]!, I = ih.shape[1]!;
  const bih = u.tensors.get("bias_ih")?.data ?? new Float32Array(ih.shape[0]!), bhh = u.tensors.get("bias_hh")?.data ?? new Float32Array(ih.shape[0]!);
  const peep = u.tensors.get("peephole");
  if (peep) ["p_i", "p_f", "p_o"].forEach((param, k) => put(param, peep.data.subarray(k * H, (k + 1) * H), `${u.key}.peephole`, peep.shape, [H]));
  gates[t.kind]!.forEach((gate, k) => {
    const rows = (m: Float32Array, cols: number) => m.subarray(k * H * cols, (k + 1) * H * cols);
    const x = u.kind === "RNN" ? "W_xh" : `W_x${gate}`, h = u.kind === "RNN" ? "W_hh" : `W_h${gate}`;
    put(x, rows(ih.data, I), `${u.key}.weight_ih`, ih.shape, [H, I]);
    put(h, rows(hh.data, H), `${u.key}.weight_hh`, hh.shape, [H, H]);
    if (u.kind === "GRU" || t.kind === "LSTM2") {
      put(`b_x${gate}`, rows(bih, 1), `${u.key}.bias_ih`, [bih.length], [H]);
      put(`b_h${gate}`, rows(bhh, 1), `${u.key}.bias_hh`, [bhh.length], [H]);
    } else {
      const sum = Float32Array.from(rows(bih, 1), (b, i) => b + rows(bhh, 1)[i]!);
      put(u.kind === "RNN" ? "b_h" : `b_${gate}`, sum, `${u.key}.bias_ih + bias_hh`, [bih.length], [H]);
    }
  });
  return out;
}
