// The one shape every guest-facing frame device has in the sled host: frames
// come in as batches (one wake-up per batch, views into shared memory) and go
// out as batches. TapDevice (a kernel TAP through the native addon) and
// RingDevice (vhost-style rings shared with a worker) implement it; the sled
// host's GuestDevice (hosts/sled/devices.ts) is the subset it needs.

import type { FrameBatch } from "./ring.js";

export type { FrameBatch } from "./ring.js";

/** Counters every device keeps; drops are split by reason. */
export interface DeviceStats {
  /** frames and batches handed to onBatch/onFrames */
  rxFrames: number;
  rxBatches: number;
  rxBytes: number;
  /** frames lost before JS saw them: bigger than a ring buffer, read errors (a TAP whose ring is full leaves frames in the kernel, which counts its own drops) */
  rxDropped: number;
  /** frames accepted by send() */
  txFrames: number;
  txBytes: number;
  /** frames send() could not queue: transmit ring full or frame too big */
  txDropped: number;
}

export interface FrameDevice {
  readonly kind: string;
  readonly name: string;
  /**
   * The zero-copy path: `cb` gets each batch of received frames as views into
   * ring memory, in a FrameBatch reused from call to call. The views are valid
   * only during the call; forward them (send, pushBatch) or copy them.
   */
  onBatch(cb: (batch: FrameBatch) => void): void;
  /** The keepable path: each batch as copies (one allocation per batch). */
  onFrames(cb: (frames: Uint8Array[]) => void): void;
  /** Queue frames for the other side; returns how many were queued (the rest are counted in txDropped). */
  send(frames: readonly Uint8Array[]): number;
  /** Queue a received batch as it is (no per-frame views). */
  sendBatch(batch: FrameBatch): number;
  /** Copy one frame (bytes [off, off+len) of `buf`) in without sending yet; false (counted) if it does not fit. */
  stage(buf: Uint8Array, off: number, len: number): boolean;
  /** Send everything staged, with one doorbell. */
  commit(): void;
  stats(): DeviceStats;
  close(): void;
}
