// Snapshots of a sled port's flow state, for live migration and checkpoints
// (docs/snapshot-format.md).

import type { SledHost } from "./sled.js";
import { markSnapshot, exportSnapshot, restoreSnapshot, checkSnapshot, SnapshotVerdict } from "../snapshot/engine.js";

export function markPortSnapshot(h: SledHost, name: string): number {
  return markSnapshot(h.engine, h.port(name).id);
}

export function exportPortSnapshot(h: SledHost, name: string, since?: number): Uint8Array {
  return exportSnapshot(h.engine, h.port(name).id, { since });
}

/** Restore flow state into a port, between control-plane changes; refused whole (SnapshotRefused) or restored whole. */
export function restorePortSnapshot(h: SledHost, name: string, bytes: Uint8Array): Promise<void> {
  return h.serialized(() => restoreSnapshot(h.engine, h.port(name).id, bytes, Date.now(), name));
}

/** The checks a restore into the port would run, changing nothing. */
export function checkPortSnapshot(h: SledHost, name: string, bytes: Uint8Array): Promise<SnapshotVerdict> {
  return h.serialized(() => checkSnapshot(h.engine, h.port(name).id, bytes, name));
}
