// What the sled host needs from a guest VNIC: batches of frames in, batches
// of frames out. TAP devices and vhost-style rings (hosts/io) and the
// in-memory device used by tests all fit this shape.

import type { FrameBatch } from "../io/ring.js";

export interface GuestDevice {
  readonly kind: string;
  readonly name: string;
  /** Called with each batch of frames the guest sent. */
  onFrames(cb: (frames: Uint8Array[]) => void): void;
  /** Deliver frames to the guest. */
  send(frames: Uint8Array[]): void;
  close(): void;
  /**
   * The copy-free path, when the device has one (TAP devices and rings do):
   * batches as views valid during the call, and output staged straight from
   * engine memory then sent with one doorbell.
   */
  onBatch?(cb: (batch: FrameBatch) => void): void;
  stage?(buf: Uint8Array, off: number, len: number): boolean;
  commit?(): void;
}

/** An in-process device: tests and embedders push guest frames and read what the port delivered. */
export class MemoryDevice implements GuestDevice {
  readonly kind = "memory";
  private cb: ((frames: Uint8Array[]) => void) | undefined;
  readonly delivered: Uint8Array[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly name: string) {}

  onFrames(cb: (frames: Uint8Array[]) => void): void { this.cb = cb; }
  /** The guest transmits. */
  inject(frames: Uint8Array[]): void { this.cb?.(frames); }
  send(frames: Uint8Array[]): void {
    for (const f of frames) this.delivered.push(Uint8Array.from(f));
    const w = this.waiters; this.waiters = [];
    for (const resolve of w) resolve();
  }
  /** Resolve once at least `n` frames were delivered (or reject after `ms`). */
  async waitFor(n: number, ms = 2000): Promise<Uint8Array[]> {
    const deadline = Date.now() + ms;
    while (this.delivered.length < n) {
      if (Date.now() > deadline) throw new Error(`${this.name}: ${this.delivered.length} of ${n} frames delivered after ${ms} ms`);
      await new Promise<void>((resolve) => { this.waiters.push(resolve); setTimeout(resolve, 20); });
    }
    return this.delivered;
  }
  close(): void { this.cb = undefined; }
}
