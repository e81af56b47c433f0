// Guest loopback: two guests of one VPC on the same sled talk through both
// ports' layers without a single frame on the underlay.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { SledHost } from "../../hosts/sled/sled.js";
import { UdpUnderlay } from "../../hosts/sled/underlay.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { ipFrame, tcp, TCP_FLAGS } from "../helpers/frames.js";
import { until } from "../helpers/until.js";

const SLED = "fd00:1122:3344:101::1";
const portA = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));
portA.v2p = [{ ip: "172.30.0.6", mac: "a8:40:25:f0:00:06", underlay: SLED }];
const portB = structuredClone(portA);
portB.name = "web-b";
portB.guest = { mac: "a8:40:25:f0:00:06", ipv4: "172.30.0.6", ipv6: "fd00:1024::6" };
portB.v2p = [{ ip: "172.30.0.5", mac: "a8:40:25:f0:00:05", underlay: SLED }];
portB.externalIps = { floating: [] };

describe("guest loopback on one sled", () => {
  it("delivers A's SYN to B and B's SYN-ACK to A, with B's firewall applied, and nothing on the underlay", async () => {
    const u = await UdpUnderlay.open({ address: SLED, bind: { host: "::1", port: 0 }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01" });
    const sled = await SledHost.create({ name: "sled", underlay: u, underlayAddress: SLED });
    const a = new MemoryDevice("a"), b = new MemoryDevice("b");
    await sled.addPort(portA, a);
    await sled.addPort(portB, b);
    a.inject([ipFrame("a8:40:25:ff:77:77", "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 6, tcp("172.30.0.5", "172.30.0.6", 40000, 80, TCP_FLAGS.SYN))]);
    a.inject([ipFrame("a8:40:25:ff:77:77", "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 6, tcp("172.30.0.5", "172.30.0.6", 40001, 22, TCP_FLAGS.SYN))]);
    await b.waitFor(1);
    b.inject([ipFrame("a8:40:25:ff:77:77", "a8:40:25:f0:00:06", "172.30.0.6", "172.30.0.5", 6, tcp("172.30.0.6", "172.30.0.5", 80, 40000, TCP_FLAGS.SYN | TCP_FLAGS.ACK))]);
    await a.waitFor(1);
    await until(() => (sled.stats("web-b").counters.drops.LayerDeny ?? 0) > 0, "B's firewall to deny the SYN to port 22");
    expect(b.delivered.length).toBe(1); // the SYN to port 22 was denied by B's firewall
    expect(sled.stats("web-b").counters.drops.LayerDeny).toBe(1);
    expect(u.stats().tx).toBe(0);
    await sled.close();
  });
});
