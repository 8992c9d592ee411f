// The page `rnnc trace` writes: one self-contained HTML file (no network) with the pictures and a heat map over time of every traced value, per example and layer use.
import type { TracedUse, TracedValue } from "../interp/trace.js";
import { heatMapSvg, summarize, type HeatKind, type HeatSummary } from "./heatmap.js";
import { esc, shown } from "./text.js";

export interface TracePageInput {
  readonly title: string;
  /** Pictures drawn already (SVG text rnnc drew, its text escaped), each with a heading. */
  readonly pictures: readonly { readonly heading: string; readonly svg: string }[];
  readonly uses: readonly TracedUse[];
  /** The equation that produced a value and where it is (`file:line`). */
  readonly equation: (use: TracedUse, value: TracedValue) => string;
  /** Rows of a heat map at most. */
  readonly maxRows: number;
  /** Notes shown under the title (what was left out, and why). */
  readonly notes?: readonly string[];
}

/** Values drawn per use of a layer at most (a cell of thousands of equations would make a page no browser opens). */
export const MAX_VALUES = 200;

/** The page's one script: the hovered cell's or box's text in the bar at the top (read from the page, set as text). */
export const TRACE_SCRIPT = `(() => {
  const bar = document.getElementById("hover");
  document.addEventListener("mouseover", (e) => {
    const el = e.target instanceof Element ? e.target.closest("[data-v], g.box") : null;
    if (!el || !bar) return;
    const title = el.querySelector("title");
    bar.textContent = title ? title.textContent : "";
  });
})();`;

const STYLE = `body{font-family:sans-serif;margin:0 24px 40px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-top:1px solid #ddd;padding-top:12px}
h3{font-size:13px;margin:10px 0 2px}h3 span{font-weight:normal;color:#666}.eq{font-family:monospace;font-size:12px;color:#444;margin:2px 0;white-space:pre-wrap}
.sum{font-size:12px;color:#555;margin:2px 0 4px}.hover{position:sticky;top:0;background:#fffbe6;border-bottom:1px solid #e5d8a0;padding:6px 10px;font-family:monospace;font-size:12px;white-space:pre-wrap;min-height:30px;z-index:1}
.pictures svg{max-width:100%;height:auto}.value{display:inline-block;vertical-align:top;margin:0 18px 10px 0}.note{color:#8a5a00;font-size:13px}`;

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4));

function summaryText(s: HeatSummary, kind: TracedValue["kind"]): string {
  const parts = [`min ${fmt(s.min)}`, `max ${fmt(s.max)}`];
  if (s.saturation !== undefined) parts.push(`${(100 * s.saturation).toFixed(1)}% saturated (${kind === "gate" ? "below 0.05 or above 0.95" : "beyond ±0.95"})`);
  if (s.biggestChange && (kind === "state" || kind === "gate")) parts.push(`changes most at step ${s.biggestChange.step} (by ${fmt(s.biggestChange.by)})`);
  return parts.join(" · ");
}

/** How a value's colours read: a gate; a share (every step's values in [0, 1], summing to 1: attention's weights); a value within ±1 (tanh's range); any other. */
function rangeOf(v: TracedValue, steps: readonly { data: ArrayLike<number> }[]): HeatKind {
  if (v.kind === "gate") return "gate";
  const all = (f: (x: number) => boolean) => steps.every((t) => Array.prototype.every.call(t.data, f));
  const sums = steps.every((t) => { let s = 0; for (let i = 0; i < t.data.length; i++) s += t.data[i]!; return Math.abs(s - 1) < 1e-4; });
  if (steps.length && steps[0]!.data.length > 1 && all((x) => x >= 0 && x <= 1) && sums) return "share";
  return all((x) => Math.abs(x) <= 1) ? "bounded" : "free";
}

/** The heat maps of every traced value, a section per example and layer use (the trace page's body, and the playground's run pane). */
export function traceSections(uses: readonly TracedUse[], equation: TracePageInput["equation"], maxRows: number, maxValues = MAX_VALUES): string {
  return uses.map((use) => {
    const values = use.values.slice(0, maxValues).map((v, k) => {
      const steps = use.steps.map((s) => s[k]!);
      const kind = rangeOf(v, steps);
      const units = steps[0]?.data.length ?? 0;
      const eq = equation(use, v);
      return `<div class="value" data-name="${esc(v.name)}" data-kind="${v.kind}"><h3>${esc(shown(v.name))} <span>${v.kind}, ${units} unit${units === 1 ? "" : "s"}${units > maxRows ? `, first ${maxRows} shown` : ""}</span></h3>` +
        `<p class="eq">${esc(eq)}</p><p class="sum">${esc(summaryText(summarize(steps, kind), v.kind))}</p>` +
        (steps.length ? heatMapSvg({ name: v.name, kind, steps, maxRows, equation: eq }) : `<p class="note">no steps</p>`) + `</div>`;
    });
    return `<section class="use" data-example="${use.example}" data-layer="${esc(use.layer)}" data-construct="${esc(use.construct)}">` +
      `<h2>example ${use.example} — layer ${esc(shown(use.layer))}: ${esc(use.construct)} of cell ${esc(shown(use.cell))}, ${use.steps.length} step${use.steps.length === 1 ? "" : "s"}</h2>${values.join("\n")}` +
      (use.values.length > maxValues ? `<p class="note">and ${use.values.length - maxValues} more values, not drawn (a page draws at most ${maxValues} per layer; rnnc trace --values picks which)</p>` : "") + `</section>`;
  }).join("\n");
}

export function tracePage(p: TracePageInput, scriptHash?: string): string {
  const sections = [traceSections(p.uses, p.equation, p.maxRows)];
  const csp = `default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src ${scriptHash ? `'sha256-${scriptHash}'` : "'none'"}`;
  return `<!DOCTYPE html>
<!-- Generated by rnnc trace: ${esc(p.title).replace(/--/g, "&#45;&#45;")} -->
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}">
<title>${esc(shown(p.title, 120))}</title><style>${STYLE}</style></head>
<body>
<h1>${esc(shown(p.title, 120))}</h1>
${(p.notes ?? []).map((n) => `<p class="note">${esc(n)}</p>`).join("\n")}
<div id="hover" class="hover">Hover a cell of a heat map (or a box of a picture) to see its exact value and the equation that produced it.</div>
<section class="pictures">${p.pictures.map((x) => `<h2>${esc(x.heading)}</h2>\n${x.svg}`).join("\n")}</section>
${sections.join("\n")}
<script>${TRACE_SCRIPT}</script>
</body></html>
`;
}
