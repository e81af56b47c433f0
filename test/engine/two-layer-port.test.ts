// The engine core end to end: a port with two layers — a firewall that lets
// TCP/80 in (statefully) and an encap layer — turns a guest frame into a
// Geneve frame, and turns the Geneve reply back into a guest frame.
import { describe, it, expect, beforeEach } from "vitest";
import { Engine } from "../../hosts/engine/engine.js";
import { Dir, Verdict } from "../../hosts/engine/batch.js";
import { encodePortProgram, LayerDef } from "../../layers/program/encode.js";
import { ipFrame, tcp, geneve, TCP_FLAGS, hex } from "../helpers/frames.js";
import { reasonName } from "../../hosts/engine/reasons.js";

const GUEST_MAC = "a8:40:25:00:00:01";
const GW_MAC = "a8:40:25:ff:77:77";
const PEER_MAC = "a8:40:25:00:00:02";
const SLED_A = "fd00:1122:3344:101::1";
const SLED_B = "fd00:1122:3344:102::1";
const UNDERLAY_MAC = "02:00:00:00:0a:01";
const SWITCH_MAC = "02:00:00:00:5e:01";
const VNI = 1234;
const V2P = 1;

const firewall: LayerDef = {
  name: "firewall", defaultIn: "deny", defaultOut: "statefulAllow",
  rules: [{ id: 1, dir: "in", priority: 100, predicates: [{ field: "proto", values: [6] }, { field: "dstPort", values: [80] }], action: { kind: "statefulAllow" } }],
};
const overlay: LayerDef = {
  name: "overlay", defaultIn: "deny", defaultOut: "deny",
  rules: [
    { id: 10, dir: "out", priority: 10, predicates: [], action: { kind: "encap", table: V2P, key: "innerDst", setInnerEthDst: true } },
    { id: 11, dir: "in", priority: 10, predicates: [{ field: "vni", values: [VNI] }], action: { kind: "decap" } },
  ],
};

async function setup() {
  const e = await Engine.load();
  e.createPort(0, { vni: VNI, flowCapacity: 1024, netEncap: true, underlayIp: SLED_A, underlayMac: UNDERLAY_MAC, nextHopMac: SWITCH_MAC, mtu: 9000 });
  e.loadProgram(0, encodePortProgram([firewall, overlay]));
  e.mapSet(V2P, VNI, "10.0.0.6", 0, 65535, { encapVni: VNI, underlay: SLED_B, mac: PEER_MAC });
  e.setPortState(0, "running");
  return e;
}

describe("a two-layer port", () => {
  let e: Engine;
  beforeEach(async () => { e = await setup(); });

  it("encapsulates the guest's SYN in Geneve towards the peer's sled", () => {
    const b = e.newBatch(4);
    const syn = ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000, 80, TCP_FLAGS.SYN));
    b.set(0, syn, 0, Dir.Out);
    expect(b.run(1, 1000)).toBe(1);
    expect(b.verdict(0), reasonName(b.reason(0))).toBe(Verdict.Pass);
    const out = b.output(0);
    const innerExpected = ipFrame(PEER_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000, 80, TCP_FLAGS.SYN));
    const sport = (out[54] << 8) | out[55];
    expect(sport & 0xc000).toBe(0xc000);
    const expected = geneve(SWITCH_MAC, UNDERLAY_MAC, SLED_A, SLED_B, { vni: VNI, sport }, innerExpected);
    expect(hex(out)).toBe(hex(expected));
    expect(e.flowCount(0)).toBe(1);
  });

  it("lets the reply back in statefully and decapsulates it; an unsolicited one is denied", () => {
    const b = e.newBatch(4);
    b.set(0, ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000, 80, TCP_FLAGS.SYN)), 0, Dir.Out);
    b.run(1, 1000);
    const synAck = ipFrame(GUEST_MAC, PEER_MAC, "10.0.0.6", "10.0.0.5", 6, tcp("10.0.0.6", "10.0.0.5", 80, 40000, TCP_FLAGS.SYN | TCP_FLAGS.ACK));
    b.set(0, geneve(UNDERLAY_MAC, SWITCH_MAC, SLED_B, SLED_A, { vni: VNI }, synAck), 0, Dir.In);
    // an inbound flow to a port the firewall does not open
    const stray = ipFrame(GUEST_MAC, PEER_MAC, "10.0.0.6", "10.0.0.5", 6, tcp("10.0.0.6", "10.0.0.5", 5555, 22, TCP_FLAGS.SYN));
    b.set(1, geneve(UNDERLAY_MAC, SWITCH_MAC, SLED_B, SLED_A, { vni: VNI }, stray), 0, Dir.In);
    expect(b.run(2, 1001)).toBe(1);
    expect(b.verdict(0)).toBe(Verdict.Pass);
    expect(hex(b.output(0))).toBe(hex(synAck));
    expect(b.verdict(1)).toBe(Verdict.Drop);
    expect(reasonName(b.reason(1))).toBe("LayerDeny");
    expect(b.layer(1)).toBe(0); // the firewall decided
    const c = e.counters(0);
    expect(c.drops.LayerDeny).toBe(1);
    expect(c.flowsCreated).toBe(1);
  });

  it("takes the fast path for later packets of the flow and counts them", () => {
    const b = e.newBatch(8);
    const seg = (flags: number) => ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000, 80, flags));
    for (let i = 0; i < 5; i++) b.set(i, seg(i === 0 ? TCP_FLAGS.SYN : TCP_FLAGS.ACK), 0, Dir.Out);
    expect(b.run(5, 1000)).toBe(5);
    const c = e.counters(0);
    expect(c.slowOut).toBe(1);
    expect(c.fastOut).toBe(4);
    const [flow] = e.flows(0);
    expect(flow.out.pkts).toBe(5);
    expect(flow.out).toMatchObject({ src: "10.0.0.5", dst: "10.0.0.6", sport: 40000, dport: 80, proto: 6 });
    expect(flow.in).toMatchObject({ src: "10.0.0.6", dst: "10.0.0.5", sport: 80, dport: 40000, indexed: true });
  });

  it("re-evaluates cached flows after a rule change (epoch)", () => {
    const b = e.newBatch(2);
    const frame = ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000, 80, TCP_FLAGS.SYN));
    b.set(0, frame, 0, Dir.Out);
    b.run(1, 1000);
    const denyOut: LayerDef = { ...firewall, defaultOut: "deny" };
    e.loadProgram(0, encodePortProgram([denyOut, overlay]));
    b.set(0, frame, 0, Dir.Out);
    b.run(1, 1001);
    expect(b.verdict(0)).toBe(Verdict.Drop);
    expect(reasonName(b.reason(0))).toBe("LayerDeny");
  });

  it("re-steers a cached flow when its V2P mapping moves", () => {
    const b = e.newBatch(2);
    const frame = ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000, 80, TCP_FLAGS.SYN));
    b.set(0, frame, 0, Dir.Out);
    b.run(1, 1000);
    e.mapSet(V2P, VNI, "10.0.0.6", 0, 65535, { encapVni: VNI, underlay: "fd00:1122:3344:103::1", mac: PEER_MAC });
    b.set(0, frame, 0, Dir.Out);
    b.run(1, 1001);
    const out = b.output(0);
    // outer IPv6 destination is at 14 + 24
    expect(Buffer.from(out.subarray(38, 54)).toString("hex")).toBe("fd001122334401030000000000000001");
  });
});
