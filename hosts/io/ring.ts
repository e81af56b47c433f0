// A vhost-style ring: a single-producer/single-consumer frame queue in the
// virtio split-ring shape (descriptor table, available ring, used ring; virtio
// 1.x §2.7) over a SharedArrayBuffer, so a guest in another thread (a worker,
// or a native producer) can be a VNIC without a kernel device. Indices are
// published with Atomics; the consumer sleeps on the available index
// (Atomics.wait/waitAsync) and the producer rings the doorbell with
// Atomics.notify after a batch.
//
// Layout (bytes): header 16 | descriptors N × 16 {addr u32 (buffer offset),
// pad u32, len u32, flags u16, next u16} | avail {flags u16, idx u16,
// ring N × u16} | used {flags u16, idx u16, ring N × {id u32, len u32}} |
// buffers N × bufSize. N is a power of two ≤ 32768.

const HEADER = 16;
const DESC = 16;

export interface RingLayout { size: number; bufSize: number; desc: number; avail: number; used: number; bufs: number; bytes: number }

export function ringLayout(size: number, bufSize: number): RingLayout {
  if (size < 2 || size > 32768 || (size & (size - 1)) !== 0) throw new Error(`ring size must be a power of two in 2..32768, not ${size}`);
  if (bufSize < 64 || bufSize % 8) throw new Error("buffer size must be a multiple of 8, at least 64");
  const desc = HEADER;
  const avail = desc + size * DESC;
  const used = (avail + 4 + 2 * size + 7) & ~7;
  const bufs = (used + 4 + 8 * size + 63) & ~63;
  return { size, bufSize, desc, avail, used, bufs, bytes: bufs + size * bufSize };
}

/** Allocate the shared memory of a ring. */
export function createRing(size = 256, bufSize = 2048): SharedArrayBuffer {
  const l = ringLayout(size, bufSize);
  const sab = new SharedArrayBuffer(l.bytes);
  const h = new Int32Array(sab, 0, 4);
  h[0] = size; h[1] = bufSize;
  return sab;
}

class RingView {
  readonly l: RingLayout;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  /** 32-bit views for Atomics on the (16-bit) ring indices: avail.idx and used.idx live in the low half of these words. */
  readonly availIdx: Int32Array;
  readonly usedIdx: Int32Array;
  constructor(readonly sab: SharedArrayBuffer) {
    const h = new Int32Array(sab, 0, 4);
    this.l = ringLayout(h[0], h[1]);
    this.u8 = new Uint8Array(sab);
    this.dv = new DataView(sab);
    this.availIdx = new Int32Array(sab, this.l.avail, 1);
    this.usedIdx = new Int32Array(sab, this.l.used, 1);
  }
}

/** The side that fills buffers: the guest's transmit ring, or the host's receive ring. */
export class RingProducer extends RingView {
  private free: number[];
  private availHead = 0;      // our next avail.idx (mod 2^16 on the wire)
  private usedSeen = 0;       // used entries reclaimed so far
  readonly stats = { pushed: 0, dropped: 0, bytes: 0 };

  constructor(sab: SharedArrayBuffer) {
    super(sab);
    this.free = Array.from({ length: this.l.size }, (_, i) => i);
  }

  /** Take back the descriptors the consumer has used. */
  private reclaim(): void {
    const used = Atomics.load(this.usedIdx, 0) >>> 16;
    while (this.usedSeen !== used) {
      const slot = this.l.used + 4 + 8 * (this.usedSeen & (this.l.size - 1));
      this.free.push(this.dv.getUint32(slot, true));
      this.usedSeen = (this.usedSeen + 1) & 0xffff;
    }
  }

  /** Queue frames; those that do not fit (ring full or too big) are dropped and counted. Returns how many were queued. */
  push(frames: Uint8Array[]): number {
    this.reclaim();
    let n = 0;
    for (const f of frames) {
      if (f.length > this.l.bufSize || this.free.length === 0) { this.stats.dropped++; continue; }
      const id = this.free.pop()!;
      const buf = this.l.bufs + id * this.l.bufSize;
      this.u8.set(f, buf);
      const d = this.l.desc + id * DESC;
      this.dv.setUint32(d, buf, true);
      this.dv.setUint32(d + 8, f.length, true);
      this.dv.setUint16(d + 12, 0, true);
      this.dv.setUint16(this.l.avail + 4 + 2 * (this.availHead & (this.l.size - 1)), id, true);
      this.availHead = (this.availHead + 1) & 0xffff;
      this.stats.pushed++;
      this.stats.bytes += f.length;
      n++;
    }
    if (n) {
      // publish the new avail.idx (upper 16 bits of the word; the lower 16 are avail.flags) and ring the doorbell
      Atomics.store(this.availIdx, 0, this.availHead << 16);
      Atomics.notify(this.availIdx, 0);
    }
    return n;
  }
}

/** The side that drains: the host for a guest's transmit ring, the guest for its receive ring. */
export class RingConsumer extends RingView {
  private availSeen = 0;
  private usedHead = 0;
  readonly stats = { drained: 0, batches: 0 };

  /** Hand every available frame to `each` (views into the ring, valid during the call), then mark them used. */
  drain(max: number, each: (frame: Uint8Array) => void): number {
    const avail = Atomics.load(this.availIdx, 0) >>> 16;
    let n = 0;
    while (this.availSeen !== avail && n < max) {
      const id = this.dv.getUint16(this.l.avail + 4 + 2 * (this.availSeen & (this.l.size - 1)), true);
      const d = this.l.desc + id * DESC;
      const at = this.dv.getUint32(d, true), len = this.dv.getUint32(d + 8, true);
      each(this.u8.subarray(at, at + len));
      const slot = this.l.used + 4 + 8 * (this.usedHead & (this.l.size - 1));
      this.dv.setUint32(slot, id, true);
      this.dv.setUint32(slot + 4, len, true);
      this.usedHead = (this.usedHead + 1) & 0xffff;
      this.availSeen = (this.availSeen + 1) & 0xffff;
      n++;
    }
    if (n) {
      Atomics.store(this.usedIdx, 0, this.usedHead << 16);
      this.stats.drained += n;
      this.stats.batches++;
    }
    return n;
  }

  /** Resolve when the producer publishes something new (or after `ms`). */
  async wait(ms = 1000): Promise<void> {
    const seen = this.availSeen << 16;
    if ((Atomics.load(this.availIdx, 0) >>> 16) !== this.availSeen) return;
    const r = Atomics.waitAsync(this.availIdx, 0, seen, ms);
    if (r.async) await r.value;
  }
}
