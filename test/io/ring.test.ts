// vhost-style rings: order, wrap-around, a full ring counts drops, a producer
// in another thread, and any push/drain interleaving delivers exactly what was
// pushed (property test).
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { createRing, ringLayout, RingProducer, RingConsumer, GuestRing, FrameBatch, USED_F_NO_NOTIFY } from "../../hosts/io/ring.js";
import { createVnicRings, RingDevice, GuestRings } from "../../hosts/io/ring-device.js";

const frame = (i: number, len = 60) => { const f = new Uint8Array(len); new DataView(f.buffer).setUint32(0, i); return f; };
const idAt = (buf: Uint8Array, off: number) => new DataView(buf.buffer, buf.byteOffset).getUint32(off);
const idOf = (f: Uint8Array) => idAt(f, 0);

describe("vhost-style ring", () => {
  it("lays out descriptors, avail and used rings and buffers as virtio does", () => {
    const l = ringLayout(256, 2048);
    expect(l).toMatchObject({ desc: 16, avail: 16 + 256 * 16 });
    expect(l.used % 8).toBe(0);
    expect(l.bufs % 64).toBe(0);
    expect(l.bytes).toBe(l.bufs + 256 * 2048);
    expect(() => ringLayout(100, 2048)).toThrow(/power of two/);
  });

  it("keeps order across many wrap-arounds of its 16-bit indices", () => {
    const sab = createRing(8, 64);
    const p = new RingProducer(sab), c = new RingConsumer(sab);
    const got: number[] = [];
    for (let i = 0; i < 70_000; i += 5) {
      expect(p.push([0, 1, 2, 3, 4].map((k) => frame(i + k)))).toBe(5);
      c.drain(100, (buf, off) => got.push(idAt(buf, off)));
    }
    expect(got).toEqual(Array.from({ length: 70_000 }, (_, i) => i));
  });

  it("counts drops when the ring is full or a frame is too big, and gets descriptors back once drained", () => {
    const ring = GuestRing.create(4, 64);
    const p = ring.producer, c = ring.consumer;
    expect(ring.capacity).toBe(4);
    expect(p.push([1, 2, 3, 4, 5, 6].map((i) => frame(i)))).toBe(4);
    expect(p.push([frame(7, 65)])).toBe(0);
    expect(p.stats).toMatchObject({ pushed: 4, dropped: 3, full: 2, tooBig: 1 });
    expect(c.pending()).toBe(4);
    expect(p.free()).toBe(0);
    expect(c.drain(10, () => {})).toBe(4);
    expect(p.free()).toBe(4);
    expect(p.pushFrame(frame(8))).toBe(true);
    expect(c.drain(10, (buf, off, len) => expect([idAt(buf, off), len]).toEqual([8, 60]))).toBe(1);
  });

  it("hands a whole batch as views, and gives the buffers back only after the callback", () => {
    const sab = createRing(8, 64);
    const p = new RingProducer(sab), c = new RingConsumer(sab);
    p.push([frame(1, 60), frame(2, 61), frame(3, 62)]);
    const batch = new FrameBatch(2);
    const seen: number[][] = [];
    c.drainBatch(batch, (b) => {
      expect(p.free()).toBe(5); // still lent to us
      seen.push(Array.from({ length: b.count }, (_, i) => idOf(b.frame(i))), Array.from(b.lengths.subarray(0, b.count)));
    });
    expect(p.free()).toBe(7);
    c.drainBatch(batch, (b) => seen.push([idOf(b.copy()[0])]));
    expect(seen).toEqual([[1, 2], [60, 61], [3]]);
  });

  it("asks for kicks only while the consumer has not set NO_NOTIFY", () => {
    const sab = createRing(8, 64);
    const p = new RingProducer(sab), c = new RingConsumer(sab);
    expect(p.kickWanted()).toBe(true);
    Atomics.or(c.usedWord, 0, USED_F_NO_NOTIFY);
    expect(p.kickWanted()).toBe(false);
  });

  it("delivers 100k frames in order from a worker thread", async () => {
    // the worker runs ring.ts itself, bundled on the fly
    const code = buildSync({ entryPoints: [fileURLToPath(new URL("../../hosts/io/ring.ts", import.meta.url))], bundle: true, format: "esm", write: false }).outputFiles[0].text;
    const sab = createRing(1024, 128);
    const c = new RingConsumer(sab);
    const total = 100_000;
    const w = new Worker(`
      const { workerData, parentPort } = require("node:worker_threads");
      import(workerData.mod).then(({ RingProducer }) => {
        const p = new RingProducer(workerData.sab);
        const f = new Uint8Array(60), dv = new DataView(f.buffer);
        let i = 0, spins = 0;
        while (i < workerData.total) {
          dv.setUint32(0, i);
          if (p.pushFrame(f)) i++;
          else { spins++; Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 0.05); }
        }
        parentPort.postMessage({ stats: p.stats, spins });
      });`, { eval: true, workerData: { sab, total, mod: `data:text/javascript;base64,${Buffer.from(code).toString("base64")}` } });
    let next = 0, bad = 0;
    const done = new Promise<{ stats: { pushed: number; full: number } }>((r) => w.once("message", r));
    const t0 = performance.now();
    const deadline = Date.now() + 20_000;
    while (next < total && Date.now() < deadline) {
      await c.wait(50);
      c.drain(1024, (buf, off) => { if (idAt(buf, off) !== next) bad++; next++; });
    }
    const ms = performance.now() - t0;
    const r = await done;
    await w.terminate();
    expect(next).toBe(total);
    expect(bad).toBe(0);
    expect(r.stats.pushed).toBe(total);
    expect(c.stats.batches).toBeLessThan(total); // batched wake-ups, not one per frame
    console.log(`ring: 100k frames from a worker in ${ms.toFixed(0)} ms (${(total / ms).toFixed(0)} kframes/s), ${c.stats.batches} batches`);
  }, 30_000);

  it("delivers exactly what was pushed for any interleaving", () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1, max: 80 })), { maxLength: 60 }), (steps) => {
      const sab = createRing(8, 64);
      const p = new RingProducer(sab), c = new RingConsumer(sab);
      let next = 0;
      const accepted: number[] = [], got: number[] = [];
      for (const [push, drain, len] of steps) {
        const batch = Array.from({ length: push }, () => frame(next++, Math.max(4, len)));
        const before = p.stats.pushed;
        const n = p.push(batch);
        expect(p.stats.pushed - before).toBe(n);
        // the ones that fit are a prefix of those short enough
        accepted.push(...batch.filter((f) => f.length <= 64).slice(0, n).map(idOf));
        c.drain(drain, (buf, off) => got.push(idAt(buf, off)));
      }
      c.drain(1000, (buf, off) => got.push(idAt(buf, off)));
      expect(got).toEqual(accepted);
      expect(p.stats.pushed + p.stats.dropped).toBe(next);
      expect(c.pending()).toBe(0);
      expect(p.free()).toBe(8);
    }), { numRuns: 300 });
  });

  it("joins a guest and a host as a VNIC", async () => {
    const rings = createVnicRings(64, 256);
    const host = new RingDevice("vnic0", rings), guest = new GuestRings(rings);
    const atHost: number[] = [], atGuest: number[] = [];
    host.onBatch((b) => { for (let i = 0; i < b.count; i++) atHost.push(idAt(b.buf, b.offsets[i])); host.sendBatch(b); });
    guest.onFrames((fs) => { for (const f of fs) atGuest.push(idOf(f)); });
    expect(guest.send([frame(1), frame(2), frame(3)])).toBe(3);
    const deadline = Date.now() + 3000;
    while (atGuest.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    host.close(); guest.close();
    expect(atHost).toEqual([1, 2, 3]);
    expect(atGuest).toEqual([1, 2, 3]);
    expect(host.stats()).toMatchObject({ rxFrames: 3, txFrames: 3, txDropped: 0 });
  });
});
