// Multicast on a sled host: a group's frame from the underlay reaches every
// local member port and each port's engine applies its source filter; a
// local guest's group frame goes to the other local members and once to each
// next hop of its forwarding entry; a guest's IGMPv3/MLDv2 reports change its
// port's groups (and bad ones are counted, nothing more); across two sleds on
// the udp underlay the group reaches the member on the other sled. OPTE's
// own multicast scenarios are in multicast-forwarding, multicast-validation
// and multicast-source-filter.test.ts.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { SledHost } from "../../hosts/sled/sled.js";
import { SledApi } from "../../hosts/sled/api.js";
import { listenTcp } from "../helpers/api.js";
import { UdpUnderlay } from "../../hosts/sled/underlay.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { MemoryUnderlay } from "../helpers/memory-underlay.js";
import { examplePortJson, PortJson } from "../helpers/example-port.js";
import { ipFrame, udp, geneve, hex } from "../helpers/frames.js";
import { igmpv3Report, mldv2Report, RECORD } from "../../hosts/lib/mcast-frames.js";
import { linkLocalFromMac } from "../../layers/vpc/addresses.js";
import { ip16 } from "../../layers/program/addr.js";
import { ForwardingEntry } from "../../hosts/sled/multicast.js";
import { replicationOf } from "../../hosts/lib/underlay-frame.js";
import { until } from "../helpers/until.js";

const SLED = "fd00:1122:3344:101::1", OTHER_SLED = "fd00:1122:3344:102::1";
const GW = "a8:40:25:ff:77:77";
const GROUP = "239.1.2.3", UNDERLAY = "ff04::1:2:3", GROUP_MAC = "01:00:5e:01:02:03";
const REMOTE = "172.30.0.9";
const SWITCH = "fd00:1122:3344:1::7";
/** The forwarding entry that sends local senders' copies of GROUP to the other sleds. */
const toSleds = ForwardingEntry.parse({ underlay: UNDERLAY, nextHops: [{ nextHop: SWITCH, replication: "underlay" }] });

function guest(n: number, groups: PortJson["multicast"] = [], sled = SLED): PortJson {
  const c = examplePortJson();
  c.name = `web-${n}`;
  c.guest = { mac: `a8:40:25:f0:00:0${n}`, ipv4: `172.30.0.${n}`, ipv6: `fd00:1024::${n}` };
  c.sled.underlay = sled;
  c.multicast = groups;
  c.firewall.push({ name: "mcast-in", direction: "in", action: "allow", protocols: ["udp"], ports: [9999] });
  return c;
}

const toGroup = (n: number, group = GROUP) => ipFrame(GROUP_MAC, `a8:40:25:f0:00:0${n}`, `172.30.0.${n}`, group, 17, udp(`172.30.0.${n}`, group, 5000, 9999));
const fromRemote = (src: string, group = GROUP) => geneve("02:08:20:01:01:01", "02:08:20:ff:ff:01", OTHER_SLED, UNDERLAY, { vni: 77, multicast: 0 },
  ipFrame(GROUP_MAC, "a8:40:25:f0:00:09", src, group, 17, udp(src, group, 6000, 9999)));
/** Everything injected has gone through: memory devices are synchronous and the sled flushes in a microtask. */
const settle = () => new Promise((r) => setImmediate(r));
const srcOf = (f: Uint8Array) => [...f.subarray(26, 30)].join(".");

describe("multicast on one sled", () => {
  let sled: SledHost, u: MemoryUnderlay;
  let a: MemoryDevice, b: MemoryDevice, c: MemoryDevice;
  beforeEach(async () => {
    u = new MemoryUnderlay();
    sled = await SledHost.create({ name: "sled", underlay: u, underlayAddress: SLED });
    [a, b, c] = [new MemoryDevice("a"), new MemoryDevice("b"), new MemoryDevice("c")];
    await sled.addPort(guest(5), a);
    await sled.addPort(guest(6, [{ group: GROUP, mode: "exclude", sources: [] }]), b);
    await sled.addPort(guest(7, [{ group: GROUP, mode: "include", sources: [REMOTE] }]), c);
    await sled.setM2p({ group: GROUP, underlay: UNDERLAY });
  });
  afterEach(async () => { await sled.close(); });

  it("delivers a group's frame from the underlay to every member port, through each port's source filter", async () => {
    u.inject([fromRemote(REMOTE)]);
    await b.waitFor(1);
    await c.waitFor(1);
    expect(hex(b.delivered[0].subarray(0, 12))).toBe((GROUP_MAC + GW).replace(/:/g, "")); // to the group's MAC, from the gateway
    u.inject([fromRemote("172.30.0.8")]);
    await b.waitFor(2);
    await settle();
    expect(c.delivered.length).toBe(1); // 172.30.0.8 is not in c's include list
    expect(sled.stats("web-7").counters.drops.SourceFiltered).toBe(1);
    expect(a.delivered.length).toBe(0);
    u.inject([fromRemote(REMOTE, "239.5.5.5")]);
    await until(() => sled.underlayDrops.noMembers > 0, "the frame to a group without members");
    expect(sled.underlayDrops.noMembers).toBe(1);
  });

  it("sends a local guest's group frame to the other local members and once to its forwarding next hop", async () => {
    await sled.setForwarding(toSleds);
    a.inject([toGroup(5)]);
    await b.waitFor(1);
    await settle();
    expect(u.sent.length).toBe(1);
    expect(hex(u.sent[0].subarray(38, 54))).toBe(hex(ip16(UNDERLAY)));
    expect(replicationOf(u.sent[0])).toBe("underlay");
    expect(srcOf(b.delivered[0])).toBe("172.30.0.5");
    expect(c.delivered.length).toBe(0); // c takes REMOTE only
    expect(sled.stats("web-7").counters.drops.SourceFiltered).toBe(1);
    b.inject([toGroup(6)]);
    await until(() => u.sent.length === 2, "b's copy to the next hop");
    await settle();
    expect(b.delivered.length).toBe(1); // not its own frame back
    expect(a.delivered.length).toBe(0); // a has not joined
    expect(u.sent.length).toBe(2);
  });

  it("learns a port's groups from its guest's IGMPv3 and MLDv2 reports", async () => {
    a.inject([igmpv3Report("a8:40:25:f0:00:05", "172.30.0.5", [{ type: RECORD.toExclude, group: GROUP, sources: [REMOTE] }])]);
    await until(() => sled.stats("web-5").multicast.reports.learned === 1, "the report learned");
    expect(sled.port("web-5").compiled.config.multicast).toEqual([{ group: GROUP, mode: "exclude", sources: [REMOTE] }]);
    u.inject([fromRemote("172.30.0.8"), fromRemote(REMOTE)]);
    await a.waitFor(1);
    await settle();
    expect(a.delivered.map(srcOf)).toEqual(["172.30.0.8"]); // REMOTE excluded
    // leave (TO_IN {}); join an IPv6 group with MLDv2 from the link-local address
    a.inject([igmpv3Report("a8:40:25:f0:00:05", "172.30.0.5", [{ type: RECORD.toInclude, group: GROUP, sources: [] }])]);
    a.inject([mldv2Report("a8:40:25:f0:00:05", linkLocalFromMac("a8:40:25:f0:00:05"), [
      { type: RECORD.toInclude, group: "ff0e::db8:5", sources: ["fd00:1024::9"] },
      { type: RECORD.toExclude, group: "ff02::1:ff00:5", sources: [] }, // solicited-node: link scope, ignored
    ])]);
    await until(() => sled.stats("web-5").multicast.reports.learned === 3, "both reports learned");
    expect(sled.port("web-5").compiled.config.multicast).toEqual([{ group: "ff0e::db8:5", mode: "include", sources: ["fd00:1024::9"] }]);
    u.inject([fromRemote("172.30.0.8")]);
    await b.waitFor(3); // b is still a member: the frame went through
    await settle();
    expect(a.delivered.length).toBe(1);
    expect(sled.stats("web-5").multicast.reports).toEqual({ learned: 3, bad: 0, ignoredRecords: 1 });
    expect(u.sent.length).toBe(0); // reports stay on the sled
  });

  it("counts a malformed report and a report the config cannot hold, and carries on", async () => {
    const bad = igmpv3Report("a8:40:25:f0:00:05", "172.30.0.5", [{ type: RECORD.toExclude, group: GROUP, sources: [] }]);
    bad[bad.length - 1] ^= 0xff;
    const tooMany = Array.from({ length: 300 }, (_, i) => `10.${i >> 8}.${i & 255}.1`);
    a.inject([bad, igmpv3Report("a8:40:25:f0:00:05", "172.30.0.5", [{ type: RECORD.toExclude, group: GROUP, sources: tooMany }])]);
    await until(() => sled.stats("web-5").multicast.reports.bad === 2, "both reports counted bad");
    const r = sled.stats("web-5").multicast.reports;
    expect(r).toMatchObject({ learned: 0, bad: 2 });
    expect(r.lastError).toMatch(/multicast\.0\.sources/);
    expect(sled.port("web-5").compiled.config.multicast).toEqual([]);
    a.inject([toGroup(5)]);
    await b.waitFor(1); // the port still works
  });

  it("serves M2P mappings and port groups over the API", async () => {
    const api = new SledApi({ host: sled });
    const { base, fetch } = await listenTcp(api);
    const req = (method: string, path: string, body?: unknown) =>
      fetch(base + path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    try {
      expect(await (await req("GET", "/m2p")).json()).toEqual([{ group: GROUP, underlay: UNDERLAY }]);
      expect((await req("PUT", "/m2p", { group: "ff0e::1", underlay: "fd00::1" })).status).toBe(400);
      const unmapped = await req("POST", "/ports/web-5/multicast", { group: "ff0e::1" });
      expect(unmapped.status).toBe(409);
      expect((await unmapped.json()).error).toMatch(/no M2P mapping for ff0e::1/);
      expect((await req("PUT", "/m2p", { group: "ff0e::1", underlay: "ff04::e:1" })).status).toBe(200);
      expect((await req("POST", "/ports/web-5/multicast", { group: "ff0e::1" })).status).toBe(200);
      expect(await (await req("GET", "/ports/web-5/multicast")).json()).toEqual([{ group: "ff0e::1", mode: "exclude", sources: [] }]);
      expect(await (await req("DELETE", "/ports/web-5/multicast/ff0e:0::1")).json()).toMatchObject({ left: "ff0e:0::1", wasMember: true });
      expect(await (await req("DELETE", "/ports/web-5/multicast/ff0e::1")).json()).toMatchObject({ left: "ff0e::1", wasMember: false });
      expect((await req("DELETE", "/m2p/not-an-address")).status).toBe(400);
      expect((await req("DELETE", "/m2p/239.9.9.9")).status).toBe(404);
      expect((await req("PUT", "/ports/web-6/multicast", [])).status).toBe(200);
      u.inject([fromRemote(REMOTE)]);
      await c.waitFor(1);
      await settle();
      expect(b.delivered.length).toBe(0); // web-6 left through the API
      u.inject([fromRemote(REMOTE, "239.5.5.5")]);
      await until(() => sled.underlayDrops.noMembers > 0, "the frame to a group without members");
      expect((await (await req("GET", "/health")).json()).underlayDrops).toMatchObject({ noMembers: 1 });
    } finally {
      await api.close();
    }
  });
});

describe("multicast across two sleds on the udp underlay", () => {
  it("reaches the member guest on the other sled", async () => {
    const ua = await UdpUnderlay.open({ address: SLED, bind: { host: "::1", port: 0 }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01" });
    const ub = await UdpUnderlay.open({ address: OTHER_SLED, bind: { host: "::1", port: 0 }, peers: { [SLED]: `[::1]:${ua.boundPort}` }, localMac: "02:08:20:01:01:02", nextHopMac: "02:08:20:ff:ff:01" });
    ua.addPeer(OTHER_SLED, `[::1]:${ub.boundPort}`);
    const sa = await SledHost.create({ name: "sled-a", underlay: ua, underlayAddress: SLED });
    const sb = await SledHost.create({ name: "sled-b", underlay: ub, underlayAddress: OTHER_SLED });
    try {
      const a = new MemoryDevice("a"), b = new MemoryDevice("b");
      await sa.addPort(guest(5), a);
      await sb.addPort(guest(6, [{ group: GROUP, mode: "exclude", sources: [] }], OTHER_SLED), b);
      await sa.setM2p({ group: GROUP, underlay: UNDERLAY });
      await sa.setForwarding(toSleds);
      a.inject([toGroup(5)]);
      const [got] = await b.waitFor(1);
      expect(hex(got.subarray(0, 6))).toBe("01005e010203");
      expect(srcOf(got)).toBe("172.30.0.5");
    } finally {
      await sa.close();
      await sb.close();
    }
  });
});
