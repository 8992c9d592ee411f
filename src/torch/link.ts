// rnnc's end of the line to the PyTorch trainer: one JSON message per line over a local socket, one request at a time, the trainer's stderr kept for when it fails.
import type { ChildProcess } from "node:child_process";
import type { Server, Socket } from "node:net";
import { RnncError } from "../diagnostics/errors.js";

type Message = Record<string, unknown>;

interface Pending {
  readonly resolve: (m: Message) => void;
  readonly reject: (e: Error) => void;
  readonly progress: ((m: Message) => Promise<void>) | undefined;
  readonly aborted: (() => boolean) | undefined;
  /** Progress messages are heard in order, each after the one before has been handled. */
  chain: Promise<void>;
}

const STDERR_KEPT = 16_000;

export class TrainerLink {
  private socket: Socket | undefined;
  private buffer = "";
  private stderr = "";
  private pending: Pending | undefined;
  private failure: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(server: Server, private readonly child: ChildProcess, token: string) {
    child.stdout?.on("data", (d: Buffer) => this.keep(d));
    child.stderr?.on("data", (d: Buffer) => this.keep(d));
    this.exited = new Promise((done) => child.once("exit", (code, signal) => {
      this.fail(this.failure ?? failed(`the trainer stopped (${signal ? `signal ${signal}` : `exit code ${code}`}) before it answered`, this.stderr));
      done();
    }));
    child.once("error", (e) => this.fail(failed(`the trainer could not be started: ${e.message}`, "")));
    server.on("connection", (socket: Socket) => {
      let greeted = false;
      socket.setEncoding("utf8");
      socket.on("data", (text: string) => {
        this.buffer += text;
        for (let nl = this.buffer.indexOf("\n"); nl >= 0; nl = this.buffer.indexOf("\n")) {
          const line = this.buffer.slice(0, nl);
          this.buffer = this.buffer.slice(nl + 1);
          let m: Message;
          try {
            m = JSON.parse(line) as Message;
          } catch {
            socket.destroy();
            return;
          }
          // Only the trainer this run started knows the token: any other connection is dropped.
          if (!greeted) {
            if (m["hello"] !== token || this.socket) { socket.destroy(); return; }
            greeted = true;
            this.socket = socket;
            continue;
          }
          this.hear(m);
        }
      });
      socket.on("error", () => undefined);
    });
  }

  private keep(d: Buffer): void {
    this.stderr = (this.stderr + d.toString("utf8")).slice(-STDERR_KEPT);
  }

  private hear(m: Message): void {
    const p = this.pending;
    if (typeof m["error"] === "string") {
      this.failure = failed(`the trainer failed: ${m["error"]}`, "");
      this.fail(this.failure);
      return;
    }
    if (!p) return;
    if (m["batch"] !== undefined) {
      p.chain = p.chain.then(() => p.progress?.(m)).catch((e: Error) => this.fail(e));
      return;
    }
    this.pending = undefined;
    void p.chain.then(() => p.resolve(m), p.reject);
  }

  private fail(e: Error): void {
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    // Stopped on purpose (Ctrl-C): the epoch ends there, and fit() keeps the last checkpoint.
    if (p.aborted?.()) void p.chain.then(() => p.resolve({ aborted: true }), () => p.resolve({ aborted: true }));
    else void p.chain.then(() => p.reject(e), () => p.reject(e));
  }

  /** Waits for the trainer to connect and load the model and data. */
  ready(): Promise<Message> {
    return new Promise((resolve, reject) => { this.pending = { resolve, reject, progress: undefined, aborted: undefined, chain: Promise.resolve() }; });
  }

  /** Sends a command; resolves with its answer (progress messages before it go to `progress`). */
  request(cmd: Message, progress?: (m: Message) => Promise<void>, aborted?: () => boolean): Promise<Message> {
    return new Promise((resolve, reject) => {
      if (!this.socket || this.child.exitCode !== null) { reject(this.failure ?? failed("the trainer is not running", this.stderr)); return; }
      this.pending = { resolve, reject, progress, aborted, chain: Promise.resolve() };
      this.socket.write(JSON.stringify(cmd) + "\n");
    });
  }

  /** RNN0611 with the trainer's last output. */
  failedWith(message: string): RnncError {
    return failed(message, this.stderr);
  }

  kill(): void {
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, "SIGKILL");
    } catch {
      this.child.kill("SIGKILL");
    }
  }

  /** Asks the trainer to stop, and waits for it (killed after 10 s). */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.socket?.write(JSON.stringify({ cmd: "stop" }) + "\n");
      const timer = setTimeout(() => this.kill(), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    this.socket?.destroy();
  }
}

/** RNN0611 with the trainer's last lines of output as notes. */
function failed(message: string, output: string): RnncError {
  const lines = output.trim().split("\n").filter(Boolean).slice(-12);
  return new RnncError("RNN0611", message, lines.length ? ["the trainer's last output:", ...lines.map((l) => `  ${l}`)] : [],
    "rnnc train --engine torch --explain names the python and torch it runs; the same command without --engine torch trains in this process");
}
