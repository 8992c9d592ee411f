// The pictures: a cell's boxes and arrows (gates, states, recurrences), a model's constructs, elk's layout, DOT and JSON, and the limits on hostile sizes.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cellPicture, modelPicture } from "../../src/picture/graph.js";
import { layOut, MAX_LAYOUT_BOXES } from "../../src/picture/layout.js";
import { pictureDot, pictureJson, pictureSvg } from "../../src/picture/draw.js";
import { esc, scriptJson, shown } from "../../src/picture/text.js";
import { cellFrom, compiler, root, stdlibCell } from "../helpers.js";

const nowhere = () => ({ line: 0, col: 0 });

describe("a cell's picture", () => {
  it("the LSTM: its input, four gate boxes (i, f, o marked as gates; g the candidate), c and h, their values at t-1 as recurrences", () => {
    const p = cellPicture(stdlibCell("lstm.rnn", "LSTM"));
    const kinds = Object.fromEntries(p.boxes.map((b) => [b.label, b.kind]));
    expect(kinds).toMatchObject({ x: "input", i: "gate", f: "gate", o: "gate", g: "value", c: "state", h: "state", "h[t-1]": "state-prev", "c[t-1]": "state-prev", "output h": "output" });
    const arrow = (from: string, to: string) => p.arrows.find((a) => p.boxes.find((b) => b.id === a.from)?.label === from && p.boxes.find((b) => b.id === a.to)?.label === to);
    // c = f ⊙ c[t-1] + i ⊙ g, h = o ⊙ tanh(c): the gates feed c, c and o feed h
    for (const [from, to] of [["f", "c"], ["i", "c"], ["g", "c"], ["c[t-1]", "c"], ["c", "h"], ["o", "h"], ["x", "f"], ["h[t-1]", "f"], ["h", "output h"]]) expect(arrow(from!, to!), `${from} → ${to}`).toBeDefined();
    expect(arrow("c", "c[t-1]")?.recurrence).toBe(true);
    expect(arrow("h", "h[t-1]")?.recurrence).toBe(true);
    expect(arrow("x", "c")).toBeUndefined(); // c reads x only through the gates
    expect(p.boxes.find((b) => b.label === "f")!.params).toEqual(["W_hf", "W_xf", "b_f"]);
  });

  it("a cell with a layer inlined in it: the layer's gates by their prefixed names, and attention's weights over the sequence read whole", () => {
    const cell = compiler.cell(join(root, "examples", "g2p", "g2p-attention.rnn"), "AttentionDecoder");
    const p = cellPicture(cell);
    const labels = p.boxes.map((b) => b.label);
    expect(labels).toEqual(expect.arrayContaining(["rnn.i", "rnn.f", "rnn.o", "attend.weights", "attend.context", "letters"]));
    expect(p.boxes.find((b) => b.label === "letters")!.detail).toBe("whole [S, H]");
    // every arrow joins two boxes of the picture; no box stands alone
    for (const a of p.arrows) expect(p.boxes.some((b) => b.id === a.from) && p.boxes.some((b) => b.id === a.to)).toBe(true);
    for (const b of p.boxes) expect(p.arrows.some((a) => a.from === b.id || a.to === b.id), b.label).toBe(true);
  });

  it("laid out by elk: every box placed without overlap, every arrow routed, the SVG links each box to its source line", async () => {
    const cell = stdlibCell("gru.rnn", "GRU");
    const laid = await layOut(cellPicture(cell));
    if ("tooLarge" in laid) throw new Error(laid.tooLarge);
    for (const [k, a] of laid.boxes.entries()) for (const b of laid.boxes.slice(k + 1))
      expect(a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y, `${a.label} overlaps ${b.label}`).toBe(true);
    for (const a of laid.arrows) expect(a.points.length).toBeGreaterThanOrEqual(2);
    const svg = pictureSvg(laid, (_f, offset) => ({ line: offset, col: 1 }));
    const z = laid.boxes.find((b) => b.label === "z")!;
    expect(svg).toContain(`data-line="${z.start}"`);
    expect(svg).toContain(`#L${z.start}"`);
  });
});

describe("a model's picture", () => {
  it("g2p with attention: its inputs, the encoder's scan, the decoder's scan and generate, and the outputs, joined as the model reads them", () => {
    const p = modelPicture(compiler.model(join(root, "examples", "g2p", "g2p-attention.rnn"), undefined));
    const labels = p.boxes.map((b) => b.label);
    expect(labels).toEqual(expect.arrayContaining(["letters", "prev_phones", "map(letter)", "scan(encoder)", "scan(decoder)", "generate(decoder)", "output logits", "output phones"]));
    const id = (label: string) => p.boxes.find((b) => b.label === label)!.id;
    expect(p.arrows.some((a) => a.from === id("prev_phones") && a.to === id("scan(decoder)"))).toBe(true);
    expect(p.arrows.some((a) => a.from === id("scan(decoder)") && a.to === id("output logits"))).toBe(true);
  });
});

describe("other formats and hostile input", () => {
  it("DOT: every box and arrow, recurrences dashed, every string quoted and escaped", () => {
    const p = cellPicture(stdlibCell("lstm.rnn", "LSTM"));
    const dot = pictureDot({ ...p, title: 'a "quoted" \\ title' }, nowhere);
    expect(dot.startsWith('digraph "a \\"quoted\\" \\\\ title" {')).toBe(true);
    expect(dot.match(/ -> /g)).toHaveLength(p.arrows.length);
    expect(dot.match(/style=dashed/g)).toHaveLength(p.arrows.filter((a) => a.recurrence).length);
    const json = pictureJson(p, nowhere) as { boxes: unknown[]; arrows: unknown[] };
    expect(json.boxes).toHaveLength(p.boxes.length);
  });

  it("text from a spec is escaped wherever it goes, cut to what a box shows, and cannot end a script element", () => {
    expect(esc(`<script>alert("x")</script> & 'y'`)).toBe("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
    expect(shown("σ".repeat(50))).toBe(`${"σ".repeat(39)}…`);
    expect(scriptJson({ a: "</script><script>alert(1)</script>\u2028" })).not.toMatch(/<|>|\u2028/);
  });

  it(`a picture of more than ${MAX_LAYOUT_BOXES} boxes is not laid out (said so at once), and its DOT is still written`, async () => {
    const lines = ["cell Huge<H> {", "  input x: [H]", "  state h: [H] = 0", "  v0 = tanh(x + h[t-1])"];
    for (let k = 1; k < 9_990; k++) lines.push(`  v${k} = v${k - 1} * 0.5`);
    lines.push("  h = v9989", "  output h", "}");
    const p = cellPicture(cellFrom(lines.join("\n"), "Huge"));
    expect(p.boxes.length).toBeGreaterThan(9_990);
    const t = performance.now();
    const laid = await layOut(p);
    expect("tooLarge" in laid && laid.tooLarge).toMatch(/9,?99\d boxes are more than the 1,000/);
    expect(performance.now() - t).toBeLessThan(1000);
    expect(pictureDot(p, nowhere).split("\n").length).toBeGreaterThan(19_000);
  });
});
