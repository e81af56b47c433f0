// The tap underlay with two NICs per sled (the seed's two switches, here two
// bridges): flows spread over both paths by the outer UDP source port, and
// when one path stops answering neighbor discovery, traffic fails over to the
// other without losing frames after the switch-over.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync } from "node:fs";
import { SledHost } from "../../hosts/sled/sled.js";
import { TapUnderlay } from "../../hosts/sled/underlay-tap.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { sh, inNs } from "../helpers/netns.js";
import { needs } from "../helpers/tools.js";
import { ipFrame, tcp, TCP_FLAGS } from "../helpers/frames.js";
import { recordingLogger } from "../helpers/log-records.js";

const env = needs("root", "ip", "addon");
const A = "fd00:1122:3344:101::1", B = "fd00:1122:3344:102::1";
const base = env.ready ? JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8")) : {};

describe(env.title("tap underlay: ECMP over two paths and failover"), env.options, () => {
  let s1: SledHost, s2: SledHost, u1: TapUnderlay, u2: TapUnderlay;
  const d1 = new MemoryDevice("g1"), d2 = new MemoryDevice("g2");
  const logs = recordingLogger("info");

  beforeAll(async () => {
    u1 = new TapUnderlay({ address: A, mac: "02:08:20:01:01:0a", nics: [{ tap: "wua0", nextHop: B }, { tap: "wub0", nextHop: B }], probeMs: 200, log: logs.log });
    u2 = new TapUnderlay({ address: B, mac: "02:08:20:01:02:0a", nics: [{ tap: "wua1", nextHop: A }, { tap: "wub1", nextHop: A }], probeMs: 200 });
    try { sh("ip", "netns", "del", "wopte-fabric"); } catch { /* fresh */ }
    sh("ip", "netns", "add", "wopte-fabric");
    inNs("wopte-fabric", "ip", "link", "add", "br-a", "type", "bridge");
    inNs("wopte-fabric", "ip", "link", "add", "br-b", "type", "bridge");
    for (const [tap, br] of [["wua0", "br-a"], ["wua1", "br-a"], ["wub0", "br-b"], ["wub1", "br-b"]]) {
      sh("ip", "link", "set", tap, "netns", "wopte-fabric");
      inNs("wopte-fabric", "ip", "link", "set", tap, "master", br);
      inNs("wopte-fabric", "ip", "link", "set", tap, "up");
    }
    inNs("wopte-fabric", "ip", "link", "set", "br-a", "up");
    inNs("wopte-fabric", "ip", "link", "set", "br-b", "up");
    s1 = await SledHost.create({ name: "s1", underlay: u1, underlayAddress: A });
    s2 = await SledHost.create({ name: "s2", underlay: u2, underlayAddress: B });
    const pa = structuredClone(base);
    pa.v2p = [{ ip: "172.30.0.6", mac: "a8:40:25:f0:00:06", underlay: B }];
    const pb = structuredClone(base);
    Object.assign(pb, { name: "web-b", guest: { mac: "a8:40:25:f0:00:06", ipv4: "172.30.0.6" }, v2p: [{ ip: "172.30.0.5", mac: "a8:40:25:f0:00:05", underlay: A }], externalIps: { floating: [] } });
    delete pb.subnet.ipv6; delete pb.gateway.ipv6;
    pb.sled.underlay = B;
    await s1.addPort(pa, d1);
    await s2.addPort(pb, d2);
    // wait for neighbor discovery on both paths
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !u1.paths_().every((p) => p.up)) await new Promise((r) => setTimeout(r, 50));
  }, 30_000);

  afterAll(async () => {
    await s1?.close(); await s2?.close();
    try { sh("ip", "netns", "del", "wopte-fabric"); } catch { /* gone */ }
  });

  const syn = (sport: number) => ipFrame("a8:40:25:ff:77:77", "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 6, tcp("172.30.0.5", "172.30.0.6", sport, 80, TCP_FLAGS.SYN));

  it("spreads flows over both next hops by the outer source port", async () => {
    expect(u1.paths_().map((p) => p.up)).toEqual([true, true]);
    d1.inject(Array.from({ length: 64 }, (_, i) => syn(30000 + i)));
    await d2.waitFor(64, 5000);
    const tx = u1.paths_().map((p) => p.tx);
    expect(tx[0]).toBeGreaterThan(8);
    expect(tx[1]).toBeGreaterThan(8);
  }, 20_000);

  it("fails over when one path goes down", async () => {
    inNs("wopte-fabric", "ip", "link", "set", "wua1", "down"); // the peer's NIC on switch A
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && u1.paths_()[0].up) await new Promise((r) => setTimeout(r, 50));
    expect(u1.paths_().map((p) => p.up)).toEqual([false, true]);
    const before = u1.paths_()[0].tx, got = d2.delivered.length;
    d1.inject(Array.from({ length: 32 }, (_, i) => syn(31000 + i)));
    await d2.waitFor(got + 32, 5000);
    expect(u1.paths_()[0].tx).toBe(before);
    // the operator hears about both next hops coming up, then the one that went down
    expect(logs.records.filter((r) => r.msg === "underlay next hop up").map((r) => r.tap).sort()).toEqual(["wua0", "wub0"]);
    expect(logs.records.filter((r) => r.msg === "underlay next hop down")).toMatchObject([{ tap: "wua0", nextHop: B, level: 40 }]);
  }, 20_000);
});
