// Flow checkpoints: every port's flow state (NAT bindings, TCP state, the
// firewall's decisions; docs/snapshot-format.md) written in the snapshot
// format into the sled's state directory, at an interval and at a clean
// stop, and restored when the sled host starts again, once its ports are up.
// Established connections then survive a restart of the sled host, with the
// same SNAT port; OPTE loses them when xde reloads.
//
// What survives (docs/sled-api.md "Flow checkpoints"): a clean stop (SIGTERM,
// SIGINT) writes a last checkpoint after the guest devices and the underlay
// are closed, so every flow comes back; `kill -9` loses what changed since
// the last checkpoint. Each file is written whole or not at all (temporary
// file, fsync, rename, fsync of the directory). A checkpoint the restore's
// checks refuse (a port configured differently since, a damaged file) is
// logged, counted and kept aside as <port>.snap.refused; the port starts
// empty and the sled carries on.

import { open, rename, readdir, unlink, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { SledHost } from "./sled.js";
import { exportSnapshot, restoreSnapshot, SnapshotRefused } from "../snapshot/engine.js";
import { silentLogger } from "../lib/log.js";

export interface CheckpointOptions {
  /** The sled's state directory; checkpoints go in its `flows/` directory. */
  dir: string;
  /** Between checkpoints, in ms; 0: only at a clean stop. */
  intervalMs: number;
  log?: Logger;
}

export interface CheckpointStats {
  /** Rounds written whole, rounds that failed (a write error), rounds skipped (the previous one still writing). */
  written: number; failed: number; skipped: number;
  /** Ports restored at start, checkpoints refused by the snapshot checks, files that could not be read. */
  restored: number; refused: number; unreadable: number;
  last?: { time: string; ports: number; flows: number; bytes: number; ms: number };
  lastError?: { time: string; message: string };
  /** The last refusals at start: which port, and why. */
  refusals: { port: string; error: string }[];
}

const SUFFIX = ".snap";

export class FlowCheckpoints {
  readonly stats: CheckpointStats = { written: 0, failed: 0, skipped: 0, restored: 0, refused: 0, unreadable: 0, refusals: [] };
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<boolean> | undefined;
  private readonly log: Logger;

  constructor(private readonly host: SledHost, private readonly o: CheckpointOptions) {
    this.log = (o.log ?? silentLogger()).child({ checkpoints: this.dir });
  }

  get dir(): string { return join(this.o.dir, "flows"); }
  get intervalMs(): number { return this.o.intervalMs; }
  private file(port: string): string { return join(this.dir, port + SUFFIX); }

  /**
   * Put each port's last checkpoint back (call once, after the ports are up
   * and before start()). Never throws: a refused or unreadable file leaves
   * its port empty, logged and counted.
   */
  async restore(): Promise<void> {
    for (const name of [...this.host.ports.keys()]) {
      let bytes: Uint8Array;
      try { bytes = await readFile(this.file(name)); } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        this.stats.unreadable++;
        this.log.warn({ port: name, err }, "cannot read the port's flow checkpoint; the port starts with no flows");
        continue;
      }
      try {
        const flows = await this.host.serialized(() => {
          const p = this.host.ports.get(name);
          if (!p) return undefined; // removed meanwhile
          restoreSnapshot(this.host.engine, p.id, bytes, Date.now(), name);
          return this.host.engine.flowCount(p.id);
        });
        if (flows === undefined) continue;
        this.stats.restored++;
        this.log.info({ port: name, flows, bytes: bytes.length }, "flows restored from the checkpoint");
      } catch (err) {
        const error = err instanceof SnapshotRefused ? err.why : (err as Error).message;
        this.stats.refused++;
        this.stats.refusals = [...this.stats.refusals, { port: name, error }].slice(-16);
        this.log.warn({ port: name, error }, "flow checkpoint refused; the port starts with no flows (the file is kept as .snap.refused)");
        await rename(this.file(name), this.file(name) + ".refused").catch(() => {});
      }
    }
  }

  /** Checkpoint every intervalMs from now on (nothing when 0). */
  start(): void {
    if (this.o.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => { void this.checkpoint(); }, this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One round: every port's flows, taken together between control-plane
   * changes, each written to its file atomically; files of ports no longer
   * here are removed. A round still writing makes this one a skip, unless
   * `wait` (the last round at a clean stop waits for it, then writes). True
   * if written; never throws.
   */
  async checkpoint(wait = false): Promise<boolean> {
    if (this.writing) {
      if (!wait) { this.stats.skipped++; return false; }
      await this.writing;
    }
    this.writing = this.round().finally(() => { this.writing = undefined; });
    return this.writing;
  }

  private async round(): Promise<boolean> {
    const t0 = performance.now();
    try {
      // the engine's state at one moment: taken synchronously, written afterwards
      const snaps = await this.host.serialized(() =>
        [...this.host.ports.values()].map((p) => ({ name: p.name, bytes: exportSnapshot(this.host.engine, p.id), flows: this.host.engine.flowCount(p.id) })));
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      for (const s of snaps) await writeAtomic(this.file(s.name), s.bytes);
      const keep = new Set(snaps.map((s) => s.name + SUFFIX));
      for (const f of await readdir(this.dir)) {
        if ((f.endsWith(SUFFIX) && !keep.has(f)) || f.endsWith(".tmp")) await unlink(join(this.dir, f)).catch(() => {});
      }
      await syncDir(this.dir);
      this.stats.written++;
      this.stats.last = { time: new Date().toISOString(), ports: snaps.length, flows: snaps.reduce((a, s) => a + s.flows, 0),
        bytes: snaps.reduce((a, s) => a + s.bytes.length, 0), ms: Math.round(performance.now() - t0) };
      return true;
    } catch (err) {
      this.stats.failed++;
      this.stats.lastError = { time: new Date().toISOString(), message: (err as Error).message };
      this.log.error({ err }, "flow checkpoint failed (counted; the previous one stays)");
      return false;
    }
  }

  toJSON() { return { dir: this.dir, intervalMs: this.o.intervalMs, ...this.stats }; }
}

/** Write `bytes` to `path` whole or not at all: a temporary file beside it, fsync, rename. */
export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** Make the directory's entries (the renames) durable. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try { await fh.sync(); } finally { await fh.close(); }
}
