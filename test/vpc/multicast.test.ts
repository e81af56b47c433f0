// Multicast in the VPC layers (OPTE's oxide-vpc multicast): the router sends
// groups outside link scope to a multicast route, the overlay encapsulates
// them towards the group's M2P underlay address on VNI 77; inbound, only
// groups the port joined are decapsulated, through their IGMPv3/MLDv2-style
// source filters, on VNI 77 or the port's own; the gateway hands the guest's
// membership reports to the host. Membership changes replace layers, and the
// epoch makes cached flows follow.
import { describe, it, expect } from "vitest";
import { compilePort, layerBytes } from "../../layers/vpc/compile.js";
import { applyPort } from "../../hosts/engine/apply-port.js";
import { parsePortConfig, ConfigError } from "../../layers/vpc/config.js";
import { Engine } from "../../hosts/engine/engine.js";
import { Dir, Verdict } from "../../hosts/engine/batch.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { examplePortJson, GUEST_MAC, GATEWAY_MAC, PortJson } from "../helpers/example-port.js";
import { ipFrame, udp, tcp, geneve, hex, TCP_FLAGS } from "../helpers/frames.js";
import { igmpv3Report, mldv2Report, RECORD } from "../../hosts/lib/mcast-frames.js";
import { ip16 } from "../../layers/program/addr.js";
import { linkLocalFromMac } from "../../layers/vpc/addresses.js";
import { replicationOf } from "../../hosts/lib/underlay-frame.js";

const SLED = "fd00:1122:3344:101::1", PEER_SLED = "fd00:1122:3344:102::1";
const SLED_MAC = "02:08:20:01:01:01", SWITCH_MAC = "02:08:20:ff:ff:01";
const G4 = "172.30.0.5";
const GROUP = "239.1.2.3", UNDERLAY = "ff04::1:2:3";
const GROUP6 = "ff0e::db8:5", UNDERLAY6 = "ff04::db8:5";

function config(edit: (c: PortJson) => void = () => {}): PortJson {
  const c = examplePortJson();
  c.m2p = [{ group: GROUP, underlay: UNDERLAY }, { group: GROUP6, underlay: UNDERLAY6 }];
  c.multicast = [{ group: GROUP, mode: "exclude", sources: ["172.30.0.66"] }];
  c.firewall.push({ name: "mcast-in", direction: "in", action: "allow", protocols: ["udp"], ports: [9999] });
  edit(c);
  return c;
}

async function port(edit?: (c: PortJson) => void) {
  const e = await Engine.load();
  applyPort(e, 0, compilePort(config(edit)), 0);
  const b = e.newBatch(4);
  const send = (f: Uint8Array, dir: Dir) => {
    b.set(0, f, 0, dir);
    b.run(1, 0);
    const v = b.verdict(0);
    return { v, reason: v === Verdict.Drop ? reasonName(b.reason(0)) : v === Verdict.ToHost ? "toHost" : "pass", out: b.output(0).slice() };
  };
  return { e, send };
}

const toGroup = (group: string, proto = 17, src = G4) => ipFrame(GATEWAY_MAC, GUEST_MAC, src, group, proto,
  proto === 6 ? tcp(src, group, 40000, 9999, TCP_FLAGS.SYN) : udp(src, group, 5000, 9999));
/** Multicast from another sled: Geneve to our sled, inner destination MAC as the sender's sled set it. */
const fromUnderlay = (group: string, src: string, vni = 77, dport = 9999) =>
  geneve(SLED_MAC, SWITCH_MAC, PEER_SLED, SLED, { vni, multicast: 0 },
    ipFrame("01:00:5e:01:02:03", "a8:40:25:f0:00:06", src, group, 17, udp(src, group, 5000, dport)));

describe("outbound multicast", () => {
  it("goes to the group's underlay address on VNI 77 with group MACs and the Multicast option", async () => {
    const { send } = await port();
    const r = send(toGroup(GROUP), Dir.Out);
    expect(r.reason).toBe("pass");
    expect(hex(r.out.subarray(0, 6))).toBe("333300020003"); // RFC 2464: the last 32 bits of ff04::1:2:3
    expect(hex(r.out.subarray(38, 54))).toBe(hex(ip16(UNDERLAY)));
    expect((r.out[66] << 16) | (r.out[67] << 8) | r.out[68]).toBe(77);
    expect(hex(r.out.subarray(70, 78))).toBe("0129010100000000"); // Multicast, replication External
    expect(hex(r.out.subarray(78, 84))).toBe("01005e010203"); // RFC 1112 from 239.1.2.3
  });

  it("sends IPv6 groups the same way", async () => {
    const { send } = await port();
    const r = send(ipFrame(GATEWAY_MAC, GUEST_MAC, "fd00:1024::5", GROUP6, 17, udp("fd00:1024::5", GROUP6, 5000, 9999)), Dir.Out);
    expect(r.reason).toBe("pass");
    expect(hex(r.out.subarray(38, 54))).toBe(hex(ip16(UNDERLAY6)));
    expect(hex(r.out.subarray(0, 6))).toBe("33330db80005");
    expect(hex(r.out.subarray(78, 84))).toBe("33330db80005");
  });

  it("denies TCP to a group, groups without M2P, and link-scope groups", async () => {
    const { send } = await port();
    expect(send(toGroup(GROUP, 6), Dir.Out).reason).toBe("MulticastTcp");
    expect(send(toGroup("239.9.9.9"), Dir.Out).reason).toBe("NoMulticastTarget");
    expect(send(toGroup("224.0.0.251"), Dir.Out).reason).toBe("Unroutable");
    expect(send(ipFrame(GATEWAY_MAC, GUEST_MAC, "fd00:1024::5", "ff02::fb", 17, udp("fd00:1024::5", "ff02::fb", 5353, 5353)), Dir.Out).reason).toBe("Unroutable");
  });

  it("test_ipv6_multicast_encapsulation, test_tcp_multicast_denied: sends an admin-local overlay group to its underlay group from the sled's address, External replication; TCP to it is denied", async () => {
    const { send } = await port((c) => { c.m2p.push({ group: "ff04::1:3", underlay: "ff04::1:ffff" }); });
    const to = (proto: number) => ipFrame("33:33:00:01:00:03", GUEST_MAC, "fd00:1024::5", "ff04::1:3", proto,
      proto === 6 ? tcp("fd00:1024::5", "ff04::1:3", 12345, 80, TCP_FLAGS.SYN) : udp("fd00:1024::5", "ff04::1:3", 12345, 5353));
    const r = send(to(17), Dir.Out);
    expect(r.reason).toBe("pass");
    expect(hex(r.out.subarray(38, 54))).toBe(hex(ip16("ff04::1:ffff"))); // outer destination: the underlay group
    expect(hex(r.out.subarray(22, 38))).toBe(hex(ip16(SLED)));           // outer source: this sled
    expect(hex(r.out.subarray(0, 6))).toBe("33330001ffff");              // RFC 2464 from the underlay group
    expect((r.out[66] << 16) | (r.out[67] << 8) | r.out[68]).toBe(77);
    expect(replicationOf(r.out)).toBe("external");
    expect(send(to(6), Dir.Out).reason).toBe("MulticastTcp");
  });

  it("lets the firewall stop it as any other traffic", async () => {
    const { send } = await port((c) => c.firewall.push({ name: "no-mcast-out", direction: "out", priority: 5, action: "deny", hosts: [{ type: "subnet", value: "224.0.0.0/4" }] }));
    expect(send(toGroup(GROUP), Dir.Out).reason).toBe("LayerDeny");
  });
});

describe("inbound multicast", () => {
  it("delivers a joined group from an allowed source, addressed to the group's MAC from the gateway", async () => {
    const { send } = await port();
    const r = send(fromUnderlay(GROUP, "172.30.0.6"), Dir.In);
    expect(r.reason).toBe("pass");
    expect(hex(r.out)).toBe(hex(ipFrame("01:00:5e:01:02:03", GATEWAY_MAC, "172.30.0.6", GROUP, 17, udp("172.30.0.6", GROUP, 5000, 9999))));
    expect(send(fromUnderlay(GROUP, "172.30.0.7", 1024), Dir.In).reason).toBe("pass"); // the port's own VNI too
  });

  it("drops an excluded source, a group not joined and a foreign VNI, each with its reason", async () => {
    const { send, e } = await port();
    expect(send(fromUnderlay(GROUP, "172.30.0.66"), Dir.In).reason).toBe("SourceFiltered");
    expect(send(fromUnderlay("239.5.5.5", "172.30.0.6"), Dir.In).reason).toBe("NotMember");
    expect(send(fromUnderlay(GROUP, "172.30.0.6", 2048), Dir.In).reason).toBe("WrongVni");
    expect(e.counters(0).drops).toMatchObject({ SourceFiltered: 1, NotMember: 1, WrongVni: 1 });
  });

  it("with an include filter takes only the listed sources", async () => {
    const { send } = await port((c) => { c.multicast = [{ group: GROUP, mode: "include", sources: ["172.30.0.6"] }]; });
    expect(send(fromUnderlay(GROUP, "172.30.0.6"), Dir.In).reason).toBe("pass");
    expect(send(fromUnderlay(GROUP, "172.30.0.7"), Dir.In).reason).toBe("SourceFiltered");
  });

  it("still needs the firewall's permission", async () => {
    const { send } = await port();
    expect(send(fromUnderlay(GROUP, "172.30.0.6", 77, 7777), Dir.In).reason).toBe("LayerDeny");
  });

  it("follows a membership change on a cached flow: leaving the group replaces layers, the epoch re-evaluates", async () => {
    const { send, e } = await port();
    expect(send(fromUnderlay(GROUP, "172.30.0.6"), Dir.In).reason).toBe("pass");
    expect(send(fromUnderlay(GROUP, "172.30.0.6"), Dir.In).reason).toBe("pass");
    expect(e.counters(0).fastIn).toBe(1);
    const left = compilePort(config((c) => { c.multicast = []; }));
    e.replaceLayer(0, layerBytes(left, "overlay"));
    e.replaceLayer(0, layerBytes(left, "gateway"));
    expect(send(fromUnderlay(GROUP, "172.30.0.6"), Dir.In).reason).toBe("NotMember");
  });
});

describe("membership reports", () => {
  it("IGMPv3 and MLDv2 reports go to the host; other IGMP and MLD stay on the link", async () => {
    const { send, e } = await port();
    const records = [{ type: RECORD.toExclude, group: "239.7.7.7", sources: [] }];
    expect(send(igmpv3Report(GUEST_MAC, G4, records), Dir.Out).reason).toBe("toHost");
    const ll = linkLocalFromMac(GUEST_MAC);
    expect(send(mldv2Report(GUEST_MAC, ll, [{ type: RECORD.toExclude, group: "ff0e::7", sources: [] }]), Dir.Out).reason).toBe("toHost");
    // an IGMPv2 report goes to the group itself, an MLDv1 report (131) likewise
    expect(send(ipFrame(GATEWAY_MAC, GUEST_MAC, G4, "239.7.7.7", 2, Uint8Array.of(0x16, 0, 0xf8, 0xf0, 239, 7, 7, 7)), Dir.Out).reason).toBe("LayerDeny");
    expect(send(ipFrame(GATEWAY_MAC, GUEST_MAC, ll, "ff0e::7", 58, new Uint8Array([131, 0, 0, 0, 0, 0, 0, 0, ...ip16("ff0e::7")])), Dir.Out).reason).toBe("LayerDeny");
    // MLD comes from the link-local address (RFC 3810 §5), so that one is the guest's too
    expect(send(ipFrame(GATEWAY_MAC, GUEST_MAC, "fe80::99", "ff0e::7", 58, new Uint8Array([131, 0, 0, 0, 0, 0, 0, 0, ...ip16("ff0e::7")])), Dir.Out).reason).toBe("SpoofedSource");
    // a report from someone else's address is spoofed
    expect(send(igmpv3Report(GUEST_MAC, "172.30.0.9", records), Dir.Out).reason).toBe("SpoofedSource");
    expect(e.counters(0).toHost).toBe(2);
  });
});

describe("config", () => {
  const problems = (edit: (c: PortJson) => void): string => {
    try { parsePortConfig(config(edit)); return ""; } catch (err) { return (err as ConfigError).message; }
  };

  it("takes groups outside link scope with source filters, and M2P to ff04::/16", () => {
    expect(problems(() => {})).toBe("");
    expect(problems((c) => { c.multicast = [{ group: "ff15::1" }]; })).toBe(""); // transient, site scope
  });

  it("refuses link-scope groups, INCLUDE {}, mixed families, duplicates and underlay groups outside ff04::/16", () => {
    expect(problems((c) => { c.multicast = [{ group: "224.0.0.251" }]; })).toMatch(/multicast\.0\.group: 224\.0\.0\.251 is a link-scope group/);
    expect(problems((c) => { c.multicast = [{ group: "ff12::1" }]; })).toMatch(/multicast\.0\.group: ff12::1 is a link-scope group/);
    expect(problems((c) => { c.multicast = [{ group: "10.0.0.1" }]; })).toMatch(/multicast\.0\.group: 10\.0\.0\.1 is not a multicast address/);
    expect(problems((c) => { c.multicast = [{ group: GROUP, sources: ["127.0.0.1"] }]; })).toMatch(/multicast\.0\.sources\.0: 127\.0\.0\.1 is a special-use address/);
    expect(problems((c) => { c.multicast = [{ group: GROUP6, sources: ["fe80::1"] }]; })).toMatch(/special-use/);
    expect(problems((c) => { c.multicast = [{ group: GROUP, mode: "include", sources: [] }]; })).toMatch(/include filter needs at least one source/);
    expect(problems((c) => { c.multicast = [{ group: GROUP, sources: ["fd00::1"] }]; })).toMatch(/address family/);
    expect(problems((c) => { c.multicast = [{ group: GROUP, sources: ["239.0.0.1"] }]; })).toMatch(/unicast/);
    expect(problems((c) => { c.multicast = [{ group: "ff0e::1" }, { group: "ff0e:0::1" }]; })).toMatch(/multicast\.1\.group: the group is listed twice/);
    expect(problems((c) => { c.m2p = [{ group: GROUP, underlay: "ff05::1" }]; })).toMatch(/m2p\.0\.underlay: expected an underlay group in ff04::\/16/);
  });
});
