// The training picture (issue 24): panels of losses, the monitored metric and the learning rate over one epoch axis.
import { describe, expect, it } from "vitest";
import { confusionSvg, trainingCurvesSvg } from "../../src/picture/charts.js";

describe("trainingCurvesSvg", () => {
  const epochs = 25;
  const v = (f: (i: number) => number) => Array.from({ length: epochs }, (_, i) => f(i));
  const svg = trainingCurvesSvg("M: mse loss", [
    { title: "mse loss", series: [{ name: "train", values: v((i) => 1 / (i + 1)), color: "#111" }, { name: "held out", values: v((i) => 1.2 / (i + 1)), color: "#222" }] },
    { title: "held-out rmse", series: [{ name: "rmse", values: v((i) => 0.5 - i / 100), color: "#333" }] },
    { title: "learning rate", series: [{ name: "lr", values: v((i) => 0.01 * 0.9 ** i), color: "#444" }] },
    { title: "empty", series: [{ name: "none", values: [], color: "#555" }] },
  ]);
  it("has a panel per non-empty series group, each with its title and curves", () => {
    for (const t of ["mse loss", "held-out rmse", "learning rate"]) expect(svg).toContain(`>${t}</text>`);
    expect(svg).not.toContain(">empty</text>");
    expect(svg.match(/<polyline /g)!.length).toBe(4);
    // Every curve has a point per epoch.
    for (const m of svg.matchAll(/points="([^"]*)"/g)) expect(m[1]!.split(" ").length).toBe(epochs);
  });
  it("marks every epoch on each panel's axis and labels about ten of them, counted from 1", () => {
    const labels = [...svg.matchAll(/<text class="epoch"[^>]*>(\d+)<\/text>/g)].map((m) => Number(m[1]));
    // 3 panels × (epoch 1, then every 3rd: 3, 6, …, 24)
    expect(labels.slice(0, labels.length / 3)).toEqual([1, 3, 6, 9, 12, 15, 18, 21, 24]);
    expect(labels.length).toBe(27);
    expect(svg.match(/y2="[\d.]+" stroke="#333"\/>/g)!.length).toBeGreaterThanOrEqual(3 * epochs);
  });
  it("is well formed: every element closed, text escaped", () => {
    const t = trainingCurvesSvg("a < b & c", [{ title: "x", series: [{ name: "<y>", values: [1, 2], color: "#000" }] }]);
    expect(t).toContain("a &lt; b &amp; c");
    expect(t).toContain("■ &lt;y&gt;");
    expect(t.match(/<svg/g)!.length).toBe(1);
    expect(t.trim().endsWith("</svg>")).toBe(true);
  });
});

describe("confusionSvg", () => {
  const counts = [[8, 2, 0], [1, 6, 3], [0, 0, 5]];
  const svg = confusionSvg("M: probs <test>", [0, 1, 2], counts);
  it("draws a cell per (target, predicted) pair with its count, rows labelled by target and columns by prediction", () => {
    expect([...svg.matchAll(/<text class="count"[^>]*>(\d+)<\/text>/g)].map((m) => Number(m[1]))).toEqual(counts.flat());
    expect([...svg.matchAll(/<text class="row"[^>]*>(\d+)<\/text>/g)].map((m) => Number(m[1]))).toEqual([0, 1, 2]);
    expect([...svg.matchAll(/<text class="col"[^>]*>(\d+)<\/text>/g)].map((m) => Number(m[1]))).toEqual([0, 1, 2]);
    expect(svg).toContain("M: probs &lt;test&gt;");
  });
  it("gives each row's recall and shades the diagonal green and mistakes red by their share of the row", () => {
    expect([...svg.matchAll(/<text class="recall"[^>]*>([^<]+)<\/text>/g)].map((m) => m[1])).toEqual(["80.0%", "60.0%", "100.0%"]);
    const fills = [...svg.matchAll(/<rect class="cell"[^>]*fill="([^"]+)"/g)].map((m) => m[1]!);
    expect(fills[0]).toBe("rgba(44,160,44,0.820)"); // 8 of 10, on the diagonal
    expect(fills[1]).toBe("rgba(214,39,40,0.280)"); // 2 of 10, a mistake
    expect(fills[2]).toBe("rgba(214,39,40,0.000)"); // none
  });
});
