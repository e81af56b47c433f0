// Boundary services end to end in one process: a sled and a gateway host on
// the udp underlay (::1), the external network as an in-memory device.
// "NATing Out" and "Floating IP Inbound" from the seed, plus the drops.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync } from "node:fs";
import { SledHost } from "../../hosts/sled/sled.js";
import { GatewayHost } from "../../hosts/gateway/gateway.js";
import { GatewayApi } from "../../hosts/gateway/api.js";
import { listenTcp, TestApi } from "../helpers/api.js";
import { UdpUnderlay } from "../../hosts/sled/underlay.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { ipFrame, tcp, icmpEcho, eth, TCP_FLAGS, csum } from "../helpers/frames.js";

const portA = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));
portA.externalIps = { snat: { ip: "198.51.100.10", firstPort: 16384, lastPort: 32767 }, floating: [] };
// a second guest on the same sled with a floating IP and an HTTP server
const portB = structuredClone(portA);
portB.name = "web-b";
portB.guest = { mac: "a8:40:25:f0:00:06", ipv4: "172.30.0.6", ipv6: "fd00:1024::6" };
portB.externalIps = { floating: ["198.51.100.20"] };
portB.firewall.push({ name: "http", direction: "in", priority: 100, action: "allow", protocols: ["tcp"], ports: [8080] });
portB.v2p = [];
const SLED = "fd00:1122:3344:101::1", BOUNDARY = "fd00:1122:3344:1::1";
const G = { mac: "a8:40:25:f0:00:05", ip: "172.30.0.5" }, H = { mac: "a8:40:25:f0:00:06", ip: "172.30.0.6" }, GW = "a8:40:25:ff:77:77";
const EXT_MAC = "02:00:5e:00:53:01", ROUTER_MAC = "02:00:5e:00:53:fe", SERVER = "203.0.113.10";

describe("gateway host (boundary services)", () => {
  let sled: SledHost, gw: GatewayHost, api: GatewayApi, base: string, fetch: TestApi["fetch"];
  const guest = new MemoryDevice("vnic-a"), guestB = new MemoryDevice("vnic-b"), external = new MemoryDevice("ext0");

  beforeAll(async () => {
    const us = await UdpUnderlay.open({ address: SLED, bind: { host: "::1", port: 0 }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01" });
    const ug = await UdpUnderlay.open({ address: BOUNDARY, bind: { host: "::1", port: 0 }, peers: { [SLED]: `[::1]:${us.boundPort}` }, localMac: "02:08:20:bb:00:01", nextHopMac: "02:08:20:ff:ff:01" });
    us.addPeer(BOUNDARY, `[::1]:${ug.boundPort}`);
    sled = await SledHost.create({ name: "sled", underlay: us });
    await sled.addPort(portA, guest);
    await sled.addPort(portB, guestB);
    gw = await GatewayHost.create({
      name: "gw", underlay: ug, underlayAddress: BOUNDARY, underlayMac: "02:08:20:bb:00:01", underlayNextHopMac: "02:08:20:ff:ff:01",
      external, boundary: { externalMac: EXT_MAC, nextHopMac: ROUTER_MAC, ownedPrefixes: ["198.51.100.0/24"], externalIpv4: "198.51.100.1", underlayMtu: 1500 },
    });
    api = new GatewayApi(gw);
    ({ base, fetch } = await listenTcp(api));
    const put = (path: string, body: unknown) => fetch(base + path, { method: "PUT", body: JSON.stringify(body) });
    expect((await put("/nat/198.51.100.10/16384/32767", { sled: SLED, vni: 1024, mac: G.mac })).status).toBe(200);
    expect((await put("/nat/198.51.100.20/0/65535", { sled: SLED, vni: 1024, mac: H.mac })).status).toBe(200);
  });
  afterAll(async () => { await api.close(); await sled.close(); await gw.close(); });

  it("NATs a guest's ping out through the boundary and brings the reply back", async () => {
    guest.inject([ipFrame(GW, G.mac, G.ip, SERVER, 1, icmpEcho(G.ip, SERVER, true, 77, 1))]);
    const [req] = await external.waitFor(1);
    // leaves to the router from the gateway's MAC, from the SNAT address, echo id from the port block
    expect(Buffer.from(req.subarray(0, 12)).toString("hex")).toBe("02005e0053fe02005e005301");
    expect([...req.subarray(26, 30)].join(".")).toBe("198.51.100.10");
    const id = (req[38] << 8) | req[39];
    expect(id).toBe(16384);
    expect(csum(req.subarray(34))).toBe(0);
    external.inject([ipFrame(EXT_MAC, ROUTER_MAC, SERVER, "198.51.100.10", 1, icmpEcho(SERVER, "198.51.100.10", false, id, 1))]);
    const got = await guest.waitFor(1);
    const reply = got[got.length - 1];
    expect([...reply.subarray(30, 34)].join(".")).toBe(G.ip);
    expect((reply[38] << 8) | reply[39]).toBe(77);
  });

  it("lets an external client reach the guest's floating IP, and the reply leaves from it", async () => {
    external.inject([ipFrame(EXT_MAC, ROUTER_MAC, SERVER, "198.51.100.20", 6, tcp(SERVER, "198.51.100.20", 51000, 8080, TCP_FLAGS.SYN))]);
    const [syn] = await guestB.waitFor(1);
    expect([...syn.subarray(30, 34)].join(".")).toBe(H.ip);
    expect((syn[36] << 8) | syn[37]).toBe(8080); // port unchanged: 1:1
    const ext0 = external.delivered.length;
    guestB.inject([ipFrame(GW, H.mac, H.ip, SERVER, 6, tcp(H.ip, SERVER, 8080, 51000, TCP_FLAGS.SYN | TCP_FLAGS.ACK))]);
    const out = await external.waitFor(ext0 + 1);
    expect([...out[ext0].subarray(26, 30)].join(".")).toBe("198.51.100.20");
  });

  it("drops and counts traffic to an unmapped external IP, and answers ARP for owned ones", async () => {
    external.inject([ipFrame(EXT_MAC, ROUTER_MAC, SERVER, "198.51.100.99", 6, tcp(SERVER, "198.51.100.99", 51000, 80, TCP_FLAGS.SYN))]);
    const arp = new Uint8Array(28);
    arp.set([0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0x5e, 0, 0x53, 0xfe, 203, 0, 113, 10, 0, 0, 0, 0, 0, 0, 198, 51, 100, 20]);
    const n = external.delivered.length;
    external.inject([eth("ff:ff:ff:ff:ff:ff", ROUTER_MAC, 0x0806, arp)]);
    const got = await external.waitFor(n + 1);
    expect(Buffer.from(got[n].subarray(22, 28)).toString("hex")).toBe("02005e005301");
    expect(gw.stats().counters.drops.NoEncapTarget).toBe(1);
  });

  it("answers a packet too big for the underlay with ICMP fragmentation needed", async () => {
    const n = external.delivered.length;
    const big = new Uint8Array(1480);
    external.inject([ipFrame(EXT_MAC, ROUTER_MAC, SERVER, "198.51.100.20", 17, new Uint8Array([0x13, 0x88, 0x1f, 0x90, (big.length + 8) >> 8, (big.length + 8) & 0xff, 0, 0, ...big]))]);
    const got = await external.waitFor(n + 1);
    const icmp = got[n];
    expect([icmp[34], icmp[35]]).toEqual([3, 4]);
    expect((icmp[40] << 8) | icmp[41]).toBe(1500 - 74);
  });

  it("refuses overlapping mappings and treats an identical re-add as a no-op", async () => {
    const put = (path: string, body: unknown) => fetch(base + path, { method: "PUT", body: JSON.stringify(body) });
    expect((await put("/nat/198.51.100.10/30000/40000", { sled: SLED, vni: 1024, mac: G.mac })).status).toBe(409);
    const same = await put("/nat/198.51.100.10/16384/32767", { sled: SLED, vni: 1024, mac: G.mac });
    expect(await same.json()).toEqual({ changed: false, generation: 2 });
    expect((await (await fetch(`${base}/nat`)).json()).length).toBe(2);
  });
});

describe("gateway NDP for owned IPv6 ranges", () => {
  it("answers neighbor solicitations for owned addresses only", async () => {
    const { Engine } = await import("../../hosts/engine/engine.js");
    const { encodePortProgram } = await import("../../layers/program/encode.js");
    const { boundaryLayer, externalL2Layer } = await import("../../layers/boundary/boundary.js");
    const { Dir, Verdict } = await import("../../hosts/engine/batch.js");
    const { ipv6 } = await import("../helpers/frames.js");
    const { ip16 } = await import("../../layers/program/addr.js");
    const e = await Engine.load();
    e.createPort(0, { vni: 99, flowCapacity: 64, netEncap: true, underlayIp: BOUNDARY, underlayMac: "02:08:20:bb:00:01", nextHopMac: "02:08:20:ff:ff:01", mtu: 9000 });
    const c = { externalMac: EXT_MAC, nextHopMac: ROUTER_MAC, ownedPrefixes: ["2001:db8:77::/64"], nat: [] };
    e.loadProgram(0, encodePortProgram([externalL2Layer(c), boundaryLayer(c)]));
    e.setPortState(0, "running");
    const ns = (target: string) => {
      const icmp = new Uint8Array(32);
      icmp[0] = 135; icmp.set(ip16(target), 8); icmp[24] = 1; icmp[25] = 1; icmp.set([2, 0, 0x5e, 0, 0x53, 0xfe], 26);
      const src = ip16("2001:db8:77::1"), dst = ip16("ff02::1:ff00:20");
      const pseudo = new Uint8Array(40 + 32); pseudo.set(src, 0); pseudo.set(dst, 16); pseudo[35] = 32; pseudo[39] = 58; pseudo.set(icmp, 40);
      const cs = csum(pseudo); icmp[2] = cs >> 8; icmp[3] = cs & 0xff;
      return eth("33:33:ff:00:00:20", ROUTER_MAC, 0x86dd, ipv6("2001:db8:77::1", "ff02::1:ff00:20", 58, icmp, 255));
    };
    const b = e.newBatch(2);
    b.set(0, ns("2001:db8:77::20"), 0, Dir.Out);
    b.set(1, ns("2001:db8:99::20"), 0, Dir.Out);
    b.run(2, 1);
    expect(b.verdict(0)).toBe(Verdict.Hairpin);
    expect(Buffer.from(b.output(0).subarray(6, 12)).toString("hex")).toBe("02005e005301");
    expect(b.verdict(1)).toBe(Verdict.Drop);
  });
});
