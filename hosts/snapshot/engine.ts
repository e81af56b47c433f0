// Taking, checking and restoring snapshots of a port in a running engine.

import { Engine, EngineError } from "../engine/engine.js";
import { reasonNumber } from "../engine/reasons.js";
import { readCheckDetail, describeCheck, SnapshotCheckDetail } from "./checks.js";

/** A snapshot the engine's checks refused: the message says which check, about what. */
export class SnapshotRefused extends EngineError {
  constructor(op: string, reason: number, readonly detail: SnapshotCheckDetail, readonly why: string) {
    super(op, reason);
    this.message = `could not restore the snapshot: ${why}`;
  }
}

/** Start a dirty generation (pre-copy); later incremental exports carry only what changed after it. */
export function markSnapshot(e: Engine, port: number): number {
  return e.fn("portSnapshotMark")(port) >>> 0;
}

export function exportSnapshot(e: Engine, port: number, o: { since?: number; now?: number } = {}): Uint8Array {
  const len = e.fn("portSnapshotBegin")(port, o.since ?? 0, o.now ?? Date.now()) >>> 0;
  if (len === 0) throw new EngineError("portSnapshotBegin", e.fn("portSnapshotError")() >>> 0);
  const ptr = e.fn("portSnapshotPtr")();
  return e.u8.slice(ptr, ptr + len);
}


function withSnapshot<T>(e: Engine, bytes: Uint8Array, f: (ptr: number) => T): T {
  const ptr = e.put(bytes);
  try { return f(ptr); } finally { e.fn("free")(ptr); }
}

/** Restore into engine port `port`; throws SnapshotRefused (port unchanged) when a check fails. `name` names it in the message. */
export function restoreSnapshot(e: Engine, port: number, bytes: Uint8Array, now = Date.now(), name?: string): void {
  const r = withSnapshot(e, bytes, (ptr) => e.fn("portSnapshotRestore")(port, ptr, bytes.length, now) >>> 0);
  if (r === 0) return;
  const detail = r === reasonNumber("NoPort") ? undefined : readCheckDetail(e);
  // no such port (or a table that filled after all) is not a check's refusal
  if (!detail || detail.check === "None") throw new EngineError("portSnapshotRestore", r);
  throw new SnapshotRefused("portSnapshotRestore", r, detail, describeCheck(detail, name ?? String(port)));
}

export type SnapshotVerdict = { ok: true } | { ok: false; reason: number; detail: SnapshotCheckDetail; message: string };

/**
 * Run the checks a restore runs, changing nothing: against engine port `port`
 * (exactly what a restore into it would say), or with `port` undefined on
 * the snapshot alone (its own pools, one VNI, the largest table).
 */
export function checkSnapshot(e: Engine, port: number | undefined, bytes: Uint8Array, name?: string): SnapshotVerdict {
  const r = withSnapshot(e, bytes, (ptr) =>
    (port === undefined ? e.fn("snapshotCheckAlone")(ptr, bytes.length) : e.fn("portSnapshotCheck")(port, ptr, bytes.length)) >>> 0);
  if (r === 0) return { ok: true };
  if (r === reasonNumber("NoPort")) throw new EngineError("portSnapshotRestore", r);
  const detail = readCheckDetail(e);
  return { ok: false, reason: r, detail, message: describeCheck(detail, port === undefined ? undefined : name ?? String(port)) };
}
