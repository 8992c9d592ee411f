// Draws loss curves as a small standalone SVG (no dependencies), for the picture written beside trained weights.
import { maxOf, minOf } from "../diagnostics/extremes.js";

export function lossCurveSvg(title: string, series: readonly { name: string; values: readonly number[]; color: string }[]): string {
  const W = 640, H = 360, L = 60, R = 20, T = 36, B = 44;
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  const max = Math.max(maxOf(all), 1e-9);
  const min = Math.min(minOf(all), 0);
  const n = Math.max(maxOf(series.map((s) => s.values.length)), 2);
  const x = (i: number) => L + (i / (n - 1)) * (W - L - R);
  const y = (v: number) => T + (1 - (v - min) / (max - min || 1)) * (H - T - B);
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => min + f * (max - min));
  const lines = series.map((s) => `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}"/>`);
  const legend = series.map((s, i) => `<text x="${L + 10 + i * 150}" y="${T - 10}" fill="${s.color}" font-size="13">■ ${esc(s.name)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${W / 2}" y="18" text-anchor="middle" font-size="15">${esc(title)}</text>
${ticks.map((v) => `<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/><text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11">${v.toPrecision(3)}</text>`).join("\n")}
<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/>
<text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle" font-size="12">epoch</text>
${lines.join("\n")}
${legend.join("\n")}
</svg>
`;
}
