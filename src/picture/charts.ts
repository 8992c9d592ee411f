// Draws training curves and confusion matrices as small standalone SVGs: the picture written beside trained weights, the
// one `rnnc eval --svg` writes and the playground's loss plot, with the trace page's text and colour code.
import { maxOf, minOf } from "../diagnostics/extremes.js";
import { heatCell } from "./heatmap.js";
import { esc } from "./text.js";

export interface Series { readonly name: string; readonly values: readonly number[]; readonly color: string }
/** One panel of the picture: its curves over the epochs, on their own vertical axis. */
export interface Panel { readonly title: string; readonly series: readonly Series[] }


/**
 * Panels stacked over one epoch axis (ticks at whole epochs, at most about ten labelled): the losses, then (when
 * given) the monitored metric and the learning rate, each scaled to its own range.
 */
export function trainingCurvesSvg(title: string, panels: readonly Panel[]): string {
  const W = 640, L = 64, R = 20, TOP = 30, PANEL = 210, GAP = 34, B = 40;
  const shown = panels.filter((p) => p.series.some((s) => s.values.length));
  const H = TOP + shown.length * PANEL + (shown.length - 1) * GAP + B;
  const n = Math.max(maxOf(shown.flatMap((p) => p.series.map((s) => s.values.length))), 2);
  const x = (i: number) => L + (i / (n - 1)) * (W - L - R);
  const every = Math.max(1, Math.ceil(n / 10));
  const parts: string[] = [];
  shown.forEach((p, k) => {
    const top = TOP + k * (PANEL + GAP) + 22, bottom = TOP + k * (PANEL + GAP) + PANEL;
    const all = p.series.flatMap((s) => s.values).filter(Number.isFinite);
    const max = Math.max(maxOf(all), 1e-9), min = Math.min(minOf(all), 0);
    const y = (v: number) => top + (1 - (v - min) / (max - min || 1)) * (bottom - top);
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => min + f * (max - min));
    parts.push(`<text x="${L}" y="${top - 8}" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
    parts.push(...ticks.map((v) => `<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/><text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11">${v.toPrecision(3)}</text>`));
    // Epoch ticks: a mark at every epoch, a label at every `every`-th (epochs counted from 1).
    parts.push(...Array.from({ length: n }, (_, i) => `<line x1="${x(i).toFixed(1)}" x2="${x(i).toFixed(1)}" y1="${bottom}" y2="${bottom + 4}" stroke="#333"/>` +
      ((i + 1) % every === 0 || i === 0 ? `<text class="epoch" x="${x(i).toFixed(1)}" y="${bottom + 16}" text-anchor="middle" font-size="11">${i + 1}</text>` : "")));
    parts.push(`<line x1="${L}" x2="${L}" y1="${top}" y2="${bottom}" stroke="#333"/><line x1="${L}" x2="${W - R}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
    parts.push(...p.series.map((s) => `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}"/>`));
    parts.push(...p.series.map((s, i) => `<text x="${W - R - (p.series.length - i) * 130}" y="${top - 8}" fill="${s.color}" font-size="12">■ ${esc(s.name)}</text>`));
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${W / 2}" y="18" text-anchor="middle" font-size="15">${esc(title)}</text>
${parts.join("\n")}
<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle" font-size="12">epoch</text>
</svg>
`;
}

/**
 * A confusion matrix as a grid: a row per target class, a column per predicted class, each cell its count, shaded by
 * its share of the row (the diagonal is what was right), with each row's recall at its end.
 */
export function confusionSvg(title: string, classes: readonly number[], counts: readonly (readonly number[])[], names?: (c: number) => string): string {
  const n = classes.length, cell = Math.max(22, Math.min(56, Math.floor(520 / Math.max(n, 1)))), L = 96, TOP = 74, R = 70;
  const W = L + n * cell + R, H = TOP + n * cell + 44;
  const label = (c: number) => esc(names ? names(c) : String(c));
  const parts: string[] = [
    `<text x="${L}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="${L + (n * cell) / 2}" y="${TOP - 30}" text-anchor="middle" font-size="12">predicted class</text>`,
    `<text x="18" y="${TOP + (n * cell) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 18 ${TOP + (n * cell) / 2})">target class</text>`,
    `<text x="${L + n * cell + 8}" y="${TOP - 10}" font-size="11">recall</text>`,
  ];
  classes.forEach((c, j) => parts.push(`<text class="col" x="${L + j * cell + cell / 2}" y="${TOP - 8}" text-anchor="middle" font-size="11">${label(c)}</text>`));
  counts.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    parts.push(`<text class="row" x="${L - 8}" y="${TOP + i * cell + cell / 2 + 4}" text-anchor="end" font-size="11">${label(classes[i]!)}</text>`);
    row.forEach((v, j) => {
      const share = total ? v / total : 0;
      const shade = i === j ? `rgba(44,160,44,${(0.1 + 0.9 * share).toFixed(3)})` : `rgba(214,39,40,${(share ? 0.1 + 0.9 * share : 0).toFixed(3)})`;
      parts.push(heatCell(L + j * cell, TOP + i * cell, cell, cell, shade, `target ${names ? names(classes[i]!) : classes[i]}, predicted ${names ? names(classes[j]!) : classes[j]}: ${v} of ${total}${total ? ` (${(100 * share).toFixed(1)}%)` : ""}`, `class="cell" stroke="#bbb"`)
        + `<text class="count" x="${L + j * cell + cell / 2}" y="${TOP + i * cell + cell / 2 + 4}" text-anchor="middle" font-size="${cell < 30 ? 9 : 11}">${v}</text>`);
    });
    parts.push(`<text class="recall" x="${L + n * cell + 8}" y="${TOP + i * cell + cell / 2 + 4}" font-size="11">${total ? `${(100 * row[i]! / total).toFixed(1)}%` : "–"}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join("\n")}\n</svg>\n`;
}
