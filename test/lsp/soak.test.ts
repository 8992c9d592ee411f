// The language server over a long day (issue 23): thousands of open/edit/close cycles over hundreds of documents, with
// the server's memory sampled along the way (the curve is printed); closed documents are forgotten, and diagnostics
// go out once per document whose result changed, not once per open document per edit.
import { describe, expect, it } from "vitest";
import { TestClient } from "./client.js";

interface Stats { open: number; analyses: number; parsed: number; documents: number; published: number; timers: number; heapUsed: number; rss: number }

const DOCS = 200, CYCLES = 2000;
/** A document of its own (a few cells, one with an error that an edit fixes), about 1 KB. */
const text = (k: number, fixed: boolean) => [
  `/// Document ${k}`,
  ...Array.from({ length: 4 }, (_, j) => `cell C${k}_${j}<I, H> {\n  input x: [I]\n  state h: [H] = 0\n  param W: [H, I] ~ glorot_uniform\n  param U: [H, H] ~ orthogonal\n  h = tanh(W @ x + U @ h[t-1])\n  output h\n}`),
  `cell Broken${k}<H> {\n  input x: [H]\n  output y = ${fixed ? "x" : "x + nope"}\n}`,
].join("\n\n") + "\n";

describe("a long session", () => {
  it(`${CYCLES} open/edit/close cycles over ${DOCS} documents: memory flat, closed documents forgotten, publishes linear`, async () => {
    const c = new TestClient(["--expose-gc"]);
    try {
      await c.initialize();
      const stats = () => c.request<Stats>("rnnc/stats", null);
      const curve: { cycle: number; heapMB: number; rssMB: number }[] = [];
      const sample = async (cycle: number) => { const s = await stats(); curve.push({ cycle, heapMB: s.heapUsed / 2 ** 20, rssMB: s.rss / 2 ** 20 }); return s; };
      await sample(0);
      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        const k = cycle % DOCS;
        const uri = c.uri(`soak/doc${cycle}.rnn`); // a new name each time: nothing kept per name can hide behind reuse
        await c.conn.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "rnn", version: 1, text: text(k, false) } });
        await c.diagnostics(uri, (p) => p.version === 1 && p.diagnostics.length === 1);
        await c.conn.sendNotification("textDocument/didChange", { textDocument: { uri, version: 2 }, contentChanges: [{ text: text(k, true) }] });
        await c.diagnostics(uri, (p) => p.version === 2 && p.diagnostics.length === 0);
        await c.conn.sendNotification("textDocument/didClose", { textDocument: { uri } });
        if (cycle % 250 === 0) await sample(cycle);
      }
      const end = await stats();
      process.stderr.write(`  at the end: ${JSON.stringify(end)}\n`);
      process.stderr.write(`  server memory over the session (cycle: heap MB / rss MB): ${curve.map((p) => `${p.cycle}: ${p.heapMB.toFixed(1)}/${p.rssMB.toFixed(0)}`).join(", ")}\n`);
      // Everything of a closed document is gone.
      expect({ open: end.open, analyses: end.analyses, documents: end.documents, published: end.published, timers: end.timers }).toEqual({ open: 0, analyses: 0, documents: 0, published: 0, timers: 0 });
      // Flat: after the first quarter (code compiled, caches warm), the live heap stays within 10 MB of where it was
      // over the remaining 1,500 cycles, in which 1,500 documents of ~1 KB each were opened, analysed and closed.
      const warm = curve.find((p) => p.cycle === CYCLES / 4)!;
      for (const p of curve.filter((q) => q.cycle > warm.cycle)) expect(p.heapMB - warm.heapMB, `cycle ${p.cycle}`).toBeLessThan(10);
      // Per cycle: the error, its fix, and the clearing on close, at most.
      expect(c.publishes).toBeLessThanOrEqual(3 * CYCLES);

      // Many documents open at once: opening each analyses and publishes that one only (no republishing of the others).
      const before = c.publishes;
      for (let k = 0; k < DOCS; k++) {
        const uri = c.uri(`soak/many${k}.rnn`);
        await c.conn.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "rnn", version: 1, text: text(k, true) } });
        await c.diagnostics(uri, (p) => p.version === 1);
      }
      expect(c.publishes - before).toBe(DOCS);
      expect((await stats()).open).toBe(DOCS);
    } finally {
      await c.close();
    }
  }, 600_000);
});
