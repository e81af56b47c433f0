// TAP devices through the native addon (root only). The TAP is created here,
// then moved into a namespace of its own, where the kernel's stack is the
// guest's peer: a UDP datagram sent in the namespace comes out of onBatch as
// Ethernet/IPv4/UDP bytes; an ARP request and ICMP echo requests written into
// the TAP are answered by the kernel; close() takes the interface away.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFile, execFileSync } from "node:child_process";
import { TapDevice, openTap, tapAddon } from "../../hosts/io/tap.js";
import type { FrameBatch } from "../../hosts/io/ring.js";
import { sh, inNs } from "../helpers/netns.js";
import { needs } from "../helpers/tools.js";
import { csum, eth, ipFrame, icmpEcho } from "../helpers/frames.js";

const env = needs("root", "ip", "tun", "addon");
const NS = "wopte-io-tap";
const TAP = "wtest0";
const HOST_MAC = "02:00:00:77:00:01", GUEST_MAC = "02:00:00:77:00:02";

const until = async (ok: () => boolean, ms = 3000) => {
  const deadline = Date.now() + ms;
  while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return ok();
};
const u16 = (f: Uint8Array, at: number) => (f[at] << 8) | f[at + 1];

describe(env.title("TAP devices"), env.options, () => {
  let tap: TapDevice;
  const got: Uint8Array[] = [];
  const batchSizes: number[] = [];

  beforeAll(() => {
    try { sh("ip", "netns", "del", NS); } catch { /* not there */ }
    try { sh("ip", "link", "del", TAP); } catch { /* not there */ }
    tap = TapDevice.open(TAP);
    tap.onBatch((b: FrameBatch) => { batchSizes.push(b.count); got.push(...b.copy()); });
    sh("ip", "netns", "add", NS);
    sh("ip", "link", "set", TAP, "netns", NS);
    inNs(NS, "ip", "link", "set", TAP, "address", HOST_MAC);
    inNs(NS, "ip", "addr", "add", "10.99.0.1/24", "dev", TAP);
    inNs(NS, "ip", "link", "set", TAP, "up");
    inNs(NS, "ip", "neigh", "replace", "10.99.0.2", "lladdr", GUEST_MAC, "dev", TAP, "nud", "permanent");
  });
  afterAll(() => {
    tap?.close();
    try { sh("ip", "netns", "del", NS); } catch { /* gone */ }
  });

  it("reads what the kernel sends out of the interface: a UDP datagram from a Node socket", async () => {
    const send = `const s=require("dgram").createSocket("udp4");s.send(Buffer.from("hello tap"),9999,"10.99.0.2",()=>s.close());`;
    inNs(NS, process.execPath, "-e", send);
    const isUdp = (f: Uint8Array) => f.length >= 42 && u16(f, 12) === 0x0800 && f[23] === 17 && u16(f, 36) === 9999;
    expect(await until(() => got.some(isUdp))).toBe(true);
    const f = got.find(isUdp)!;
    expect(Buffer.from(f.subarray(0, 12)).toString("hex")).toBe("020000770002" + "020000770001");
    expect(f[14]).toBe(0x45);
    expect([...f.subarray(26, 30)]).toEqual([10, 99, 0, 1]);
    expect([...f.subarray(30, 34)]).toEqual([10, 99, 0, 2]);
    expect(csum(f.subarray(14, 34))).toBe(0); // the IPv4 header checksum holds
    expect(u16(f, 38)).toBe(8 + 9);
    expect(Buffer.from(f.subarray(42)).toString()).toBe("hello tap");
    expect(tap.stats().rxBatches).toBeGreaterThan(0);
  });

  it("answers an ARP request written into the TAP", async () => {
    const arp = new Uint8Array(28);
    const dv = new DataView(arp.buffer);
    dv.setUint16(0, 1); dv.setUint16(2, 0x0800); arp[4] = 6; arp[5] = 4; dv.setUint16(6, 1);
    arp.set([2, 0, 0, 0x77, 0, 2], 8); arp.set([10, 99, 0, 2], 14); arp.set([10, 99, 0, 1], 24);
    const n = got.length;
    expect(tap.send([eth("ff:ff:ff:ff:ff:ff", GUEST_MAC, 0x0806, arp)])).toBe(1);
    const isReply = (f: Uint8Array) => u16(f, 12) === 0x0806 && u16(f, 20) === 2;
    expect(await until(() => got.slice(n).some(isReply))).toBe(true);
    const r = got.slice(n).find(isReply)!;
    expect(Buffer.from(r.subarray(22, 28)).toString("hex")).toBe("020000770001"); // sender MAC: the TAP's
    expect([...r.subarray(28, 32)]).toEqual([10, 99, 0, 1]);
  });

  it("delivers written frames to the kernel, which answers every ping of a burst, in batches", async () => {
    const n = got.length, count = 500;
    const pings = Array.from({ length: count }, (_, i) =>
      ipFrame(HOST_MAC, GUEST_MAC, "10.99.0.2", "10.99.0.1", 1, icmpEcho("10.99.0.2", "10.99.0.1", true, 42, i)));
    const before = tap.stats();
    expect(tap.send(pings)).toBe(count);
    const replies = () => got.slice(n).filter((f) => u16(f, 12) === 0x0800 && f[23] === 1 && f[34] === 0 && u16(f, 38) === 42);
    expect(await until(() => replies().length === count)).toBe(true);
    expect(replies().map((f) => u16(f, 40))).toEqual(Array.from({ length: count }, (_, i) => i));
    const s = tap.stats();
    expect(s.native.txFrames - before.native.txFrames).toBe(count);
    expect(s.txDropped).toBe(0);
    // one JS wake-up per batch, not per frame
    expect(s.native.rxNotifies - before.native.rxNotifies).toBeLessThan(count);
    expect(Math.max(...batchSizes)).toBeGreaterThan(1);
  });

  it("a full receive ring pauses the reader, which resumes when JS gives buffers back, losing nothing the kernel queued", async () => {
    const t = TapDevice.open("wtest3", { ringSize: 16 });
    try {
      const replies: number[] = [];
      let stalled = false;
      t.onBatch((b) => {
        // the first batch holds the JS thread (and its buffers) until the reader
        // thread has found the 16-buffer ring full: a condition, not a duration
        if (!stalled) {
          stalled = true;
          const deadline = Date.now() + 15_000;
          while (t.stats().native.rxFullWaits === 0 && Date.now() < deadline) { /* busy: the datagrams keep coming */ }
        }
        for (let i = 0; i < b.count; i++) {
          const f = b.buf.subarray(b.offsets[i], b.offsets[i] + b.lengths[i]);
          if (u16(f, 12) === 0x0800 && f[23] === 17 && u16(f, 36) === 9) replies.push(u16(f, 42)); // our datagrams, by sequence
        }
      });
      sh("ip", "link", "set", "wtest3", "netns", NS);
      inNs(NS, "ip", "link", "set", "wtest3", "address", HOST_MAC);
      inNs(NS, "ip", "addr", "add", "10.98.0.1/24", "dev", "wtest3");
      inNs(NS, "ip", "link", "set", "wtest3", "up");
      inNs(NS, "ip", "neigh", "replace", "10.98.0.2", "lladdr", GUEST_MAC, "dev", "wtest3", "nud", "permanent");
      // 200 datagrams leave the namespace's stack through the TAP at once: fewer
      // than the TAP's own 1000-frame queue, which holds what the 16-buffer ring cannot
      const count = 200;
      const code = `const s=require("dgram").createSocket("udp4");let n=0;for(let i=0;i<${count};i++)s.send(Buffer.from([i>>8,i&255]),9,"10.98.0.2",()=>{if(++n===${count})s.close()})`;
      const sending = new Promise((done) => execFile("ip", ["netns", "exec", NS, process.execPath, "-e", code], done));
      expect(await until(() => replies.length === count)).toBe(true);
      await sending;
      expect(replies).toEqual(Array.from({ length: count }, (_, i) => i));
      expect(t.stats().native.rxFullWaits).toBeGreaterThan(0);
      expect(t.stats().rxDropped).toBe(0);
    } finally {
      t.close();
    }
  });

  it("counts what does not fit in the transmit ring instead of blocking", () => {
    const big = new Uint8Array(4000);
    expect(tap.send([big])).toBe(0);
    expect(tap.stats()).toMatchObject({ txTooBig: 1, txDropped: 1 });
  });

  it("turns errno into a JS exception with the device name", () => {
    expect(() => openTap("this-name-is-far-too-long")).toThrow(/at most 15 bytes/);
    expect(() => openTap("lo")).toThrow(/^openTap\(lo\): /);
  });

  it("close() stops the I/O thread and the interface goes with the fd", async () => {
    const t = TapDevice.open("wtest1");
    expect(sh("ip", "link", "show", "wtest1")).toMatch(/wtest1/);
    t.send([new Uint8Array(60)]);
    t.close();
    t.close(); // idempotent
    expect(t.send([new Uint8Array(60)])).toBe(0);
    expect(() => execFileSync("ip", ["link", "show", "wtest1"], { stdio: "pipe" })).toThrow();
    expect(t.stats().native.txFrames + t.stats().native.txErrors).toBe(1); // flushed before the thread stopped
  });

  it("opens with a virtio-net header when asked", () => {
    const t = openTap("wtest2", { vnetHdr: true });
    expect(t).toMatchObject({ name: "wtest2" });
    expect(typeof t.fd).toBe("number");
    tapAddon().close(t.fd);
  });
});
