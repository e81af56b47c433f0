// Snapshots of a sled port's flow state, for live migration (docs/snapshot-format.md).

import type { SledHost } from "./sled.js";
import { EngineError } from "../engine/engine.js";

/** Start a new dirty generation; an incremental export `since` it carries only what changed after. */
export function markPortSnapshot(h: SledHost, name: string): number {
  return h.engine.fn("portSnapshotMark")(h.port(name).id) >>> 0;
}

export function exportPortSnapshot(h: SledHost, name: string, since?: number): Uint8Array {
  const e = h.engine;
  const id = h.port(name).id;
  const len = e.fn("portSnapshotBegin")(id, since ?? 0, Date.now()) >>> 0;
  if (len === 0) throw new EngineError("portSnapshotBegin", e.fn("portSnapshotError")() >>> 0);
  const ptr = e.fn("portSnapshotPtr")();
  return e.u8.slice(ptr, ptr + len);
}

export function restorePortSnapshot(h: SledHost, name: string, bytes: Uint8Array): void {
  const e = h.engine;
  const id = h.port(name).id;
  const ptr = e.put(bytes);
  try {
    const r = e.fn("portSnapshotRestore")(id, ptr, bytes.length, Date.now()) >>> 0;
    if (r !== 0) throw new EngineError("portSnapshotRestore", r);
  } finally {
    e.fn("free")(ptr);
  }
}
