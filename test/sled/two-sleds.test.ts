// Two sled hosts on one machine (the udp underlay on ::1, a port each), two
// guests in one VPC: frames cross the underlay as Geneve and arrive
// decapsulated; the API changes the firewall and the counters show it.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync } from "node:fs";
import { SledHost } from "../../hosts/sled/sled.js";
import { UdpUnderlay } from "../../hosts/sled/underlay.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { SledApi } from "../../hosts/sled/api.js";
import { listenTcp, TestApi } from "../helpers/api.js";
import { ipFrame, tcp, icmpEcho, TCP_FLAGS } from "../helpers/frames.js";
import { until } from "../helpers/until.js";

const portA = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));
const SLED_A = "fd00:1122:3344:101::1", SLED_B = "fd00:1122:3344:102::1";
const A = { mac: "a8:40:25:f0:00:05", ip: "172.30.0.5" }, B = { mac: "a8:40:25:f0:00:06", ip: "172.30.0.6" };
const GW = "a8:40:25:ff:77:77";

function portB() {
  const c = structuredClone(portA);
  c.name = "web-b";
  c.guest = { mac: B.mac, ipv4: B.ip, ipv6: "fd00:1024::6" };
  c.sled.underlay = SLED_B;
  c.v2p = [{ ip: A.ip, mac: A.mac, underlay: SLED_A }, { ip: "fd00:1024::5", mac: A.mac, underlay: SLED_A }];
  c.externalIps = { floating: [] };
  c.routes = [];
  delete c.boundary;
  return c;
}

describe("two sled hosts", () => {
  let a: SledHost, b: SledHost, api: SledApi, base: string, fetch: TestApi["fetch"];
  const devA = new MemoryDevice("vnic-a"), devB = new MemoryDevice("vnic-b");

  beforeAll(async () => {
    const ua = await UdpUnderlay.open({ address: SLED_A, bind: { host: "::1", port: 0 }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01" });
    const ub = await UdpUnderlay.open({ address: SLED_B, bind: { host: "::1", port: 0 }, peers: { [SLED_A]: `[::1]:${ua.boundPort}` }, localMac: "02:08:20:01:01:02", nextHopMac: "02:08:20:ff:ff:01" });
    // a learns b's socket only now that it exists
    ua.addPeer(SLED_B, `[::1]:${ub.boundPort}`);
    a = await SledHost.create({ name: "sled-a", underlay: ua });
    b = await SledHost.create({ name: "sled-b", underlay: ub });
    await a.addPort(portA, devA);
    await b.addPort(portB(), devB);
    api = new SledApi({ host: a });
    ({ base, fetch } = await listenTcp(api));
  });
  afterAll(async () => { await api.close(); await a.close(); await b.close(); });

  it("test_xde_loopback: carries a TCP handshake from guest A to guest B and back across the underlay", async () => {
    devA.inject([ipFrame(GW, A.mac, A.ip, B.ip, 6, tcp(A.ip, B.ip, 40000, 80, TCP_FLAGS.SYN))]);
    const [syn] = await devB.waitFor(1);
    expect(Buffer.from(syn.subarray(0, 12)).toString("hex")).toBe("a84025f00006a84025ff7777"); // to B, from the gateway
    devB.inject([ipFrame(GW, B.mac, B.ip, A.ip, 6, tcp(B.ip, A.ip, 80, 40000, TCP_FLAGS.SYN | TCP_FLAGS.ACK))]);
    const got = await devA.waitFor(1);
    expect(got[0][47]).toBe(TCP_FLAGS.SYN | TCP_FLAGS.ACK);
  });

  it("answers the guest's ping to the gateway without touching the underlay", async () => {
    const before = devA.delivered.length;
    devA.inject([ipFrame(GW, A.mac, A.ip, "172.30.0.1", 1, icmpEcho(A.ip, "172.30.0.1", true, 9, 1))]);
    const got = await devA.waitFor(before + 1);
    expect(got[before][34]).toBe(0); // echo reply
  });

  it("lists ports and applies a firewall rule through the API, visible in counters", async () => {
    const ports = await (await fetch(`${base}/ports`)).json();
    expect(ports[0]).toMatchObject({ name: "web-a", ipv4: A.ip, state: "running" });
    const r = await fetch(`${base}/ports/web-a/firewall`, { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "no-web-out", direction: "out", priority: 10, action: "deny", protocols: ["tcp"], ports: [8080] }) });
    expect(r.status).toBe(200);
    devA.inject([ipFrame(GW, A.mac, A.ip, B.ip, 6, tcp(A.ip, B.ip, 40001, 8080, TCP_FLAGS.SYN))]);
    await until(() => (a.stats("web-a").counters.drops.LayerDeny ?? 0) > 0, "the new rule to deny the SYN");
    const stats = await (await fetch(`${base}/ports/web-a/stats`)).json();
    expect(stats.counters.drops.LayerDeny).toBe(1);
    const layers = await (await fetch(`${base}/ports/web-a/layers`)).json();
    expect(layers[1].stats.denies).toBe(1);
  });

  it("rejects bad input with a 4xx and the reason", async () => {
    const bad = await fetch(`${base}/ports/web-a/firewall`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "x", direction: "sideways" }) });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/direction/);
    expect((await fetch(`${base}/ports/nope/flows`)).status).toBe(404);
    expect((await fetch(`${base}/ports`, { method: "POST", body: "{not json" })).status).toBe(400);
    expect((await fetch(`${base}/ports`, { method: "POST", body: "{}", headers: { "content-type": "text/plain" } })).status).toBe(415);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/wopte_port_dropped_packets_total\{port="web-a",reason="LayerDeny"\} 1/);
  });
});
