// Errors raised in timers and I/O callbacks (expiry, flow logs, underlay and
// guest frames, usage sampling). Thrown there, an error would end the host
// process from an event-loop tick nobody awaits; here it is counted by where
// it happened, logged, kept as the last fault, and shown in GET /health.

import type { Logger } from "pino";

export class Faults {
  readonly counts: Record<string, number> = {};
  last: { where: string; message: string; time: string } | undefined;
  log: Logger | undefined;

  /** `f` wrapped so that an error is noted and swallowed. */
  guard<A extends unknown[]>(where: string, f: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      try { f(...args); } catch (err) { this.note(where, err); }
    };
  }

  note(where: string, err: unknown): void {
    this.counts[where] = (this.counts[where] ?? 0) + 1;
    const message = err instanceof Error ? err.message : String(err);
    this.last = { where, message, time: new Date().toISOString() };
    this.log?.error({ err, where }, "fault in a timer or I/O callback (counted; the host carries on)");
  }

  get total(): number { return Object.values(this.counts).reduce((a, b) => a + b, 0); }

  toJSON() { return { total: this.total, counts: { ...this.counts }, ...(this.last ? { last: this.last } : {}) }; }
}
