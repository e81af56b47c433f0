// A vhost-style ring: a single-producer/single-consumer frame queue in the
// virtio split-ring shape (descriptor table, available ring, used ring; virtio
// 1.x §2.7) over a SharedArrayBuffer, so a guest in another thread (a worker,
// or the TAP addon's native I/O thread) can be a VNIC without a kernel device.
// Indices are published with Atomics; a JS consumer sleeps on the available
// index (Atomics.wait/waitAsync) and the producer rings the doorbell with
// Atomics.notify once per batch. A native consumer instead sets
// VRING_USED_F_NO_NOTIFY while it is awake (§2.7.10) and the producer kicks
// it only when that flag is clear.
//
// Layout (bytes, host byte order): header 16 {size u32, bufSize u32} |
// descriptors N × 16 {addr u32 (buffer offset), pad u32, len u32, flags u16,
// next u16} | avail {flags u16, idx u16, ring N × u16} | used {flags u16,
// idx u16, ring N × {id u32, len u32}} | buffers N × bufSize. N is a power of
// two ≤ 32768; descriptor i always owns buffer i. hosts/native/tap.c reads the
// same layout.

const HEADER = 16;
const DESC = 16;
/** used.flags bit: the consumer is awake and needs no kick. */
/** Ours, in avail.flags: the producer found the ring full and waits for a kick when buffers come back. */
export const AVAIL_F_WAITING = 0x8000;
export const USED_F_NO_NOTIFY = 1;

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

/** Allocate the shared memory of a ring of `size` descriptors with `bufSize`-byte buffers. */
export function createRing(size = 256, bufSize = 2048): SharedArrayBuffer {
  const l = ringLayout(size, bufSize);
  const sab = new SharedArrayBuffer(l.bytes);
  const h = new Uint32Array(sab, 0, 4);
  h[0] = size; h[1] = bufSize;
  return sab;
}

/**
 * A batch of frames as views into ring memory, reused from batch to batch so
 * the hot path allocates nothing: frame i is `buf[offsets[i] .. offsets[i] + lengths[i])`.
 * Valid only during the callback it is handed to; `copy()` keeps frames.
 */
export class FrameBatch {
  count = 0;
  buf: Uint8Array = new Uint8Array(0);
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  constructor(readonly max = 256) {
    this.offsets = new Uint32Array(max);
    this.lengths = new Uint32Array(max);
  }
  /** A view of frame i (allocates a view, not the bytes). */
  frame(i: number): Uint8Array { return this.buf.subarray(this.offsets[i], this.offsets[i] + this.lengths[i]); }
  /** Copies of every frame, in one allocation for the whole batch. */
  copy(): Uint8Array[] {
    let total = 0;
    for (let i = 0; i < this.count; i++) total += this.lengths[i];
    const mem = new Uint8Array(total);
    const out: Uint8Array[] = new Array(this.count);
    for (let i = 0, at = 0; i < this.count; i++) {
      const o = this.offsets[i], n = this.lengths[i];
      mem.set(this.buf.subarray(o, o + n), at);
      out[i] = mem.subarray(at, at + n);
      at += n;
    }
    return out;
  }
}

class RingView {
  readonly l: RingLayout;
  readonly u8: Uint8Array;
  protected readonly u16: Uint16Array;
  protected readonly u32: Uint32Array;
  /** The avail and used words {flags u16, idx u16} as one Int32 each, for Atomics: idx is the upper half. */
  readonly availWord: Int32Array;
  readonly usedWord: Int32Array;
  constructor(readonly sab: SharedArrayBuffer) {
    const h = new Uint32Array(sab, 0, 4);
    this.l = ringLayout(h[0], h[1]);
    if (sab.byteLength < this.l.bytes) throw new Error(`ring memory is ${sab.byteLength} bytes, the layout needs ${this.l.bytes}`);
    this.u8 = new Uint8Array(sab);
    this.u16 = new Uint16Array(sab, 0, this.l.bufs >> 1);
    this.u32 = new Uint32Array(sab, 0, this.l.bufs >> 2);
    this.availWord = new Int32Array(sab, this.l.avail, 1);
    this.usedWord = new Int32Array(sab, this.l.used, 1);
  }
  /** Descriptors in the ring. */
  get capacity(): number { return this.l.size; }
}

export interface ProducerStats { pushed: number; bytes: number; dropped: number; full: number; tooBig: number }

/** The side that fills buffers: a guest's transmit ring, or the host's receive ring. */
export class RingProducer extends RingView {
  private readonly freeIds: Uint16Array;
  private nfree: number;
  private availHead = 0;      // our next avail.idx (mod 2^16 on the wire)
  private usedSeen = 0;       // used entries reclaimed so far
  /** dropped = full + tooBig */
  readonly stats: ProducerStats = { pushed: 0, bytes: 0, dropped: 0, full: 0, tooBig: 0 };

  constructor(sab: SharedArrayBuffer) {
    super(sab);
    this.freeIds = new Uint16Array(this.l.size);
    for (let i = 0; i < this.l.size; i++) this.freeIds[i] = this.l.size - 1 - i;
    this.nfree = this.l.size;
  }

  /** Take back the descriptors the consumer has used. */
  private reclaim(): void {
    const used = Atomics.load(this.usedWord, 0) >>> 16;
    const mask = this.l.size - 1, base = (this.l.used + 4) >> 2;
    while (this.usedSeen !== used) {
      const id = this.u32[base + 2 * (this.usedSeen & mask)];
      if (id < this.l.size && this.nfree < this.l.size) this.freeIds[this.nfree++] = id;
      this.usedSeen = (this.usedSeen + 1) & 0xffff;
    }
  }

  /** Free descriptors now (after taking back what the consumer used). */
  free(): number { this.reclaim(); return this.nfree; }

  /** Copy one frame in without publishing it; false (and counted) when it cannot be queued. */
  private put(src: Uint8Array, off: number, len: number): boolean {
    if (len > this.l.bufSize) { this.stats.tooBig++; this.stats.dropped++; return false; }
    if (this.nfree === 0) { this.reclaim(); if (this.nfree === 0) { this.stats.full++; this.stats.dropped++; return false; } }
    const id = this.freeIds[--this.nfree];
    const at = this.l.bufs + id * this.l.bufSize;
    this.u8.set(off === 0 && len === src.length ? src : src.subarray(off, off + len), at);
    const d = (this.l.desc + id * DESC) >> 2;
    this.u32[d] = at;
    this.u32[d + 2] = len;
    this.u16[(d + 3) << 1] = 0;
    this.u16[((this.l.avail + 4) >> 1) + (this.availHead & (this.l.size - 1))] = id;
    this.availHead = (this.availHead + 1) & 0xffff;
    this.stats.pushed++;
    this.stats.bytes += len;
    return true;
  }

  /** Publish what was put and ring the doorbell. */
  private publish(): void {
    // avail.idx is the upper 16 bits of the word; the lower 16 are avail.flags
    Atomics.store(this.availWord, 0, this.availHead << 16);
    Atomics.notify(this.availWord, 0);
  }

  private staged = 0;

  /**
   * Copy one frame in without publishing it (false, and counted, when it does
   * not fit); `commit` publishes everything staged with one doorbell. The
   * sled host stages each output frame straight from engine memory.
   */
  stage(src: Uint8Array, off: number, len: number): boolean {
    const ok = this.put(src, off, len);
    if (ok) this.staged++;
    return ok;
  }

  /** Publish what `stage` queued; true if there was anything. */
  commit(): boolean {
    if (this.staged === 0) return false;
    this.staged = 0;
    this.publish();
    return true;
  }

  /** Queue frames; those that do not fit (ring full or too big) are dropped and counted. Returns how many were queued. */
  push(frames: readonly Uint8Array[]): number {
    let n = 0;
    for (let i = 0; i < frames.length; i++) if (this.put(frames[i], 0, frames[i].length)) n++;
    if (n) this.publish();
    return n;
  }

  /** Queue one frame given as (buf, off, len): the zero-allocation path for forwarding from a FrameBatch. */
  pushFrame(buf: Uint8Array, off = 0, len = buf.length - off): boolean {
    const ok = this.put(buf, off, len);
    if (ok) this.publish();
    return ok;
  }

  /** Queue every frame of a batch; one doorbell. */
  pushBatch(b: FrameBatch): number {
    let n = 0;
    for (let i = 0; i < b.count; i++) if (this.put(b.buf, b.offsets[i], b.lengths[i])) n++;
    if (n) this.publish();
    return n;
  }

  /** Does the consumer want a kick? A native consumer sets NO_NOTIFY in used.flags while it is awake. */
  kickWanted(): boolean { return (Atomics.load(this.usedWord, 0) & USED_F_NO_NOTIFY) === 0; }
}

export interface ConsumerStats { drained: number; bytes: number; batches: number }

/** The side that drains: the host for a guest's transmit ring, the guest for its receive ring. */
export class RingConsumer extends RingView {
  private availSeen = 0;
  private usedHead = 0;
  readonly stats: ConsumerStats = { drained: 0, bytes: 0, batches: 0 };

  /** Is the producer waiting for buffers (AVAIL_F_WAITING, set by the TAP addon's reader on a full ring)? Then kick it after draining. */
  producerWaiting(): boolean { return (Atomics.load(this.availWord, 0) & AVAIL_F_WAITING) !== 0; }

  /** Frames published and not yet drained. */
  pending(): number { return ((Atomics.load(this.availWord, 0) >>> 16) - this.availSeen) & 0xffff; }

  /** Visit up to `max` available frames without giving their buffers back. */
  private take(max: number, each: (buf: Uint8Array, off: number, len: number) => void): number {
    const avail = Atomics.load(this.availWord, 0) >>> 16;
    const mask = this.l.size - 1, ring = (this.l.avail + 4) >> 1, used = (this.l.used + 4) >> 2;
    let n = 0;
    while (this.availSeen !== avail && n < max) {
      const id = this.u16[ring + (this.availSeen & mask)];
      const d = (this.l.desc + id * DESC) >> 2;
      const at = this.u32[d], len = this.u32[d + 2];
      each(this.u8, at, len);
      const slot = used + 2 * (this.usedHead & mask);
      this.u32[slot] = id;
      this.u32[slot + 1] = len;
      this.usedHead = (this.usedHead + 1) & 0xffff;
      this.availSeen = (this.availSeen + 1) & 0xffff;
      this.stats.bytes += len;
      n++;
    }
    return n;
  }

  /** Give the buffers of everything taken back to the producer. */
  private release(n: number): void {
    if (!n) return;
    Atomics.store(this.usedWord, 0, this.usedHead << 16);
    this.stats.drained += n;
    this.stats.batches++;
  }

  /**
   * Hand up to `max` available frames to `each` as (ring memory, offset,
   * length), valid during the call, then give their buffers back. Returns the
   * number drained.
   */
  drain(max: number, each: (buf: Uint8Array, off: number, len: number) => void): number {
    const n = this.take(max, each);
    this.release(n);
    return n;
  }

  /** Fill `batch` (up to batch.max frames), hand it to `cb`, then give the buffers back. */
  drainBatch(batch: FrameBatch, cb: (batch: FrameBatch) => void): number {
    batch.count = 0;
    batch.buf = this.u8;
    const n = this.take(batch.max, (_, off, len) => {
      batch.offsets[batch.count] = off;
      batch.lengths[batch.count++] = len;
    });
    try {
      if (n) cb(batch);
    } finally {
      this.release(n);
    }
    return n;
  }

  /** Resolve when the producer publishes something new (or after `ms`). */
  async wait(ms = 1000): Promise<void> {
    const seen = this.availSeen << 16;
    if (Atomics.load(this.availWord, 0) !== seen) return;
    const r = Atomics.waitAsync(this.availWord, 0, seen, ms);
    if (r.async) await r.value;
  }

  /** Block this thread (a worker's, never the main one) until something is published or `ms` pass. */
  waitSync(ms = 1000): void {
    const seen = this.availSeen << 16;
    if (Atomics.load(this.availWord, 0) === seen) Atomics.wait(this.availWord, 0, seen, ms);
  }
}

/**
 * One ring and its two ends: create it on one side, pass `sab` to the other
 * thread, and take `producer` there and `consumer` here (each end once).
 */
export class GuestRing {
  private p: RingProducer | undefined;
  private c: RingConsumer | undefined;
  constructor(readonly sab: SharedArrayBuffer) {}
  static create(size = 256, bufSize = 2048): GuestRing { return new GuestRing(createRing(size, bufSize)); }
  get capacity(): number { return new Uint32Array(this.sab, 0, 1)[0]; }
  get producer(): RingProducer { return (this.p ??= new RingProducer(this.sab)); }
  get consumer(): RingConsumer { return (this.c ??= new RingConsumer(this.sab)); }
}
