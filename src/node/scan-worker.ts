// The helper thread's program: fused-kernel jobs in, replies out (see scan-helper.ts and src/fused/parallel.ts).
import { workerData, type MessagePort } from "node:worker_threads";
import { scanJobServer, type Job, type Reply } from "../fused/parallel.js";
import { FusedScan } from "../fused/scan.js";
import { enableRelaxedSimd } from "./wasm-features.js";

enableRelaxedSimd(); // as the thread it helps

const { port, flag } = workerData as { port: MessagePort; flag: Int32Array };
const serve = scanJobServer((cell, env, inputGradients) => new FusedScan(cell, env, inputGradients));

port.on("message", (job: Job) => {
  let reply: Reply;
  try {
    reply = serve(job);
  } catch (e) {
    reply = { error: (e as Error).stack ?? String(e) };
  }
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
