// rnnc train's two engines side by side: g2p words per second through fit() on this process's fused kernels and on PyTorch (--engine torch), the same words, one thread each.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fit } from "../api/fit.js";
import type { Example } from "../api/data.js";
import { createCompiler } from "../compiler.js";
import { nodeHost, packageRoot } from "../node/host.js";
import { resolveDims } from "../runtime/dims.js";

/** A row of the bench's PyTorch table (torch.ts's TorchRow, which this file may not import: torch.ts loads it). */
export interface EngineRow { readonly case: string; readonly unit: "words/s"; readonly torch: number; readonly rnnc: number; readonly ratio: number; readonly note: string }

/** Words per second of one epoch over `words` g2p words (batch 32, Adam, clip 5), from its first batch to its last, on each engine. */
export async function benchEngines(python: string, words = 4000): Promise<EngineRow[]> {
  const data = await import(pathToFileURL(join(packageRoot, "examples", "g2p", "data.mjs")).href) as { load(o: object): { train: Example[]; test: Example[] } };
  const all = data.load({});
  const train = all.train.slice(0, words), test = all.test.slice(0, 256);
  const rows: EngineRow[] = [];
  for (const spec of ["g2p.rnn", "g2p-bi-drop.rnn"]) {
    const ir = createCompiler(nodeHost).model(join(packageRoot, "examples", "g2p", spec), undefined);
    const env = resolveDims(ir, new Map());
    const rate = async (engine: "node" | "torch"): Promise<number> => {
      let first = 0, last = 0, seen = 0;
      await fit({ ir, env }, { train, test }, {
        output: "logits", loss: "crossentropy", optimizer: "adam", learningRate: 0.001, clipNorm: 5, epochs: 1, batchSize: 32, note: () => undefined,
        ...(engine === "torch" ? { engine, torch: { python, threads: 1 } } : { backend: "fused" }),
        // timed from the end of the first batch (each engine warmed up) to the end of the last
        callbacks: { onBatchEnd: (k) => { if (k === 1) first = performance.now(); last = performance.now(); seen = k; } },
      });
      return ((seen - 1) * 32) / ((last - first) / 1000);
    };
    const torch = await rate("torch");
    const node = await rate("node");
    rows.push({ case: `g2p training through rnnc train (${spec}, ${words} words, batch 32, Adam, clip 5): --engine torch against the default engine`, unit: "words/s", torch, rnnc: node, ratio: node / torch,
      note: "both driven by fit() (the same batches, losses and updates), one thread each; ratio is the node engine's words/s over PyTorch's" });
  }
  return rows;
}
