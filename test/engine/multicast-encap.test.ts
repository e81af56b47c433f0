// The encapsulation variants OPTE's overlay uses besides plain V2P: the
// Oxide MSS option on VPC-internal TCP (room for the host to carry the
// guest's MSS when it segments), multicast towards a group's underlay
// address (M2P: VNI 77, group MACs inside and out, the Multicast option,
// no TCP), and the ToHost action that hands a frame to the host untouched.
import { describe, it, expect } from "vitest";
import { LayerDef, encodePortProgram } from "../../layers/program/encode.js";
import { EngineError } from "../../hosts/engine/engine.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { portWith, Dir, Verdict, GUEST_MAC, GW_MAC, PEER_MAC, SLED_A, SLED_B, UNDERLAY_MAC, SWITCH_MAC, VNI } from "../helpers/port-fixture.js";
import { ipFrame, tcp, udp, geneve, hex, TCP_FLAGS } from "../helpers/frames.js";
import { ip16 } from "../../layers/program/addr.js";

const V2P = 1, M2P = 4, MCAST_VNI = 77;
const GROUP4 = "239.129.2.3", UNDERLAY4 = "ff04::e881:203";
const GROUP6 = "ff0e::1:3", UNDERLAY6 = "ff04::77:1:3";

const overlay: LayerDef = {
  name: "overlay", defaultIn: "deny", defaultOut: "deny",
  rules: [
    { id: 1, dir: "out", priority: 10, predicates: [{ field: "dstIp", prefixes: ["224.0.0.0/4", "ff00::/8"] }],
      action: { kind: "encap", table: M2P, key: "innerDstNoVni", multicast: true } },
    { id: 2, dir: "out", priority: 20, predicates: [{ field: "dstIp", prefixes: ["10.0.0.99"] }],
      action: { kind: "encap", table: M2P, key: "innerDstNoVni", multicast: true } },
    { id: 3, dir: "out", priority: 30, predicates: [],
      action: { kind: "encap", table: V2P, key: "innerDst", setInnerEthDst: true, mssOnTcp: true } },
  ],
};

async function port(mtu = 9000) {
  const fx = await portWith([overlay], { mtu });
  fx.e.mapSet(V2P, VNI, "10.0.0.6", 0, 65535, { encapVni: VNI, underlay: SLED_B, mac: PEER_MAC });
  fx.e.mapSet(M2P, 0, GROUP4, 0, 65535, { encapVni: MCAST_VNI, underlay: UNDERLAY4, mac: "33:33:e8:81:02:03" });
  fx.e.mapSet(M2P, 0, GROUP6, 0, 65535, { encapVni: MCAST_VNI, underlay: UNDERLAY6, mac: "33:33:00:01:00:03" });
  return fx;
}

const sportOf = (out: Uint8Array) => (out[54] << 8) | out[55];

describe("the MSS option on VPC-internal TCP", () => {
  it("rides every TCP packet of the flow, slow path and fast path, with a zero body", async () => {
    const { send, e } = await port();
    for (const flags of [TCP_FLAGS.SYN, TCP_FLAGS.ACK]) {
      const r = send(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000, 80, flags)), Dir.Out);
      expect(r.reason).toBe("pass");
      const inner = ipFrame(PEER_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000, 80, flags));
      expect(hex(r.out)).toBe(hex(geneve(SWITCH_MAC, UNDERLAY_MAC, SLED_A, SLED_B, { vni: VNI, mss: 0, sport: sportOf(r.out) }, inner)));
    }
    expect(e.counters(0)).toMatchObject({ slowOut: 1, fastOut: 1 });
  });

  it("is left out for UDP", async () => {
    const { send } = await port();
    const r = send(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 17, udp("10.0.0.5", "10.0.0.6", 5000, 53)), Dir.Out);
    expect(r.out[62] & 0x3f).toBe(0);
  });

  it("counts against the underlay MTU", async () => {
    const { result } = await port(1500);
    // outer IPv6 packet = 40 + 8 + 8 (Geneve) + 8 (MSS option) + inner frame
    const fits = ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000, 80, TCP_FLAGS.ACK, new Uint8Array(1500 - 64 - 54)));
    expect(fits.length).toBe(1500 - 64);
    expect(result(fits, Dir.Out)).toBe("pass");
    const over = ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40001, 80, TCP_FLAGS.ACK, new Uint8Array(1500 - 64 - 53)));
    expect(result(over, Dir.Out)).toBe("TooBig");
  });
});

describe("multicast encapsulation", () => {
  it("sends IPv4 to the group's underlay address on VNI 77 with group MACs and the Multicast option", async () => {
    const { send } = await port();
    const r = send(ipFrame("01:00:5e:01:02:03", GUEST_MAC, "10.0.0.5", GROUP4, 17, udp("10.0.0.5", GROUP4, 5000, 9999)), Dir.Out);
    expect(r.reason).toBe("pass");
    // 239.129.2.3: the low 23 bits make 01:00:5e:01:02:03 (RFC 1112 §6.4); ff04::e881:203 makes 33:33:e8:81:02:03
    const inner = ipFrame("01:00:5e:01:02:03", GUEST_MAC, "10.0.0.5", GROUP4, 17, udp("10.0.0.5", GROUP4, 5000, 9999));
    expect(hex(r.out)).toBe(hex(geneve("33:33:e8:81:02:03", UNDERLAY_MAC, SLED_A, UNDERLAY4, { vni: MCAST_VNI, multicast: 0, sport: sportOf(r.out) }, inner)));
  });

  it("rewrites whatever inner MAC the guest used to the group's (IPv6: 33:33 + the group's last 32 bits)", async () => {
    const { send } = await port();
    const r = send(ipFrame(GW_MAC, GUEST_MAC, "fd00::5", GROUP6, 17, udp("fd00::5", GROUP6, 5000, 9999)), Dir.Out);
    expect(r.reason).toBe("pass");
    const inner = ipFrame("33:33:00:01:00:03", GUEST_MAC, "fd00::5", GROUP6, 17, udp("fd00::5", GROUP6, 5000, 9999));
    expect(hex(r.out)).toBe(hex(geneve("33:33:00:01:00:03", UNDERLAY_MAC, SLED_A, UNDERLAY6, { vni: MCAST_VNI, multicast: 0, sport: sportOf(r.out) }, inner)));
  });

  it("refuses TCP to a group, a group without an M2P mapping, and a unicast destination", async () => {
    const { send } = await port();
    const tcpToGroup = send(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", GROUP4, 6, tcp("10.0.0.5", GROUP4, 40000, 80, TCP_FLAGS.SYN)), Dir.Out);
    expect(tcpToGroup).toMatchObject({ reason: "MulticastTcp", layer: 0, rule: 1 });
    expect(send(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "239.9.9.9", 17, udp("10.0.0.5", "239.9.9.9", 5000, 9999)), Dir.Out).reason).toBe("NoMulticastTarget");
    expect(send(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.99", 17, udp("10.0.0.5", "10.0.0.99", 5000, 9999)), Dir.Out).reason).toBe("NoMulticastTarget");
  });

  it("re-steers a cached flow when the group's M2P mapping moves", async () => {
    const { send, e } = await port();
    const f = ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", GROUP4, 17, udp("10.0.0.5", GROUP4, 5000, 9999));
    expect(hex(send(f, Dir.Out).out.subarray(38, 54))).toBe(hex(ip16(UNDERLAY4)));
    e.mapSet(M2P, 0, GROUP4, 0, 65535, { encapVni: MCAST_VNI, underlay: "ff04::1:5", mac: "33:33:00:01:00:05" });
    const r = send(f, Dir.Out);
    expect(hex(r.out.subarray(0, 6))).toBe("333300010005");
    expect(hex(r.out.subarray(38, 54))).toBe(hex(ip16("ff04::1:5")));
    expect(e.counters(0).reevaluated).toBe(1);
  });
});

describe("the replication mode of a copy (underlaySetReplication)", () => {
  it("rewrites only the Multicast option's top 2 bits of an output frame, for each mode in turn", async () => {
    const { b, e } = await port();
    const inner = ipFrame("01:00:5e:01:02:03", GUEST_MAC, "10.0.0.5", GROUP4, 17, udp("10.0.0.5", GROUP4, 5000, 9999));
    b.set(0, ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", GROUP4, 17, udp("10.0.0.5", GROUP4, 5000, 9999)), 0, Dir.Out);
    b.run(1, 0);
    const at = b.outputAt(0), len = b.outputLength(0);
    const sport = sportOf(b.output(0));
    for (const mode of [1, 2, 0]) {
      expect(e.setReplication(at, len, mode)).toBe(0);
      expect(hex(b.output(0))).toBe(hex(geneve("33:33:e8:81:02:03", UNDERLAY_MAC, SLED_A, UNDERLAY4, { vni: MCAST_VNI, multicast: mode, sport }, inner)));
    }
  });

  it("refuses Reserved, a frame without the option, a frame that is not Geneve and memory outside the batch areas", async () => {
    const { b, e } = await port();
    b.set(0, ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", GROUP4, 17, udp("10.0.0.5", GROUP4, 5000, 9999)), 0, Dir.Out);
    b.set(1, ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 17, udp("10.0.0.5", "10.0.0.6", 5000, 53)), 0, Dir.Out);
    b.run(2, 0);
    const before = hex(b.output(0));
    const name = (r: number) => reasonName(r);
    expect(name(e.setReplication(b.outputAt(0), b.outputLength(0), 3))).toBe("BadArgument");
    expect(name(e.setReplication(b.outputAt(1), b.outputLength(1), 1))).toBe("BadGeneve"); // unicast: no Multicast option
    expect(name(e.setReplication(b.outputAt(0) + 14, b.outputLength(0) - 14, 1))).not.toBe("None"); // not a frame's start
    expect(name(e.setReplication(8, 100, 1))).toBe("BadDescriptor");
    expect(name(e.setReplication(b.outputAt(0), 0, 1))).toBe("BadDescriptor");
    expect(hex(b.output(0))).toBe(before);
  });
});

describe("the ToHost action", () => {
  const layer: LayerDef = {
    name: "gateway", defaultIn: "allow", defaultOut: "allow",
    rules: [{ id: 9, dir: "out", priority: 10, predicates: [{ field: "proto", values: [2] }], action: { kind: "toHost" } }],
  };

  it("hands the frame to the host unchanged, counted, without creating a flow", async () => {
    const { send, e } = await portWith([layer]);
    const igmp = ipFrame("01:00:5e:00:00:16", GUEST_MAC, "10.0.0.5", "224.0.0.22", 2, new Uint8Array(16));
    const r = send(igmp, Dir.Out);
    expect(r).toMatchObject({ verdict: Verdict.ToHost, layer: 0, rule: 9, reasonNo: 0 });
    expect(hex(r.out)).toBe(hex(igmp));
    expect(e.counters(0)).toMatchObject({ toHost: 1, dropsOut: 0 });
    expect(e.flowCount(0)).toBe(0);
    expect(send(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 17, udp("10.0.0.5", "10.0.0.6", 1, 2)), Dir.Out).reason).toBe("pass");
  });
});

describe("validation of the version-2 additions", () => {
  const load = async (mutate: (b: Uint8Array, dv: DataView) => void) => {
    const { e } = await portWith([]);
    const b = encodePortProgram([overlay]);
    mutate(b, new DataView(b.buffer));
    try { e.loadProgram(0, b); return "loaded"; } catch (err) { return reasonName((err as EngineError).reason); }
  };
  // rule 1: layer at 12, header 32, rule header 16, dstIp predicate 4 + 2 × 20, then the encap flags
  const FLAGS = 12 + 32 + 16 + 44;

  it("refuses an unknown encap flag, and the multicast flag in a version-1 layer", async () => {
    expect(await load(() => {})).toBe("loaded");
    expect(await load((_, dv) => dv.setUint32(FLAGS, dv.getUint32(FLAGS, true) | 64, true))).toBe("BadLength");
    expect(await load((_, dv) => dv.setUint16(12 + 4, 1, true))).toBe("BadLength");
  });
});
