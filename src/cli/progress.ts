// A progress bar for long commands: redrawn in place on a terminal; elsewhere (logs, pipes) a line every 10 s of a long run.

export class Progress {
  private last = 0;
  private readonly start = Date.now();
  private lastLine = Date.now();
  private readonly tty: boolean;

  constructor(private readonly label: string, private readonly total: number, private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = out.isTTY === true;
  }

  update(done: number, note = ""): void {
    const now = Date.now();
    if (!this.tty) {
      if (now - this.lastLine < 10_000 || done >= this.total) return;
      this.lastLine = now;
      this.out.write(`${this.label}  ${Math.floor((done / this.total) * 100)}% (${done}/${this.total})  ${note}  (${((now - this.start) / 1000).toFixed(0)}s)\n`);
      return;
    }
    if (done < this.total && now - this.last < 100) return;
    this.last = now;
    const width = 24;
    const filled = Math.round((done / this.total) * width);
    this.out.write(`\r${this.label} [${"=".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${this.total} ${note}\x1b[K`);
  }

  /** Ends the bar with a line that stays. */
  finish(line: string): void {
    const secs = ((Date.now() - this.start) / 1000).toFixed(1);
    this.out.write(`${this.tty ? "\r\x1b[K" : ""}${line} (${secs}s)\n`);
  }
}
