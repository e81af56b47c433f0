// Taking and restoring snapshots of a port in a running engine.

import { Engine, EngineError } from "../engine/engine.js";

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

export function restoreSnapshot(e: Engine, port: number, bytes: Uint8Array, now = Date.now()): void {
  const ptr = e.put(bytes);
  try {
    const r = e.fn("portSnapshotRestore")(port, ptr, bytes.length, now) >>> 0;
    if (r !== 0) throw new EngineError("portSnapshotRestore", r);
  } finally {
    e.fn("free")(ptr);
  }
}
