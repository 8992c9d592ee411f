// Draws a laid-out picture as SVG (boxes coloured by kind, arrows as elk routed them, recurrences dashed), and writes a picture as Graphviz DOT or JSON.
import type { Box, BoxKind, Picture } from "./graph.js";
import type { Laid } from "./layout.js";
import { esc, shown } from "./text.js";

/** Where a box's source is: its file, 1-based line and column (a box links to it). */
export type Locate = (file: string, offset: number) => { readonly line: number; readonly col: number };

export const KIND_COLORS: Readonly<Record<BoxKind, { fill: string; stroke: string }>> = {
  input: { fill: "#e3f2e1", stroke: "#3b8a3e" },
  "state-prev": { fill: "#e4edf8", stroke: "#4a78b5" },
  gate: { fill: "#fde9d2", stroke: "#d9822b" },
  value: { fill: "#f2f2f2", stroke: "#777" },
  state: { fill: "#d6e6fa", stroke: "#2f5f9e" },
  output: { fill: "#ece0f5", stroke: "#7b4fa0" },
  layer: { fill: "#fff5cc", stroke: "#b08d00" },
  op: { fill: "#f2f2f2", stroke: "#777" },
};

const KIND_WORDS: Readonly<Record<BoxKind, string>> = {
  input: "input", "state-prev": "state at an earlier step", gate: "gate", value: "value", state: "state at step t", output: "output", layer: "layer", op: "operation",
};

/** The hover text of a box: what it is, its shape and the params its equation reads. */
export function boxTitle(b: Box, where: { line: number }): string {
  return `${b.label} (${KIND_WORDS[b.kind]}): ${b.detail}${b.params?.length ? `; reads ${b.params.join(", ")}` : ""}${where.line ? ` — line ${where.line}` : ""}`;
}

/** The picture as a standalone SVG; each box a link to `FILE#Lline` carrying data-file, data-line and data-col. */
export function pictureSvg(p: Laid, locate: Locate): string {
  const M = 16, TOP = 30;
  const W = Math.ceil(p.width + 2 * M), H = Math.ceil(p.height + TOP + M);
  const parts: string[] = [];
  for (const a of p.arrows) {
    if (a.points.length < 2) continue;
    const pts = a.points.map((q) => `${(q.x + M).toFixed(1)},${(q.y + TOP).toFixed(1)}`).join(" ");
    parts.push(`<polyline class="arrow${a.recurrence ? " recurrence" : ""}" points="${pts}" fill="none" stroke="${a.recurrence ? "#2f5f9e" : "#555"}" stroke-width="1.4"${a.recurrence ? ` stroke-dasharray="5 3"` : ""} marker-end="url(#${a.recurrence ? "head-r" : "head"})"/>`);
  }
  for (const b of p.boxes) {
    const c = KIND_COLORS[b.kind], where = locate(b.file, b.start);
    const x = b.x + M, y = b.y + TOP;
    parts.push(`<g class="box ${b.kind}" data-id="${esc(b.id)}" data-file="${esc(b.file)}" data-line="${where.line}" data-col="${where.col}">` +
      `<a href="${esc(encodeURI(b.file))}#L${where.line}"><title>${esc(boxTitle(b, where))}</title>` +
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${b.width.toFixed(1)}" height="${b.height.toFixed(1)}" rx="${b.kind === "gate" ? 14 : 5}" fill="${c.fill}" stroke="${c.stroke}" stroke-width="1.5"/>` +
      `<text x="${(x + b.width / 2).toFixed(1)}" y="${(y + 17).toFixed(1)}" text-anchor="middle" font-size="13" font-weight="bold" fill="#222">${esc(shown(b.label))}</text>` +
      `<text x="${(x + b.width / 2).toFixed(1)}" y="${(y + 32).toFixed(1)}" text-anchor="middle" font-size="11" fill="#555">${esc(shown(b.detail))}</text></a></g>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" class="rnnc-picture" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker><marker id="head-r" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#2f5f9e"/></marker></defs>
<rect width="${W}" height="${H}" fill="white"/>
<text x="${M}" y="20" font-size="15" font-weight="bold">${esc(shown(p.title, 80))}</text>
${parts.join("\n")}
</svg>
`;
}

/** A DOT string literal: quotes and backslashes escaped, line breaks as \n. */
const dotString = (s: string): string => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r?\n/g, "\\n")}"`;

/** The picture in Graphviz's DOT language (any Graphviz tool lays it out); recurrences dashed. */
export function pictureDot(p: Picture, locate: Locate): string {
  const ids = new Map(p.boxes.map((b, k) => [b.id, `b${k}`]));
  const lines = [`digraph ${dotString(p.title)} {`, `  rankdir=LR;`, `  node [shape=box, style="rounded,filled", fontname="sans-serif"];`];
  for (const b of p.boxes) {
    const c = KIND_COLORS[b.kind], where = locate(b.file, b.start);
    lines.push(`  ${ids.get(b.id)} [label=${dotString(`${b.label}\n${b.detail}`)}, fillcolor=${dotString(c.fill)}, color=${dotString(c.stroke)}, tooltip=${dotString(boxTitle(b, where))}, URL=${dotString(`${b.file}#L${where.line}`)}];`);
  }
  for (const a of p.arrows) lines.push(`  ${ids.get(a.from)} -> ${ids.get(a.to)}${a.recurrence ? ` [style=dashed, constraint=false]` : ""};`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** The picture as JSON: its boxes with their source line and column, and its arrows. */
export function pictureJson(p: Picture, locate: Locate): object {
  return { title: p.title, boxes: p.boxes.map((b) => ({ ...b, ...locate(b.file, b.start) })), arrows: p.arrows };
}
