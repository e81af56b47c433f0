// A port's flow log file: JSON lines appended as flows start, end or are
// denied. The file is opened once, when the log is turned on (not following
// a symlink planted where it should be), and a write that fails (disk full,
// I/O error) is counted with its reason, never thrown: it happens in the
// expiry timer, where a throw would end the host.

import { openSync, writeSync, closeSync, constants } from "node:fs";

export class FlowLogFile {
  written = 0;
  errors = 0;
  lastError: string | undefined;
  private fd: number | undefined;

  /** Opens (creating, mode 0640) or throws with the reason: called where a client can be told. */
  constructor(readonly path: string) {
    this.fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o640);
  }

  append(lines: string[]): void {
    if (this.fd === undefined || !lines.length) return;
    const buf = Buffer.from(lines.join("\n") + "\n", "utf8");
    try {
      for (let off = 0; off < buf.length; ) off += writeSync(this.fd, buf, off);
      this.written += lines.length;
    } catch (e) {
      this.errors++;
      this.lastError = (e as Error).message;
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    try { closeSync(this.fd); } catch { /* already gone */ }
    this.fd = undefined;
  }

  toJSON() { return { path: this.path, written: this.written, errors: this.errors, ...(this.lastError ? { lastError: this.lastError } : {}) }; }
}
