// vhost-style rings: order, wrap-around, a full ring counts drops, a producer
// in another thread, and any push/drain interleaving delivers exactly what was
// pushed (property test).
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Worker } from "node:worker_threads";
import { existsSync } from "node:fs";
import { createRing, RingProducer, RingConsumer } from "../../hosts/io/ring.js";
import { createVnicRings, RingDevice, GuestRings } from "../../hosts/io/ring-device.js";

const frame = (i: number, len = 60) => { const f = new Uint8Array(len); new DataView(f.buffer).setUint32(0, i); return f; };
const idOf = (f: Uint8Array) => new DataView(f.buffer, f.byteOffset).getUint32(0);

describe("vhost-style ring", () => {
  it("keeps order across many wrap-arounds of its 16-bit indices", () => {
    const sab = createRing(8, 64);
    const p = new RingProducer(sab), c = new RingConsumer(sab);
    const got: number[] = [];
    for (let i = 0; i < 70_000; i += 5) {
      expect(p.push([0, 1, 2, 3, 4].map((k) => frame(i + k)))).toBe(5);
      c.drain(100, (f) => got.push(idOf(f)));
    }
    expect(got).toEqual(Array.from({ length: 70_000 }, (_, i) => i));
  });

  it("counts drops when the ring is full or a frame is too big", () => {
    const sab = createRing(4, 64);
    const p = new RingProducer(sab), c = new RingConsumer(sab);
    expect(p.push([1, 2, 3, 4, 5, 6].map((i) => frame(i)))).toBe(4);
    expect(p.push([frame(7, 65)])).toBe(0);
    expect(p.stats).toMatchObject({ pushed: 4, dropped: 3 });
    expect(c.drain(10, () => {})).toBe(4);
    expect(p.push([frame(8)])).toBe(1); // descriptors came back
  });

  // the worker runs the compiled ring (dist/, built by npm ci)
  it.skipIf(!existsSync(new URL("../../dist/hosts/io/ring.js", import.meta.url)))("delivers 100k frames in order from a worker thread", async () => {
    const sab = createRing(1024, 128);
    const c = new RingConsumer(sab);
    const w = new Worker(`
      const { workerData, parentPort } = require("node:worker_threads");
      import(workerData.mod).then(async ({ RingProducer }) => {
        const p = new RingProducer(workerData.sab);
        let i = 0;
        while (i < 100000) {
          const batch = [];
          for (let k = 0; k < 64 && i < 100000; k++, i++) { const f = new Uint8Array(60); new DataView(f.buffer).setUint32(0, i); batch.push(f); }
          let sent = 0;
          while (sent < batch.length) { sent += p.push(batch.slice(sent)); if (sent < batch.length) await new Promise((r) => setImmediate(r)); }
        }
        parentPort.postMessage(p.stats);
      });`, { eval: true, workerData: { sab, mod: new URL("../../dist/hosts/io/ring.js", import.meta.url).href } });
    const got: number[] = [];
    const done = new Promise((r) => w.once("message", r));
    const deadline = Date.now() + 20_000;
    while (got.length < 100_000 && Date.now() < deadline) {
      await c.wait(50);
      c.drain(1024, (f) => got.push(idOf(f)));
    }
    await done;
    await w.terminate();
    expect(got.length).toBe(100_000);
    expect(got.every((v, i) => v === i)).toBe(true);
  }, 30_000);

  it("delivers exactly what was pushed for any interleaving", () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 })), { maxLength: 60 }), (steps) => {
      const sab = createRing(8, 64);
      const p = new RingProducer(sab), c = new RingConsumer(sab);
      let next = 0;
      const accepted: number[] = [], got: number[] = [];
      for (const [push, drain] of steps) {
        const batch = Array.from({ length: push }, () => frame(next++));
        const before = p.stats.pushed;
        p.push(batch);
        accepted.push(...batch.slice(0, p.stats.pushed - before).map(idOf));
        c.drain(drain, (f) => got.push(idOf(f)));
      }
      c.drain(1000, (f) => got.push(idOf(f)));
      expect(got).toEqual(accepted);
      expect(p.stats.pushed + p.stats.dropped).toBe(next);
    }), { numRuns: 300 });
  });

  it("joins a guest and a host as a VNIC", async () => {
    const rings = createVnicRings(64, 256);
    const host = new RingDevice("vnic0", rings), guest = new GuestRings(rings);
    const atHost: number[] = [], atGuest: number[] = [];
    host.onFrames((fs) => { for (const f of fs) atHost.push(idOf(f)); host.send(fs); });
    guest.onFrames((fs) => { for (const f of fs) atGuest.push(idOf(f)); });
    guest.send([frame(1), frame(2), frame(3)]);
    const deadline = Date.now() + 3000;
    while (atGuest.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    host.close(); guest.close();
    expect(atHost).toEqual([1, 2, 3]);
    expect(atGuest).toEqual([1, 2, 3]);
  });
});
