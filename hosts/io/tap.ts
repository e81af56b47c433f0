// A frame device on a Linux TAP interface, through the wopte_tap native addon
// (hosts/native/tap.c). The addon's I/O thread reads frames straight into a
// receive ring and writes what we queue on a transmit ring; both rings are
// vhost-style rings (./ring.ts) in SharedArrayBuffers. The JS thread wakes
// once per batch, drains the receive ring in place, and kicks the I/O thread
// only when it has gone to sleep (virtio notification suppression).

import { createRequire } from "node:module";
import { join } from "node:path";
import { packageRoot } from "../engine/wasm.js";
import { createRing, FrameBatch, RingConsumer, RingProducer } from "./ring.js";
import type { DeviceStats, FrameDevice } from "./device.js";

export interface TapFlags { vnetHdr?: boolean; multiQueue?: boolean }

/** Counters of the addon's I/O thread. */
export interface TapNativeStats {
  rxFrames: number; rxBytes: number; rxNotifies: number;
  /** times the reader found the receive ring full and waited for JS (the frames meanwhile queue, or drop, in the kernel: the interface's tx_dropped) */
  rxFullWaits: number;
  rxTooBig: number; rxErrors: number;
  txFrames: number; txBytes: number; txErrors: number; txKicks: number; wakeups: number;
}

declare const handleBrand: unique symbol;
export type TapHandle = { readonly [handleBrand]: true };

/** The addon's functions, as hosts/native/tap.c exports them. */
export interface TapAddon {
  openTap(name: string, flags?: TapFlags): { fd: number; name: string };
  attach(fd: number, rx: Uint8Array, tx: Uint8Array, onRx: () => void): TapHandle;
  kick(h: TapHandle): void;
  stats(h: TapHandle): TapNativeStats;
  close(h: TapHandle | number): void;
}

let addon: TapAddon | undefined;
/** Load the addon built by `npm run build:native`. */
export function tapAddon(): TapAddon {
  if (!addon) {
    const require = createRequire(import.meta.url);
    addon = require(join(packageRoot(), "hosts", "native", "build", "Release", "wopte_tap.node")) as TapAddon;
  }
  return addon;
}

/** Open (create or attach to) TAP interface `name` and return its raw fd. Needs CAP_NET_ADMIN. */
export function openTap(name: string, flags?: TapFlags): { fd: number; name: string } {
  return tapAddon().openTap(name, flags);
}

export interface TapOptions extends TapFlags {
  /** descriptors per ring (power of two), default 1024 */
  ringSize?: number;
  /** bytes per ring buffer, default 2048 (frames up to 2048 B; more with vnetHdr/GSO) */
  bufSize?: number;
  /** frames per onBatch call, default 256 */
  maxBatch?: number;
}

export class TapDevice implements FrameDevice {
  readonly kind = "tap";
  private readonly handle: TapHandle;
  private readonly rx: RingConsumer;
  private readonly tx: RingProducer;
  private readonly batch: FrameBatch;
  private cb: ((b: FrameBatch) => void) | undefined;
  private open = true;
  private scheduled = false;

  private constructor(readonly name: string, readonly fd: number, o: TapOptions) {
    const rxMem = createRing(o.ringSize ?? 1024, o.bufSize ?? 2048), txMem = createRing(o.ringSize ?? 1024, o.bufSize ?? 2048);
    this.rx = new RingConsumer(rxMem);
    this.tx = new RingProducer(txMem);
    this.batch = new FrameBatch(o.maxBatch ?? 256);
    this.handle = tapAddon().attach(fd, new Uint8Array(rxMem), new Uint8Array(txMem), () => this.schedule());
  }

  /** Create (or attach to) TAP interface `name` and start its I/O thread. Needs CAP_NET_ADMIN. */
  static open(name: string, o: TapOptions = {}): TapDevice {
    const t = openTap(name, { vnetHdr: o.vnetHdr, multiQueue: o.multiQueue });
    try {
      return new TapDevice(t.name, t.fd, o);
    } catch (e) {
      tapAddon().close(t.fd);
      throw e;
    }
  }

  /**
   * The I/O thread's wake-up only schedules a drain. Draining inside the
   * wake-up itself starved the event loop: Node dispatches a threadsafe
   * function's queued calls back to back (up to 1000 per loop turn), and the
   * reader queues the next call as soon as the last one starts, so under load
   * timers, sockets and the HTTP API waited seconds. Draining from
   * setImmediate gives them a turn after every ring's worth.
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  /** Drain the receive ring: at most one ring's worth per turn of the event loop. */
  private drain(): void {
    this.scheduled = false;
    if (!this.open || !this.cb) return;
    let n = 0;
    while (n < this.rx.capacity && this.rx.drainBatch(this.batch, this.cb) > 0) n += this.batch.count;
    // the reader stopped on a full ring: it has buffers again
    if (n > 0 && this.rx.producerWaiting()) tapAddon().kick(this.handle);
    if (this.rx.pending() > 0) this.schedule();
  }

  onBatch(cb: (batch: FrameBatch) => void): void {
    this.cb = cb;
    this.drain(); // whatever arrived before anyone listened
  }

  onFrames(cb: (frames: Uint8Array[]) => void): void { this.onBatch((b) => cb(b.copy())); }

  private kick(): void { if (this.tx.kickWanted()) tapAddon().kick(this.handle); }

  send(frames: readonly Uint8Array[]): number {
    if (!this.open) return 0;
    const n = this.tx.push(frames);
    if (n) this.kick();
    return n;
  }

  sendBatch(batch: FrameBatch): number {
    if (!this.open) return 0;
    const n = this.tx.pushBatch(batch);
    if (n) this.kick();
    return n;
  }

  stage(buf: Uint8Array, off: number, len: number): boolean { return this.open && this.tx.stage(buf, off, len); }
  commit(): void { if (this.tx.commit()) this.kick(); }

  /** The JS side's view plus the I/O thread's own counters. */
  stats(): DeviceStats & { native: TapNativeStats; txFull: number; txTooBig: number } {
    const native = tapAddon().stats(this.handle);
    return {
      rxFrames: this.rx.stats.drained, rxBatches: this.rx.stats.batches, rxBytes: this.rx.stats.bytes,
      rxDropped: native.rxTooBig + native.rxErrors,
      txFrames: this.tx.stats.pushed, txBytes: this.tx.stats.bytes, txDropped: this.tx.stats.dropped,
      txFull: this.tx.stats.full, txTooBig: this.tx.stats.tooBig, native,
    };
  }

  /** Stop the I/O thread and close the fd (a non-persistent TAP interface goes with it). */
  close(): void {
    if (!this.open) return;
    this.open = false;
    tapAddon().close(this.handle);
  }
}
