// The second core for the fused kernels: a worker thread that runs half of each batch, handed work synchronously.
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { scanHelper, setScanHelper, type Job, type Reply, type ScanHelper } from "../fused/parallel.js";
import { packageRoot } from "./host.js";

export { MIN_SPLIT_ROWS, MIN_SPLIT_WORK } from "../fused/parallel.js";

let worker: Worker | undefined;

/**
 * Starts the helper thread (once) where there is a second core, and installs it for every fused scan; returns whether
 * one runs. The thread does not keep the process alive. `RNNC_THREADS=1` turns it off.
 */
export function startScanHelper(): boolean {
  if (scanHelper()) return true;
  if (availableParallelism() < 2 || process.env["RNNC_THREADS"] === "1") return false;
  // The built file, also when this module runs from its TypeScript source (the tests).
  const script = join(packageRoot, "dist", "node", "scan-worker.js");
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  worker = new Worker(script, { workerData: { port: port2, flag }, transferList: [port2] });
  worker.unref();
  let stopped: string | undefined;
  worker.on("error", (e) => { stopped = e.message; });
  worker.on("exit", (code) => { stopped ??= `exited with code ${code}`; });
  const helper: ScanHelper = {
    post(job: Job) {
      Atomics.store(flag, 0, 0);
      port1.postMessage(job);
    },
    wait(): Reply {
      // The helper posts its reply, then raises the flag; a thread that died raises nothing, so wait in slices.
      for (;;) {
        Atomics.wait(flag, 0, 0, 500);
        const m = receiveMessageOnPort(port1);
        if (m) return m.message as Reply;
        if (stopped !== undefined || worker!.threadId < 0) throw new Error(`internal: the kernel helper thread stopped (${stopped ?? "no reason given"})`);
      }
    },
  };
  setScanHelper(helper);
  return true;
}

/** Stops the helper thread; fused scans run on this thread alone again. */
export async function stopScanHelper(): Promise<void> {
  setScanHelper(undefined);
  const w = worker;
  worker = undefined;
  if (w) await w.terminate();
}
