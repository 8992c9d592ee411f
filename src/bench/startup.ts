// Start-up time of the command line: `rnnc check` and `rnnc explain` against `node -e ''`, medians of fresh processes.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../node/host.js";

export interface StartupRow { readonly command: string; readonly medianMs: number; readonly overNodeMs: number }

function medianMs(args: readonly string[], reps: number): number {
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { cwd: packageRoot, encoding: "utf8" });
    ms.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`${args.join(" ")} exited with ${r.status}: ${r.stderr}`);
  }
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)]!;
}

/** Each command run `reps` times as a new process (the way a user or an editor's task runs it). */
export function benchStartup(reps: number): StartupRow[] {
  const cli = join(packageRoot, "dist", "cli", "main.js");
  const node = medianMs(["-e", ""], reps);
  const rows: [string, string[]][] = [
    ["node -e ''", ["-e", ""]],
    ["rnnc explain RNN0301", [cli, "explain", "RNN0301"]],
    ["rnnc check examples/seed-lstm.rnn", [cli, "check", "examples/seed-lstm.rnn"]],
    ["rnnc check stdlib/*.rnn", [cli, "check", "stdlib/elman.rnn", "stdlib/gru.rnn", "stdlib/layers.rnn", "stdlib/lstm.rnn"]],
  ];
  return rows.map(([command, args]) => {
    const m = command === "node -e ''" ? node : medianMs(args, reps);
    return { command, medianMs: m, overNodeMs: m - node };
  });
}
