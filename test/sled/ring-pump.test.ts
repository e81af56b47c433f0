// The sled host's copy-free pump: a guest on vhost-style rings hands over
// batches as views into its ring, the sled runs them straight from engine
// slots, and stages the results on the underlay and on guest rings with one
// doorbell per device. Order, chunking past the batch's slots, hairpins back
// to the guest and loopback to another local port must all survive it.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { SledHost } from "../../hosts/sled/sled.js";
import type { UnderlayDriver } from "../../hosts/sled/underlay.js";
import { createVnicRings, GuestRings, RingDevice } from "../../hosts/io/ring-device.js";
import { ipFrame, udp, tcp, TCP_FLAGS } from "../helpers/frames.js";
import { arpRequest } from "../helpers/port-fixture.js";

const SLED = "fd00:1122:3344:101::1";
const GW_MAC = "a8:40:25:ff:77:77";
const portA = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));
const portB = structuredClone(portA);
portB.name = "web-b";
portB.guest = { mac: "a8:40:25:f0:00:07", ipv4: "172.30.0.7", ipv6: "fd00:1024::7" };
portB.v2p = [{ ip: "172.30.0.5", mac: "a8:40:25:f0:00:05", underlay: SLED }];
portB.externalIps = { floating: [] };
portA.v2p = [...portA.v2p, { ip: "172.30.0.7", mac: "a8:40:25:f0:00:07", underlay: SLED }];

/** An underlay that only takes staged frames, so a fall back to copies would show. */
class StagingUnderlay implements UnderlayDriver {
  readonly sent: Uint8Array[] = [];
  private staged: Uint8Array[] = [];
  commits = 0;
  send(): void { throw new Error("the copy-free pump should stage, not send"); }
  stage(buf: Uint8Array, off: number, len: number): void { this.staged.push(buf.slice(off, off + len)); }
  commit(): void { if (this.staged.length) { this.commits++; this.sent.push(...this.staged); this.staged = []; } }
  onFrames(): void {}
  stats() { return { tx: this.sent.length, rx: 0, txErrors: 0, rxErrors: 0 }; }
  async close(): Promise<void> {}
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("the sled's copy-free pump over guest rings", () => {
  it("encapsulates a burst larger than a batch in order, answers ARP on the guest ring, and loops local traffic to the other port", async () => {
    const u = new StagingUnderlay();
    const sled = await SledHost.create({ name: "sled", underlay: u, underlayAddress: SLED, batchSlots: 64 });
    const ringsA = createVnicRings(512), ringsB = createVnicRings(512);
    await sled.addPort(portA, new RingDevice("a", ringsA));
    await sled.addPort(portB, new RingDevice("b", ringsB));
    const guestA = new GuestRings(ringsA), guestB = new GuestRings(ringsB);
    const toA: Uint8Array[] = [], toB: Uint8Array[] = [];
    guestA.onFrames((f) => toA.push(...f));
    guestB.onFrames((f) => toB.push(...f));

    // 300 datagrams to the peer on the other sled: 5 engine batches of 64
    const burst = Array.from({ length: 300 }, (_, k) =>
      ipFrame(GW_MAC, "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 17, udp("172.30.0.5", "172.30.0.6", 40000, 7000, new Uint8Array([k >> 8, k & 0xff]))));
    expect(guestA.send(burst)).toBe(300);
    await until(() => u.sent.length === 300, "300 frames on the underlay");
    for (let k = 0; k < 300; k++) {
      const f = u.sent[k];
      expect(f[12] << 8 | f[13]).toBe(0x86dd);                 // outer IPv6
      expect(f.subarray(f.length - 2)).toEqual(new Uint8Array([k >> 8, k & 0xff])); // in order
    }
    expect(u.commits).toBeLessThanOrEqual(300 / 64 + 1);        // one doorbell per batch, not per frame

    // ARP for the gateway: the hairpinned reply is staged on A's own ring
    guestA.send([arpRequest("a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.1")]);
    await until(() => toA.length === 1, "the ARP reply");
    expect(toA[0][12] << 8 | toA[0][13]).toBe(0x0806);
    expect(toA[0][21]).toBe(2);                                  // op: reply

    // A to B on the same sled: out of A's port, into B's, never on the underlay
    guestA.send([ipFrame(GW_MAC, "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.7", 6, tcp("172.30.0.5", "172.30.0.7", 40000, 80, TCP_FLAGS.SYN))]);
    await until(() => toB.length === 1, "the SYN at B");
    expect(toB[0].subarray(0, 6)).toEqual(new Uint8Array([0xa8, 0x40, 0x25, 0xf0, 0x00, 0x07]));
    expect(u.sent.length).toBe(300);
    expect(sled.pumpDrops.oversize).toBe(0);

    guestA.close(); guestB.close();
    await sled.close();
  });
});
