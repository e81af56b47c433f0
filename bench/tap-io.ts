// Guest I/O figures for the sled host: frames/s through a vhost-style ring
// (same thread, and a worker producer with a consumer on the main thread), and
// through a TAP device via the native addon's I/O thread: the write path
// (frames the kernel drops at once) and a round trip (ICMP echo requests
// written in, the kernel's replies read back, 512 in flight).
// `node dist/bench/tap-io.js [--seconds 2]`; the TAP part needs root.

import { cpus, release } from "node:os";
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { Worker } from "node:worker_threads";
import { createRing, RingConsumer, RingProducer } from "../hosts/io/ring.js";
import { TapDevice } from "../hosts/io/tap.js";
import { ipFrame, icmpEcho } from "../hosts/lib/frames.js";

const seconds = Number(process.argv.includes("--seconds") ? process.argv[process.argv.indexOf("--seconds") + 1] : 2);
const sh = (...a: string[]) => execFileSync(a[0], a.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
const tick = () => new Promise<void>((r) => setImmediate(r));
const line = (what: string, frames: number, secs: number, bytes: number) =>
  console.log(`${what.padEnd(52)} ${(frames / secs / 1e3).toFixed(0).padStart(6)} kframes/s  ${((frames * bytes * 8) / secs / 1e9).toFixed(2)} Gbit/s`);

function ringSameThread(bytes: number): void {
  const sab = createRing(1024, 2048);
  const p = new RingProducer(sab), c = new RingConsumer(sab);
  const batch = Array.from({ length: 64 }, () => new Uint8Array(bytes));
  let n = 0;
  const t0 = performance.now(), end = t0 + seconds * 1000;
  while (performance.now() < end) {
    for (let k = 0; k < 16; k++) { p.push(batch); n += c.drain(64, () => {}); }
  }
  line(`ring, one thread, ${bytes} B, batches of 64`, n, (performance.now() - t0) / 1000, bytes);
}

async function ringFromWorker(bytes: number): Promise<void> {
  const sab = createRing(1024, 2048);
  const c = new RingConsumer(sab);
  const w = new Worker(`
    const { workerData, parentPort } = require("node:worker_threads");
    import(workerData.mod).then(({ RingProducer }) => {
      const p = new RingProducer(workerData.sab);
      const batch = Array.from({ length: 64 }, () => new Uint8Array(workerData.bytes));
      const stop = new Int32Array(workerData.stop);
      const nap = new Int32Array(new SharedArrayBuffer(4));
      while (!Atomics.load(stop, 0)) if (p.push(batch) === 0) Atomics.wait(nap, 0, 0, 0.02);
      parentPort.postMessage(p.stats);
    });`, { eval: true, workerData: { sab, bytes, stop: new SharedArrayBuffer(4), mod: new URL("../hosts/io/ring.js", import.meta.url).href } });
  await new Promise((r) => w.once("online", r));
  let n = 0;
  const t0 = performance.now(), end = t0 + seconds * 1000;
  while (performance.now() < end) {
    await c.wait(10);
    n += c.drain(1024, () => {});
  }
  const secs = (performance.now() - t0) / 1000;
  await w.terminate();
  line(`ring, worker → main thread, ${bytes} B`, n, secs, bytes);
}

async function tapWrite(tap: TapDevice, bytes: number): Promise<void> {
  // to a MAC that is not the interface's: the kernel drops each frame at the Ethernet layer
  const f = new Uint8Array(bytes);
  f.set([2, 0, 0, 0x55, 0x55, 0x55, 2, 0, 0, 0x77, 0, 2, 0x88, 0xb5]);
  const batch = Array.from({ length: 256 }, () => f);
  let full = 0;
  const s0 = tap.stats().native.txFrames, t0 = performance.now(), end = t0 + seconds * 1000;
  while (performance.now() < end) {
    if (tap.send(batch) < batch.length) { full++; await tick(); }
  }
  const flushed = () => { const s = tap.stats(); return s.native.txFrames + s.native.txErrors >= s.txFrames; };
  while (!flushed() && performance.now() < end + 1000) await tick();
  const secs = (performance.now() - t0) / 1000;
  line(`TAP write path, ${bytes} B (I/O thread write(2))`, tap.stats().native.txFrames - s0, secs, bytes);
  console.log(`  transmit ring full ${full} times (frames counted in txFull, as a NIC would drop them)`);
}

async function tapRoundTrip(tap: TapDevice, bytes: number): Promise<void> {
  const ping = ipFrame("02:00:00:77:00:01", "02:00:00:77:00:02", "10.99.0.2", "10.99.0.1", 1,
    icmpEcho("10.99.0.2", "10.99.0.1", true, 7, 1, new Uint8Array(bytes - 42)));
  let replies = 0;
  const window = 512;
  const refills = Array.from({ length: 1025 }, (_, k) => new Array<Uint8Array>(k).fill(ping));
  tap.onBatch((b) => {
    let k = 0;
    for (let i = 0; i < b.count; i++) if (b.buf[b.offsets[i] + 34] === 0 && b.buf[b.offsets[i] + 23] === 1) k++;
    replies += k;
    if (k) tap.send(refills[k]);
  });
  const t0 = performance.now();
  tap.send(new Array<Uint8Array>(window).fill(ping));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const secs = (performance.now() - t0) / 1000;
  const s = tap.stats();
  line(`TAP round trip, ${bytes} B (echo request in, reply out)`, replies, secs, bytes);
  console.log(`  ${(s.native.rxFrames / Math.max(1, s.native.rxNotifies)).toFixed(1)} frames per JS wake-up, rx dropped ${s.rxDropped}`);
}

console.log(`machine: ${cpus()[0]?.model ?? "?"} × ${cpus().length}, Linux ${release()}, node ${process.version}, addon -O2`);
for (const b of [64, 1400]) ringSameThread(b);
for (const b of [64, 1400]) await ringFromWorker(b);

const addon = existsSync(new URL("../../hosts/native/build/Release/wopte_tap.node", import.meta.url).pathname);
if (process.getuid?.() !== 0 || !existsSync("/dev/net/tun") || !addon) {
  console.log("TAP figures skipped: they need root, /dev/net/tun and the addon (npm run build:native)");
} else {
  const NS = "wopte-bench-io";
  for (const b of [64, 1400]) {
    try { sh("ip", "netns", "del", NS); } catch { /* fresh */ }
    const tap = TapDevice.open("wbio0");
    sh("ip", "netns", "add", NS);
    sh("ip", "link", "set", "wbio0", "netns", NS);
    for (const c of [["ip", "link", "set", "wbio0", "address", "02:00:00:77:00:01"], ["ip", "addr", "add", "10.99.0.1/24", "dev", "wbio0"],
      ["ip", "link", "set", "wbio0", "up"], ["ip", "neigh", "replace", "10.99.0.2", "lladdr", "02:00:00:77:00:02", "dev", "wbio0", "nud", "permanent"]]) sh("ip", "netns", "exec", NS, ...c);
    await tapWrite(tap, b);
    await tapRoundTrip(tap, b);
    tap.close();
    sh("ip", "netns", "del", NS);
  }
}
