// A batch area in engine memory: frame slots with headroom for
// encapsulation, and one 32-byte descriptor per slot (docs/abi.md). Hosts fill
// slots (ideally by reading I/O straight into `slot(i)`), call `run` once,
// then read verdicts and output frames.

import type { EngineMemory } from "./memory.js";
import {
  DESC_SIZE, D_PTR, D_LEN, D_CAP, D_HEADROOM, D_PORT, D_DIR, D_VERDICT, D_REASON, D_LAYER, D_RULE, D_OUT_PTR, D_OUT_LEN, D_HASH,
  Verdict, Dir,
} from "../../abi/batch.js";

export { Verdict, Dir, DESC_SIZE };

export class Batch {
  readonly descs: number;
  readonly frames: number;
  private readonly process: (descs: number, count: number, now: number) => number;

  constructor(private readonly engine: EngineMemory, readonly slots: number, readonly slotSize: number, readonly headroom: number) {
    if (slotSize <= headroom + 64 || slotSize > 0xffff + headroom) throw new Error("slot size must exceed headroom + 64 and fit a u16 capacity");
    const bytes = slots * DESC_SIZE + slots * slotSize;
    const area = engine.fn("batchAreaNew")(bytes);
    if (!area) throw new Error("engine could not allocate a batch area");
    this.descs = area;
    this.frames = area + slots * DESC_SIZE;
    this.process = engine.fn("processBatch");
  }

  /** Address of the frame start of slot i (after its headroom). */
  framePtr(i: number): number { return this.frames + i * this.slotSize + this.headroom; }
  get capacity(): number { return this.slotSize - this.headroom; }

  /** A writable view of slot i's frame area. */
  slot(i: number): Uint8Array {
    const p = this.framePtr(i);
    return this.engine.u8.subarray(p, p + this.capacity);
  }

  /** Describe frame i: `len` bytes already in slot(i), for `port` in direction `dir`. */
  describe(i: number, len: number, port: number, dir: Dir): void {
    const dv = this.engine.dv;
    const d = this.descs + i * DESC_SIZE;
    dv.setUint32(d + D_PTR, this.framePtr(i), true);
    dv.setUint16(d + D_LEN, len, true);
    dv.setUint16(d + D_CAP, this.capacity, true);
    dv.setUint16(d + D_HEADROOM, this.headroom, true);
    dv.setUint16(d + D_PORT, port, true);
    dv.setUint8(d + D_DIR, dir);
  }

  /** Copy a frame into slot i and describe it. */
  set(i: number, frame: Uint8Array, port: number, dir: Dir): void {
    if (frame.length > this.capacity) throw new Error(`frame of ${frame.length} bytes exceeds slot capacity ${this.capacity}`);
    this.engine.u8.set(frame, this.framePtr(i));
    this.describe(i, frame.length, port, dir);
  }

  /** Copy bytes [off, off+len) of `src` into slot i and describe them (no frame over capacity: check first). */
  setFrom(i: number, src: Uint8Array, off: number, len: number, port: number, dir: Dir): void {
    this.engine.u8.set(src.subarray(off, off + len), this.framePtr(i));
    this.describe(i, len, port, dir);
  }

  /** Process descriptors [0, count). Returns how many frames were not dropped. */
  run(count: number, nowMs: number): number {
    if (count > this.slots) throw new Error("count exceeds batch slots");
    return this.process(this.descs, count, nowMs);
  }

  verdict(i: number): Verdict { return this.engine.u8[this.descs + i * DESC_SIZE + D_VERDICT]; }
  reason(i: number): number { return this.engine.u8[this.descs + i * DESC_SIZE + D_REASON]; }
  layer(i: number): number { return this.engine.u8[this.descs + i * DESC_SIZE + D_LAYER]; }
  rule(i: number): number { return this.engine.dv.getUint32(this.descs + i * DESC_SIZE + D_RULE, true); }
  hash(i: number): number { return this.engine.dv.getUint32(this.descs + i * DESC_SIZE + D_HASH, true); }
  /** Where slot i's output frame starts in engine memory (engine.u8), and its length: no view allocated. */
  outputAt(i: number): number { return this.engine.dv.getUint32(this.descs + i * DESC_SIZE + D_OUT_PTR, true); }
  outputLength(i: number): number { return this.engine.dv.getUint16(this.descs + i * DESC_SIZE + D_OUT_LEN, true); }
  /** The output frame of slot i (a view into engine memory; copy it before the next run). */
  output(i: number): Uint8Array {
    const dv = this.engine.dv;
    const d = this.descs + i * DESC_SIZE;
    const p = dv.getUint32(d + D_OUT_PTR, true), n = dv.getUint16(d + D_OUT_LEN, true);
    return this.engine.u8.subarray(p, p + n);
  }
}
