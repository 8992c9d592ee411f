// A traced value over time as an SVG heat map (a row per unit, a column per step, each cell's exact value on hover) and the numbers that sum it up.
import type { Tensor } from "../runtime/tensor.js";
import { esc, shown } from "./text.js";

/** What a heat map sums up: the range, how saturated (a gate near 0 or 1, a tanh value near ±1), and the step that changed most. */
export interface HeatSummary {
  readonly min: number;
  readonly max: number;
  /** Share of elements within 0.05 of a gate's ends (0, 1) or a tanh-bounded value's (±1); undefined for an unbounded value. */
  readonly saturation?: number;
  /** The step whose value differs most from the step before (Euclidean distance), and by how much; undefined with one step. */
  readonly biggestChange?: { readonly step: number; readonly by: number };
}

/**
 * How a value's colours read: a gate (white to orange over [0, 1]), a share such as attention's weights (white to
 * purple over [0, 1]), a value within ±1 such as tanh's, or any other (both diverging, blue to red).
 */
export type HeatKind = "gate" | "share" | "bounded" | "free";

export function summarize(steps: readonly Tensor[], kind: HeatKind): HeatSummary {
  let min = Infinity, max = -Infinity, near = 0, count = 0;
  for (const t of steps) for (const v of t.data) {
    if (!Number.isFinite(v)) continue;
    min = Math.min(min, v); max = Math.max(max, v); count++;
    if (kind === "gate" ? v < 0.05 || v > 0.95 : Math.abs(v) > 0.95) near++;  // (a share's count is not shown)
  }
  let biggestChange: HeatSummary["biggestChange"];
  for (let t = 1; t < steps.length; t++) {
    const a = steps[t - 1]!.data, b = steps[t]!.data;
    let d = 0;
    for (let i = 0; i < Math.min(a.length, b.length); i++) d += (b[i]! - a[i]!) ** 2;
    d = Math.sqrt(d);
    if (!biggestChange || d > biggestChange.by) biggestChange = { step: t, by: d };
  }
  return { min: count ? min : 0, max: count ? max : 0, ...((kind === "gate" || kind === "bounded") && count ? { saturation: near / count } : {}), ...(biggestChange ? { biggestChange } : {}) };
}

/** A colour for v (see HeatKind): shares scaled by the largest (`scale`), diverging values by the largest magnitude. */
export function heatColor(v: number, kind: HeatKind, scale: number): string {
  if (!Number.isFinite(v)) return "#000";
  const mix = (a: readonly number[], b: readonly number[], f: number) => `rgb(${a.map((x, i) => Math.round(x + (b[i]! - x) * f)).join(",")})`;
  if (kind === "gate") return mix([255, 255, 255], [217, 108, 0], Math.min(1, Math.max(0, v)));
  if (kind === "share") return mix([255, 255, 255], [106, 61, 154], Math.min(1, Math.max(0, v / (scale || 1))));
  const f = Math.min(1, Math.abs(v) / (scale || 1));
  return v < 0 ? mix([255, 255, 255], [33, 102, 172], f) : mix([255, 255, 255], [178, 24, 43], f);
}

/** One cell of a grid (a heat map's, a confusion matrix's): a rectangle with a hover title and extra attributes (already escaped). */
export function heatCell(x: number, y: number, w: number, h: number, fill: string, title: string, attrs = ""): string {
  return `<rect ${attrs ? `${attrs} ` : ""}x="${x}" y="${y}" width="${w}" height="${h}" fill="${fill}"><title>${esc(title)}</title></rect>`;
}

export interface HeatMapInput {
  readonly name: string;
  readonly kind: HeatKind;
  readonly steps: readonly Tensor[];
  /** Rows shown at most (a wide state shows its first units). */
  readonly maxRows: number;
  /** The hover text's tail: the equation that produced the value, and where it is. */
  readonly equation: string;
  /** A label per step (the step number by default). */
  readonly stepLabels?: readonly string[];
}

/** The heat map: a cell per (unit, step) with data-v (its exact value) and a <title> saying what it is. */
export function heatMapSvg(h: HeatMapInput): string {
  const T = h.steps.length, units = h.steps[0]?.data.length ?? 0, rows = Math.min(units, h.maxRows);
  const cw = Math.max(6, Math.min(28, Math.floor(560 / Math.max(T, 1)))), ch = rows > 48 ? 4 : rows > 16 ? 8 : 14;
  const L = 44, TOP = 6, W = L + T * cw + 8, H = TOP + rows * ch + 30;
  const scale = h.kind === "gate" ? 1 : Math.max(...h.steps.flatMap((t) => Array.from(t.data.subarray(0, rows), Math.abs)).filter(Number.isFinite), 1e-9);
  const cells: string[] = [];
  for (let t = 0; t < T; t++) for (let r = 0; r < rows; r++) {
    const v = h.steps[t]!.data[r]!;
    const label = h.stepLabels?.[t] ?? String(t);
    cells.push(heatCell(L + t * cw, TOP + r * ch, cw, ch, heatColor(v, h.kind, scale), `${shown(h.name)}[${r}] at step ${label} = ${v}\n${h.equation}`, `data-v="${v}"`));
  }
  const every = Math.max(1, Math.ceil(T / 16));
  const ticks = Array.from({ length: T }, (_, t) => t).filter((t) => t % every === 0)
    .map((t) => `<text x="${L + t * cw + cw / 2}" y="${TOP + rows * ch + 13}" text-anchor="middle" font-size="10">${esc(shown(h.stepLabels?.[t] ?? String(t), 6))}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" class="heat" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">` +
    `<text x="${L - 4}" y="${TOP + 10}" text-anchor="end" font-size="10">0</text>` +
    (rows > 1 ? `<text x="${L - 4}" y="${TOP + rows * ch}" text-anchor="end" font-size="10">${rows - 1}</text>` : "") +
    `${cells.join("")}${ticks.join("")}<text x="${L + (T * cw) / 2}" y="${H - 2}" text-anchor="middle" font-size="10">step</text></svg>`;
}
