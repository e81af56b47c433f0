// A VNIC over two vhost-style rings (./ring.ts): the guest transmits on one,
// the host on the other. RingDevice is the host's end (a FrameDevice, and so a
// GuestDevice for the sled host); GuestRings is the guest's end, usable from a
// worker thread. A consumer sleeps on its ring's doorbell (Atomics.waitAsync)
// and drains whole batches per wake-up into a reused FrameBatch.

import { createRing, FrameBatch, RingConsumer, RingProducer } from "./ring.js";
import type { DeviceStats, FrameDevice } from "./device.js";

export interface VnicRings { tx: SharedArrayBuffer; rx: SharedArrayBuffer }

/** Shared memory for one VNIC: `tx` carries guest → host, `rx` host → guest. */
export function createVnicRings(size = 512, bufSize = 2048): VnicRings {
  return { tx: createRing(size, bufSize), rx: createRing(size, bufSize) };
}

/** One end of a VNIC: drains `input`, fills `output`. */
class RingEnd {
  protected readonly input: RingConsumer;
  protected readonly output: RingProducer;
  private readonly batch: FrameBatch;
  private closed = false;
  private pumping = false;

  constructor(input: SharedArrayBuffer, output: SharedArrayBuffer, maxBatch: number) {
    this.input = new RingConsumer(input);
    this.output = new RingProducer(output);
    this.batch = new FrameBatch(maxBatch);
  }

  /** Drain whenever the producer rings, one callback per batch. */
  onBatch(cb: (batch: FrameBatch) => void): void {
    if (this.pumping) throw new Error("onBatch/onFrames: one listener per ring");
    this.pumping = true;
    const loop = async () => {
      while (!this.closed) {
        await this.input.wait(200);
        while (!this.closed && this.input.drainBatch(this.batch, cb) > 0) { /* next batch */ }
      }
    };
    void loop();
  }

  onFrames(cb: (frames: Uint8Array[]) => void): void { this.onBatch((b) => cb(b.copy())); }
  send(frames: readonly Uint8Array[]): number { return this.closed ? 0 : this.output.push(frames); }
  sendBatch(batch: FrameBatch): number { return this.closed ? 0 : this.output.pushBatch(batch); }
  stage(buf: Uint8Array, off: number, len: number): boolean { return !this.closed && this.output.stage(buf, off, len); }
  commit(): void { this.output.commit(); }

  stats(): DeviceStats {
    const i = this.input.stats, o = this.output.stats;
    return { rxFrames: i.drained, rxBatches: i.batches, rxBytes: i.bytes, rxDropped: 0, txFrames: o.pushed, txBytes: o.bytes, txDropped: o.dropped };
  }

  close(): void { this.closed = true; }
}

/** The host's end of a VNIC: receives what the guest transmits. */
export class RingDevice extends RingEnd implements FrameDevice {
  readonly kind = "ring";
  constructor(readonly name: string, rings: VnicRings, maxBatch = 256) { super(rings.tx, rings.rx, maxBatch); }
}

/** The guest's end of a VNIC (in a worker, or a test). */
export class GuestRings extends RingEnd {
  constructor(rings: VnicRings, maxBatch = 256) { super(rings.rx, rings.tx, maxBatch); }
}
