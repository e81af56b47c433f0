// A VNIC over two vhost-style rings (hosts/io/ring.ts): the guest transmits
// on one, the host on the other. RingDevice is the host's end (a GuestDevice
// for the sled host); GuestRings is the guest's end, usable from a worker.

import { createRing, RingConsumer, RingProducer } from "./ring.js";
import type { GuestDevice } from "../sled/devices.js";

export interface VnicRings { tx: SharedArrayBuffer; rx: SharedArrayBuffer }

/** Shared memory for one VNIC: `tx` carries guest → host, `rx` host → guest. */
export function createVnicRings(size = 512, bufSize = 2048): VnicRings {
  return { tx: createRing(size, bufSize), rx: createRing(size, bufSize) };
}

/** Drain a ring whenever the producer rings, handing over copies in batches. */
function pump(c: RingConsumer, cb: (frames: Uint8Array[]) => void, stopped: () => boolean, batch = 256): void {
  const loop = async () => {
    while (!stopped()) {
      await c.wait(200);
      const frames: Uint8Array[] = [];
      while (c.drain(batch, (f) => frames.push(Uint8Array.from(f))) > 0) {
        cb(frames.splice(0));
      }
    }
  };
  void loop();
}

export class RingDevice implements GuestDevice {
  readonly kind = "ring";
  private readonly fromGuest: RingConsumer;
  private readonly toGuest: RingProducer;
  private closed = false;

  constructor(readonly name: string, rings: VnicRings) {
    this.fromGuest = new RingConsumer(rings.tx);
    this.toGuest = new RingProducer(rings.rx);
  }

  onFrames(cb: (frames: Uint8Array[]) => void): void { pump(this.fromGuest, cb, () => this.closed); }
  send(frames: Uint8Array[]): void { if (!this.closed) this.toGuest.push(frames); }
  stats() { return { rx: this.fromGuest.stats, tx: this.toGuest.stats }; }
  close(): void { this.closed = true; }
}

export class GuestRings {
  private readonly out: RingProducer;
  private readonly in: RingConsumer;
  private closed = false;

  constructor(rings: VnicRings) {
    this.out = new RingProducer(rings.tx);
    this.in = new RingConsumer(rings.rx);
  }

  /** Transmit frames to the host; returns how many fit in the ring. */
  send(frames: Uint8Array[]): number { return this.out.push(frames); }
  onFrames(cb: (frames: Uint8Array[]) => void): void { pump(this.in, cb, () => this.closed); }
  stats() { return { tx: this.out.stats, rx: this.in.stats }; }
  close(): void { this.closed = true; }
}
