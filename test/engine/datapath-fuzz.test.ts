// Property: whatever bytes reach a fully configured port — noise, or real
// frames with bytes changed, cut short or run on — the datapath never traps,
// gives every descriptor a verdict (pass, drop or hairpin) with a known
// reason, keeps every output frame inside its slot, and goes on working for
// the flows it already had.
import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import { LayerDef } from "../../layers/program/encode.js";
import { encodeArpParams, encodeIcmp4EchoParams, HairpinKind } from "../../layers/program/hairpin-params.js";
import { portWith, sentAt, Fixture, Dir, Verdict, GUEST_MAC, GW_MAC, PEER_MAC, SLED_A, SLED_B, UNDERLAY_MAC, SWITCH_MAC, VNI, arpRequest } from "../helpers/port-fixture.js";
import { ipFrame, tcp, udp, icmpEcho, geneve, TCP_FLAGS } from "../helpers/frames.js";

const V2P = 1, BOUNDARY = 2;
const EXT = "198.51.100.10", FLOATING = "198.51.100.20";
const BOUNDARY_SLED = "fd00:1122:3344:1::1";

const layers: LayerDef[] = [
  { name: "gateway", defaultIn: "allow", defaultOut: "allow", rules: [
    { id: 1, dir: "out", priority: 10, predicates: [{ field: "arpOp", values: [1] }, { field: "arpTargetIp", prefixes: ["10.0.0.1"] }],
      action: { kind: "hairpin", hairpin: HairpinKind.ArpReply, params: encodeArpParams({ gatewayMac: GW_MAC, gatewayIp: "10.0.0.1" }) } },
    { id: 2, dir: "out", priority: 10, predicates: [{ field: "icmpType", values: [8] }, { field: "dstIp", prefixes: ["10.0.0.1"] }],
      action: { kind: "hairpin", hairpin: HairpinKind.Icmp4EchoReply, params: encodeIcmp4EchoParams({ gatewayMac: GW_MAC, gatewayIp: "10.0.0.1" }) } },
    { id: 3, dir: "out", priority: 20, predicates: [{ field: "ipVersion", values: [4, 6] }, { field: "srcIp", prefixes: ["10.0.0.5", "fd00::5"], not: true }],
      action: { kind: "deny", reason: 38 } },
    { id: 4, dir: "out", priority: 30, predicates: [{ field: "etherType", values: [0x0806] }], action: { kind: "deny" } },
  ] },
  { name: "firewall", defaultIn: "deny", defaultOut: "statefulAllow", rules: [
    { id: 10, dir: "in", priority: 10, predicates: [{ field: "proto", values: [6] }, { field: "dstPort", values: [22] }], action: { kind: "statefulAllow" } },
  ] },
  { name: "nat", defaultIn: "allow", defaultOut: "allow", rules: [
    { id: 20, dir: "out", priority: 10, predicates: [{ field: "ipVersion", values: [4] }, { field: "dstIp", prefixes: ["10.0.0.0/8"], not: true }],
      action: { kind: "snat", pool: 0 } },
    { id: 21, dir: "in", priority: 10, predicates: [{ field: "dstIp", prefixes: [FLOATING] }], action: { kind: "nat11Dst", ip: "10.0.0.5" } },
  ] },
  { name: "overlay", defaultIn: "deny", defaultOut: "deny", rules: [
    { id: 30, dir: "out", priority: 10, predicates: [{ field: "dstIp", prefixes: ["10.0.0.0/8"] }],
      action: { kind: "encap", table: V2P, key: "innerDst", setInnerEthDst: true } },
    { id: 31, dir: "out", priority: 20, predicates: [],
      action: { kind: "encap", table: BOUNDARY, key: { vni: 99, ip: "::", port: 0 }, external: true } },
    { id: 32, dir: "in", priority: 10, predicates: [{ field: "vni", values: [VNI] }], action: { kind: "decap" } },
  ] },
];

const SLOTS = 8, SLOT_SIZE = 2048, HEADROOM = 128;

async function fullPort(): Promise<Fixture> {
  const fx = await portWith(layers, { netEncap: true, flowCapacity: 16384 }, { slots: SLOTS, slotSize: SLOT_SIZE, headroom: HEADROOM });
  fx.e.setNatPool(0, 0, EXT, 1024, 65535);
  fx.e.mapSet(V2P, VNI, "10.0.0.6", 0, 65535, { encapVni: VNI, underlay: SLED_B, mac: PEER_MAC });
  fx.e.mapSet(BOUNDARY, 99, "::", 0, 65535, { encapVni: VNI, underlay: BOUNDARY_SLED, mac: "a8:40:25:00:00:01" });
  return fx;
}

const wrap = (inner: Uint8Array, external = false) => geneve(UNDERLAY_MAC, SWITCH_MAC, SLED_B, SLED_A, { vni: VNI, external }, inner);
const toGuest = (src: string, dst: string, l4: Uint8Array, proto: number) => ipFrame(GUEST_MAC, PEER_MAC, src, dst, proto, l4);

/** Real frames and what the port does with them, in their own direction. */
const seeds: [string, Uint8Array, Dir, string][] = [
  ["ARP for the gateway", arpRequest(GUEST_MAC, "10.0.0.5", "10.0.0.1"), Dir.Out, "hairpin"],
  ["ping to the gateway", ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.1", 1, icmpEcho("10.0.0.5", "10.0.0.1", true, 1, 1)), Dir.Out, "hairpin"],
  ["TCP to a peer", ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000, 80, TCP_FLAGS.SYN)), Dir.Out, "pass"],
  ["UDP to the internet", ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "203.0.113.9", 17, udp("10.0.0.5", "203.0.113.9", 5000, 53, Uint8Array.of(1, 2, 3))), Dir.Out, "pass"],
  ["ping to the internet", ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "203.0.113.9", 1, icmpEcho("10.0.0.5", "203.0.113.9", true, 9, 1)), Dir.Out, "pass"],
  ["IPv6 UDP out", ipFrame(GW_MAC, GUEST_MAC, "fd00::5", "2001:db8::9", 17, udp("fd00::5", "2001:db8::9", 5000, 53)), Dir.Out, "pass"],
  ["a spoofed source", ipFrame(GW_MAC, GUEST_MAC, "10.0.0.99", "10.0.0.6", 17, udp("10.0.0.99", "10.0.0.6", 1, 2)), Dir.Out, "SpoofedSource"],
  ["the peer's SYN+ACK", wrap(toGuest("10.0.0.6", "10.0.0.5", tcp("10.0.0.6", "10.0.0.5", 80, 40000, TCP_FLAGS.SYN | TCP_FLAGS.ACK), 6)), Dir.In, "pass"],
  ["SSH to the floating IP", wrap(toGuest("203.0.113.9", FLOATING, tcp("203.0.113.9", FLOATING, 50000, 22, TCP_FLAGS.SYN), 6), true), Dir.In, "pass"],
  ["an unsolicited UDP", wrap(toGuest("10.0.0.6", "10.0.0.5", udp("10.0.0.6", "10.0.0.5", 7, 7), 17)), Dir.In, "LayerDeny"],
  ["a frame from the guest side on the network side", arpRequest(GUEST_MAC, "10.0.0.5", "10.0.0.1"), Dir.In, "NotEncapsulated"],
];

const mutatedSeed = fc.record({
  seed: fc.integer({ min: 0, max: seeds.length - 1 }),
  edits: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
  tail: fc.uint8Array({ maxLength: 40 }),
}).map(({ seed, edits, cut, tail }) => {
  let f = seeds[seed][1].slice();
  for (const { at, value } of edits) f[at % f.length] = value;
  if (cut !== undefined) f = f.slice(0, cut % (f.length + 1));
  return Uint8Array.from([...f, ...tail]);
});
const anyFrame = fc.oneof(fc.uint8Array({ maxLength: 300 }), mutatedSeed);
const batchOfFrames = fc.array(fc.record({ frame: anyFrame, dir: fc.constantFrom(Dir.In, Dir.Out) }), { minLength: 1, maxLength: SLOTS });

describe("the datapath under arbitrary input", () => {
  let fx: Fixture;
  beforeAll(async () => { fx = await fullPort(); });

  it("the seeds do what a configured port should", async () => {
    const fresh = await fullPort();
    for (const [what, frame, dir, want] of seeds) expect(fresh.result(frame, dir), what).toBe(want);
  });

  it("never traps, always decides with a known reason, and keeps outputs inside their slots", () => {
    const { b, e } = fx;
    // an established flow that must survive the noise
    expect(fx.result(seeds[2][1], Dir.Out, 0)).toBe("pass");
    expect(fx.result(seeds[7][1], Dir.In, 0)).toBe("pass");
    let now = 1;
    fc.assert(fc.property(batchOfFrames, (frames) => {
      frames.forEach(({ frame, dir }, i) => b.set(i, frame, 0, dir));
      const passed = b.run(frames.length, now++);
      let counted = 0;
      frames.forEach((_, i) => {
        const s = sentAt(b, i);
        expect([Verdict.Pass, Verdict.Drop, Verdict.Hairpin]).toContain(s.verdict);
        expect(s.reasonNo).toBeLessThan(50);
        if (s.verdict === Verdict.Drop) {
          expect(s.reasonNo).toBeGreaterThan(0);
          expect(s.out.length).toBe(0);
        } else {
          counted++;
          expect(s.reasonNo).toBe(0);
          const start = e.dv.getUint32(b.descs + i * 32 + 20, true);
          expect(start).toBeGreaterThanOrEqual(b.framePtr(i) - HEADROOM);
          expect(start + s.out.length).toBeLessThanOrEqual(b.framePtr(i) + b.capacity);
          expect(s.out.length).toBeGreaterThan(0);
        }
      });
      expect(passed).toBe(counted);
    }), { numRuns: Number(process.env.FUZZ_RUNS ?? 400) });

    // still working: the old flow both ways, a new flow, a hairpin, and the bookkeeping
    const peerAck = ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000, 80, TCP_FLAGS.ACK));
    expect(fx.result(peerAck, Dir.Out, now)).toBe("pass");
    expect(fx.result(seeds[7][1], Dir.In, now)).toBe("pass");
    expect(fx.result(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 17, udp("10.0.0.5", "10.0.0.6", 61000, 61000)), Dir.Out, now)).toBe("pass");
    expect(fx.result(seeds[0][1], Dir.Out, now)).toBe("hairpin");
    expect(() => e.flows(0)).not.toThrow();
    expect(e.expire(0, now + 9_000_000, 1_000_000)).toBeGreaterThan(0); // past the established TTL (8,000 s)
    expect(e.flowCount(0)).toBe(0);
    expect(e.natUsage(0, 0).inUse).toBe(0);
  });
});
