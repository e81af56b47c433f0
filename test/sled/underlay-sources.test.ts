// A sled takes Geneve only from sources it knows: the sleds its V2P
// mappings name, its multicast next hops, its driver's peers, boundary
// services and itself. Anything else — anyone who can reach UDP 6081 — is
// dropped before the engine and counted as unknownSource, and the set
// follows the sled's changes.
import { describe, it, expect, afterAll } from "vitest";
import { createSocket } from "node:dgram";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { SledHost } from "../../hosts/sled/sled.js";
import { UdpUnderlay } from "../../hosts/sled/underlay.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { sledMetrics } from "../../hosts/sled/metrics.js";
import { loadSledConfig } from "../../hosts/sled/config.js";
import { MemoryUnderlay } from "../helpers/memory-underlay.js";
import { examplePortJson } from "../helpers/example-port.js";
import { until } from "../helpers/until.js";
import { geneve, ipFrame, tcp, TCP_FLAGS } from "../helpers/frames.js";

const SELF = "fd00:1122:3344:101::1", PEER = "fd00:1122:3344:102::1", BOUNDARY = "fd00:1122:3344:1::1", STRANGER = "fd00:1122:3344:999::1";
const GUEST_MAC = "a8:40:25:f0:00:05", PEER_MAC = "a8:40:25:f0:00:06";

/** A SYN to web-a's port 80 (its firewall lets it in) from the VPC peer, as a sled at `outer` would send it. */
const fromPeer = (outer: string, sport = 33000) => geneve("02:08:20:01:01:01", "02:08:20:ff:ff:01", outer, SELF, { vni: 1024 },
  ipFrame(GUEST_MAC, PEER_MAC, "172.30.0.6", "172.30.0.5", 6, tcp("172.30.0.6", "172.30.0.5", sport, 80, TCP_FLAGS.SYN)));

describe("underlay sources", () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const c of closers) await c(); });

  it("drops and counts Geneve from a source that is no known sled nor boundary services; the set follows V2P changes", async () => {
    const u = new MemoryUnderlay();
    const h = await SledHost.create({ name: "a", underlay: u, underlayAddress: SELF, dropUnknownSources: true });
    closers.push(() => h.close());
    const dev = new MemoryDevice("vnic-a");
    await h.addPort(examplePortJson(), dev); // V2P: 172.30.0.6 on PEER; boundary services at BOUNDARY
    u.inject([fromPeer(PEER, 33000)]);
    await dev.waitFor(1);
    u.inject([fromPeer(STRANGER, 33001)]);
    await until(() => h.underlayDrops.unknownSource === 1, "the stranger's frame counted");
    expect(dev.delivered).toHaveLength(1);
    expect(h.engine.counters(h.port("web-a").id).pktsIn).toBe(1); // the engine never saw it

    // the stranger becomes a sled the VPC knows: its frames come in
    await h.setV2p({ vni: 1024, ip: "172.30.0.9", mac: "a8:40:25:f0:00:09", underlay: STRANGER });
    u.inject([fromPeer(STRANGER, 33002)]);
    await dev.waitFor(2);
    await h.removeV2p(1024, "172.30.0.9");
    u.inject([fromPeer(STRANGER, 33003)]);
    await until(() => h.underlayDrops.unknownSource === 2, "dropped again once unmapped");
    expect(dev.delivered).toHaveLength(2);
    // boundary services and the sled itself are sources too (what the engine then makes of the frame is its own affair)
    const before = h.engine.counters(h.port("web-a").id).pktsIn;
    u.inject([fromPeer(BOUNDARY, 33004), fromPeer(SELF, 33005)]);
    await until(() => h.engine.counters(h.port("web-a").id).pktsIn === before + 2, "both frames reached the engine");
    expect(h.underlayDrops.unknownSource).toBe(2);

    const text = await sledMetrics(h).registry.metrics();
    expect(text).toMatch(/wopte_sled_underlay_dropped_packets_total\{reason="unknownSource"\} 2/);
  });

  it("with the udp driver: a datagram from a peer arrives, the same bytes from an unknown socket do not", async () => {
    const open = (address: string) => UdpUnderlay.open({ address, bind: { host: "::1", port: 0 }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01" });
    const ua = await open(SELF), ub = await open(PEER);
    ua.addPeer(PEER, `[::1]:${ub.boundPort}`);
    ub.addPeer(SELF, `[::1]:${ua.boundPort}`);
    const a = await SledHost.create({ name: "a", underlay: ua, underlayAddress: SELF, dropUnknownSources: true });
    closers.push(() => a.close());
    const dev = new MemoryDevice("vnic-a");
    await a.addPort(examplePortJson(), dev);
    const datagram = (sport: number) => fromPeer(PEER, sport).subarray(14 + 40 + 8); // what the kernel carries: Geneve onwards
    ub.send([fromPeerTo(SELF, 34000)]);
    await dev.waitFor(1);
    const stranger = createSocket("udp6");
    await new Promise<void>((r) => stranger.bind(0, "::1", () => r()));
    closers.push(async () => { stranger.close(); await ub.close(); });
    stranger.send(datagram(34001), ua.boundPort, "::1");
    await until(() => a.underlayDrops.unknownSource === 1, "the stranger's datagram counted");
    expect(dev.delivered).toHaveLength(1);
  });

  it("is on by default with the udp driver, off with tap", () => {
    const dir = mkdtempSync(join(tmpdir(), "wopte-sources-"));
    const write = (name: string, underlay: unknown) => { const f = join(dir, name); writeFileSync(f, JSON.stringify({ name: "a", underlay })); return f; };
    expect(loadSledConfig(write("udp.json", { address: SELF })).underlay).toMatchObject({ driver: "udp", dropUnknownSources: true });
    expect(loadSledConfig(write("off.json", { address: SELF, dropUnknownSources: false })).underlay).toMatchObject({ dropUnknownSources: false });
    expect(loadSledConfig(write("tap.json", { driver: "tap", address: SELF, nics: [{ tap: "nic0", nextHop: "fe80::1" }] })).underlay)
      .toMatchObject({ driver: "tap", dropUnknownSources: false });
  });
});

/** A frame sled B's engine would send to web-a (outer source PEER), as the driver takes it. */
function fromPeerTo(dst: string, sport: number): Uint8Array {
  return geneve("02:08:20:ff:ff:01", "02:08:20:01:01:01", PEER, dst, { vni: 1024 },
    ipFrame(GUEST_MAC, PEER_MAC, "172.30.0.6", "172.30.0.5", 6, tcp("172.30.0.6", "172.30.0.5", sport, 80, TCP_FLAGS.SYN)));
}
