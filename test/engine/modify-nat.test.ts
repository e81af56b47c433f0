// Rewrites: Modify set-ops, SNAT from a port block and 1:1 NAT (RFD 63
// "NAT"; OPTE's SNat and Nat layers). Every expected frame is built by hand
// with the rewritten fields and fresh checksums (RFC 1071), so an engine that
// patches checksums incrementally (RFC 1624) must agree byte for byte; the
// checksums of each output are also verified from scratch.
import { describe, it, expect } from "vitest";
import { LayerDef, SetOp, encodePortProgram } from "../../layers/program/encode.js";
import { portWith, Dir, GUEST_MAC, GW_MAC } from "../helpers/port-fixture.js";
import { ipFrame, tcp, udp, icmpEcho, csum, hex, TCP_FLAGS } from "../helpers/frames.js";

const NEW_SRC_MAC = "02:aa:bb:cc:dd:01";
const NEW_DST_MAC = "02:aa:bb:cc:dd:02";

/** Recompute every checksum of an Ethernet/IPv4-or-IPv6/TCP-UDP-ICMP frame; true when all verify. */
function checksumsVerify(f: Uint8Array): boolean {
  const type = (f[12] << 8) | f[13];
  let l4: number, proto: number, pseudo: Uint8Array;
  if (type === 0x0800) {
    const ihl = (f[14] & 0xf) * 4;
    if (csum(f.subarray(14, 14 + ihl)) !== 0) return false;
    const total = (f[16] << 8) | f[17];
    l4 = 14 + ihl; proto = f[23];
    const len = total - ihl;
    pseudo = Uint8Array.from([...f.subarray(26, 34), 0, proto, len >> 8, len & 0xff]);
    const seg = f.subarray(l4, 14 + total);
    if (proto === 1) return csum(seg) === 0;
    if (proto === 17 && seg[6] === 0 && seg[7] === 0) return true; // no UDP checksum
    return csum(Uint8Array.from([...pseudo, ...seg])) === 0;
  }
  const plen = (f[18] << 8) | f[19];
  proto = f[20]; l4 = 54;
  pseudo = Uint8Array.from([...f.subarray(22, 54), 0, 0, plen >> 8, plen & 0xff, 0, 0, 0, proto]);
  return csum(Uint8Array.from([...pseudo, ...f.subarray(l4, l4 + plen)])) === 0;
}

/** A port with one layer rewriting outbound frames with `set`. */
const rewriting = (set: SetOp[]) => portWith([{
  name: "rewrite", defaultIn: "allow", defaultOut: "allow",
  rules: [{ id: 1, dir: "out", priority: 1, predicates: [], action: { kind: "modify", set } }],
}]);

describe("Modify", () => {
  it("rewrites MACs, the IPv4 source and the TCP source port, on the slow path and the fast path alike", async () => {
    const { send, e } = await rewriting([
      { op: "ethSrc", mac: NEW_SRC_MAC }, { op: "ethDst", mac: NEW_DST_MAC },
      { op: "ipSrc", ip: "10.9.9.9" }, { op: "sport", port: 5555 },
    ]);
    const payload = new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n!"); // odd length
    const frame = ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000, 80, TCP_FLAGS.ACK | TCP_FLAGS.PSH, payload, 0xfffffff0, 77));
    const expected = ipFrame(NEW_DST_MAC, NEW_SRC_MAC, "10.9.9.9", "10.0.0.6", 6, tcp("10.9.9.9", "10.0.0.6", 5555, 80, TCP_FLAGS.ACK | TCP_FLAGS.PSH, payload, 0xfffffff0, 77));
    for (let i = 0; i < 2; i++) {
      const r = send(frame, Dir.Out);
      expect(r.reason).toBe("pass");
      expect(hex(r.out)).toBe(hex(expected));
      expect(checksumsVerify(r.out)).toBe(true);
    }
    expect(e.counters(0)).toMatchObject({ slowOut: 1, fastOut: 1 });
    // the verifier itself notices a stale checksum
    const stale = expected.slice(); stale[29] ^= 1;
    expect(checksumsVerify(stale)).toBe(false);
  });

  it("rewrites the IPv4 destination and UDP destination port", async () => {
    const { send } = await rewriting([{ op: "ipDst", ip: "192.0.2.200" }, { op: "dport", port: 5353 }]);
    const r = send(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 17, udp("10.0.0.5", "10.0.0.6", 1234, 53, Uint8Array.of(1, 2, 3))), Dir.Out);
    expect(hex(r.out)).toBe(hex(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "192.0.2.200", 17, udp("10.0.0.5", "192.0.2.200", 1234, 5353, Uint8Array.of(1, 2, 3)))));
    expect(checksumsVerify(r.out)).toBe(true);
  });

  it("leaves a zero (absent) IPv4 UDP checksum zero", async () => {
    const { send } = await rewriting([{ op: "ipSrc", ip: "10.9.9.9" }, { op: "sport", port: 9 }]);
    const frame = ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 17, udp("10.0.0.5", "10.0.0.6", 1234, 53));
    frame[40] = 0; frame[41] = 0;
    const r = send(frame, Dir.Out);
    expect(r.reason).toBe("pass");
    expect([r.out[40], r.out[41]]).toEqual([0, 0]);
    expect(csum(r.out.subarray(14, 34))).toBe(0);
    expect(r.out.subarray(26, 30)).toEqual(Uint8Array.of(10, 9, 9, 9));
  });

  it("rewrites an IPv6 source and UDP port, and an IPv6 destination and TCP port", async () => {
    const a = await rewriting([{ op: "ipSrc", ip: "fd00:99::1234" }, { op: "sport", port: 1 }]);
    const r1 = a.send(ipFrame(GW_MAC, GUEST_MAC, "fd00::5", "fd00::6", 17, udp("fd00::5", "fd00::6", 40000, 53, Uint8Array.of(9, 9, 9))), Dir.Out);
    expect(hex(r1.out)).toBe(hex(ipFrame(GW_MAC, GUEST_MAC, "fd00:99::1234", "fd00::6", 17, udp("fd00:99::1234", "fd00::6", 1, 53, Uint8Array.of(9, 9, 9)))));
    expect(checksumsVerify(r1.out)).toBe(true);

    const b = await rewriting([{ op: "ipDst", ip: "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe" }, { op: "dport", port: 65535 }]);
    const r2 = b.send(ipFrame(GW_MAC, GUEST_MAC, "fd00::5", "fd00::6", 6, tcp("fd00::5", "fd00::6", 40000, 443, TCP_FLAGS.SYN)), Dir.Out);
    const d = "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe";
    expect(hex(r2.out)).toBe(hex(ipFrame(GW_MAC, GUEST_MAC, "fd00::5", d, 6, tcp("fd00::5", d, 40000, 65535, TCP_FLAGS.SYN))));
    expect(checksumsVerify(r2.out)).toBe(true);
  });

  it("rewrites an ICMP echo identifier (the `port` of an echo flow), IPv4 and IPv6", async () => {
    const a = await rewriting([{ op: "sport", port: 0xbeef }]);
    const r4 = a.send(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 1, icmpEcho("10.0.0.5", "10.0.0.6", true, 7, 3)), Dir.Out);
    expect(hex(r4.out)).toBe(hex(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 1, icmpEcho("10.0.0.5", "10.0.0.6", true, 0xbeef, 3))));
    expect(checksumsVerify(r4.out)).toBe(true);

    // ICMPv6's checksum covers the addresses as well
    const b = await rewriting([{ op: "ipSrc", ip: "fd00:99::1" }, { op: "sport", port: 42 }]);
    const r6 = b.send(ipFrame(GW_MAC, GUEST_MAC, "fd00::5", "fd00::6", 58, icmpEcho("fd00::5", "fd00::6", true, 7, 3)), Dir.Out);
    expect(hex(r6.out)).toBe(hex(ipFrame(GW_MAC, GUEST_MAC, "fd00:99::1", "fd00::6", 58, icmpEcho("fd00:99::1", "fd00::6", true, 42, 3))));
    expect(checksumsVerify(r6.out)).toBe(true);
  });

  it("decrements TTL and hop limit; a packet whose TTL would reach zero is TtlExceeded, cached flow or not", async () => {
    const { send } = await rewriting([{ op: "ttlDec" }]);
    const v4 = (ttl: number) => ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 17, udp("10.0.0.5", "10.0.0.6", 1, 2), ttl);
    const v6 = (hop: number) => ipFrame(GW_MAC, GUEST_MAC, "fd00::5", "fd00::6", 17, udp("fd00::5", "fd00::6", 1, 2), hop);
    expect(hex(send(v4(64), Dir.Out).out)).toBe(hex(v4(63)));       // slow path
    expect(hex(send(v4(2), Dir.Out).out)).toBe(hex(v4(1)));          // fast path
    expect(hex(send(v6(64), Dir.Out).out)).toBe(hex(v6(63)));
    for (const ttl of [1, 0]) {
      expect(send(v4(ttl), Dir.Out).reason).toBe("TtlExceeded");
      expect(send(v6(ttl), Dir.Out).reason).toBe("TtlExceeded");
    }
    expect(hex(send(v4(9), Dir.Out).out)).toBe(hex(v4(8)));          // the flow goes on
  });

  it("a cached transformation holds one address: rewriting both is XformUnsupported", async () => {
    const { send } = await rewriting([{ op: "ipSrc", ip: "10.9.9.9" }, { op: "ipDst", ip: "10.9.9.8" }]);
    const r = send(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 17, udp("10.0.0.5", "10.0.0.6", 1, 2)), Dir.Out);
    expect(r.reason).toBe("XformUnsupported");
  });
});

// ---- SNAT

const EXT = "198.51.100.10";
const firewall: LayerDef = { name: "firewall", defaultIn: "deny", defaultOut: "statefulAllow", rules: [] };
const snatLayer: LayerDef = {
  name: "nat", defaultIn: "allow", defaultOut: "allow",
  rules: [{ id: 20, dir: "out", priority: 10, predicates: [{ field: "dstIp", prefixes: ["10.0.0.0/8"], not: true }], action: { kind: "snat", pool: 0 } }],
};

async function snatPort(lo: number, hi: number, udpTtl = 60_000) {
  const f = await portWith([firewall, snatLayer], { ttl: { udp: udpTtl } });
  f.e.setNatPool(0, 0, EXT, lo, hi);
  return f;
}
const toInternet = (sport: number) => ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "203.0.113.9", 17, udp("10.0.0.5", "203.0.113.9", sport, 53, Uint8Array.of(0xab)));
const fromInternet = (dst: string, dport: number) => ipFrame(GUEST_MAC, GW_MAC, "203.0.113.9", dst, 17, udp("203.0.113.9", dst, 53, dport, Uint8Array.of(0xcd)));

describe("SNAT", () => {
  it("the guest's query leaves from the external IP and a port of the block; the answer comes back to the guest", async () => {
    const { send, e } = await snatPort(16384, 16391);
    const q = send(toInternet(5000), Dir.Out);
    expect(q.reason).toBe("pass");
    const port = (q.out[34] << 8) | q.out[35];
    expect(port).toBeGreaterThanOrEqual(16384);
    expect(port).toBeLessThanOrEqual(16391);
    expect(hex(q.out)).toBe(hex(ipFrame(GW_MAC, GUEST_MAC, EXT, "203.0.113.9", 17, udp(EXT, "203.0.113.9", port, 53, Uint8Array.of(0xab)))));
    expect(e.natUsage(0, 0)).toMatchObject({ inUse: 1, size: 8 });
    expect(e.flows(0)[0].nat).toEqual({ pool: 0, port });

    for (let i = 0; i < 2; i++) { // slow path (first reply), then fast path
      const a = send(fromInternet(EXT, port), Dir.In);
      expect(a.reason).toBe("pass");
      expect(hex(a.out)).toBe(hex(ipFrame(GUEST_MAC, GW_MAC, "203.0.113.9", "10.0.0.5", 17, udp("203.0.113.9", "10.0.0.5", 53, 5000, Uint8Array.of(0xcd)))));
      expect(checksumsVerify(a.out)).toBe(true);
    }
    expect(e.counters(0)).toMatchObject({ slowIn: 1, fastIn: 1 });
    // the firewall still denies what nobody asked for
    expect(send(fromInternet(EXT, port === 16384 ? 16385 : 16384), Dir.In).reason).toBe("LayerDeny");
  });

  it("pings through SNAT: the echo identifier is the NAT port, restored on the reply", async () => {
    const { send } = await snatPort(30000, 30000);
    const q = send(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "203.0.113.9", 1, icmpEcho("10.0.0.5", "203.0.113.9", true, 77, 1)), Dir.Out);
    expect(hex(q.out)).toBe(hex(ipFrame(GW_MAC, GUEST_MAC, EXT, "203.0.113.9", 1, icmpEcho(EXT, "203.0.113.9", true, 30000, 1))));
    const a = send(ipFrame(GUEST_MAC, GW_MAC, "203.0.113.9", EXT, 1, icmpEcho("203.0.113.9", EXT, false, 30000, 1)), Dir.In);
    expect(a.reason).toBe("pass");
    expect(hex(a.out)).toBe(hex(ipFrame(GUEST_MAC, GW_MAC, "203.0.113.9", "10.0.0.5", 1, icmpEcho("203.0.113.9", "10.0.0.5", false, 77, 1))));
  });

  it("a block of 2 ports serves 2 flows; the 3rd is NatExhausted until expiry gives a port back", async () => {
    const { result, e } = await snatPort(16384, 16385, 1000);
    expect([result(toInternet(1), Dir.Out, 0), result(toInternet(2), Dir.Out, 0), result(toInternet(3), Dir.Out, 0)])
      .toEqual(["pass", "pass", "NatExhausted"]);
    expect(e.flowCount(0)).toBe(2); // the refused flow left no record
    expect(result(toInternet(1), Dir.Out, 600)).toBe("pass");
    expect(result(toInternet(2), Dir.Out, 600)).toBe("pass");
    expect(e.natUsage(0, 0)).toMatchObject({ inUse: 2, size: 2, exhausted: 1 });
    expect(e.counters(0).drops).toEqual({ NatExhausted: 1 });
    // flow 2 refreshed at 1500; flow 1 idles past its 1 s TTL
    expect(result(toInternet(2), Dir.Out, 1500)).toBe("pass");
    expect(e.expire(0, 1700, 100)).toBe(1);
    expect(e.natUsage(0, 0).inUse).toBe(1);
    expect(result(toInternet(3), Dir.Out, 1800)).toBe("pass");
    expect(e.natUsage(0, 0).inUse).toBe(2);
  });

  it("a rule change re-evaluates the flow but keeps its NAT port, so the peer sees one connection", async () => {
    const { send, e } = await snatPort(16384, 16391);
    const first = send(toInternet(5000), Dir.Out).out.slice(34, 36);
    e.loadProgram(0, encodePortProgram([firewall, snatLayer]));
    const again = send(toInternet(5000), Dir.Out);
    expect(e.counters(0).reevaluated).toBe(1);
    expect(again.out.slice(34, 36)).toEqual(first);
    expect(e.natUsage(0, 0).inUse).toBe(1);
    const port = (first[0] << 8) | first[1];
    expect(send(fromInternet(EXT, port), Dir.In).reason).toBe("pass");
  });

  it("reconfiguring the external IP keeps bindings that still fit (soft reset) and re-NATs the rest", async () => {
    const { send, e } = await snatPort(16384, 16387);
    const portOf = (out: Uint8Array) => (out[34] << 8) | out[35];
    const p1 = portOf(send(toInternet(5001), Dir.Out).out);
    const p2 = portOf(send(toInternet(5002), Dir.Out).out);
    // a wider block on the same address: both bindings still belong to it and stay
    e.setNatPool(0, 0, EXT, 16384, 16447);
    expect(e.natUsage(0, 0)).toMatchObject({ inUse: 2, size: 64 });
    expect(portOf(send(toInternet(5001), Dir.Out).out)).toBe(p1);
    expect(send(fromInternet(EXT, p2), Dir.In).reason).toBe("pass");   // replies still find the guest
    // a block that leaves p1 out: that flow is re-NATed inside the new block, p2's binding stays
    const [lo, hi] = p1 < p2 ? [p2, p2 + 7] : [p2 - 7, p2];
    e.setNatPool(0, 0, EXT, lo, hi);
    const moved = portOf(send(toInternet(5001), Dir.Out).out);
    expect(moved).toBeGreaterThanOrEqual(lo);
    expect(moved).toBeLessThanOrEqual(hi);
    expect(moved).not.toBe(p2);
    expect(portOf(send(toInternet(5002), Dir.Out).out)).toBe(p2);
    // another address: every binding is re-made on it
    e.setNatPool(0, 0, "198.51.100.77", 20000, 20007);
    const fresh = send(toInternet(5002), Dir.Out).out;
    expect([...fresh.subarray(26, 30)]).toEqual([198, 51, 100, 77]);
    expect(portOf(fresh)).toBeGreaterThanOrEqual(20000);
    expect(send(fromInternet(EXT, p2), Dir.In).reason).not.toBe("pass");      // the old address no longer maps
  });

  it("clearing the flows releases every NAT port", async () => {
    const { result, e } = await snatPort(16384, 16385);
    result(toInternet(1), Dir.Out); result(toInternet(2), Dir.Out);
    expect(e.natUsage(0, 0).inUse).toBe(2);
    e.clearFlows(0);
    expect(e.natUsage(0, 0).inUse).toBe(0);
    expect(result(toInternet(3), Dir.Out)).toBe("pass");
  });
});

// ---- 1:1 NAT

const FLOATING = "198.51.100.20";
const nat11Layers: LayerDef[] = [
  { name: "firewall", defaultIn: "deny", defaultOut: "statefulAllow",
    rules: [{ id: 1, dir: "in", priority: 10, predicates: [{ field: "proto", values: [6] }, { field: "dstPort", values: [22] }], action: { kind: "statefulAllow" } }] },
  { name: "nat11", defaultIn: "allow", defaultOut: "allow",
    rules: [
      { id: 30, dir: "out", priority: 10, predicates: [{ field: "srcIp", prefixes: ["10.0.0.5"] }, { field: "dstIp", prefixes: ["10.0.0.0/8"], not: true }], action: { kind: "nat11Src", ip: FLOATING } },
      { id: 31, dir: "in", priority: 10, predicates: [{ field: "dstIp", prefixes: [FLOATING] }], action: { kind: "nat11Dst", ip: "10.0.0.5" } },
    ] },
];
const seg = (src: string, dst: string, sport: number, dport: number, flags: number, toGuest: boolean) =>
  ipFrame(toGuest ? GUEST_MAC : GW_MAC, toGuest ? GW_MAC : GUEST_MAC, src, dst, 6, tcp(src, dst, sport, dport, flags));

describe("1:1 NAT", () => {
  it("an outbound connection leaves from the floating IP and its reply returns to the private one", async () => {
    const { send } = await portWith(nat11Layers);
    const o = send(seg("10.0.0.5", "203.0.113.9", 40000, 443, TCP_FLAGS.SYN, false), Dir.Out);
    expect(hex(o.out)).toBe(hex(seg(FLOATING, "203.0.113.9", 40000, 443, TCP_FLAGS.SYN, false)));
    const r = send(seg("203.0.113.9", FLOATING, 443, 40000, TCP_FLAGS.SYN | TCP_FLAGS.ACK, true), Dir.In);
    expect(r.reason).toBe("pass");
    expect(hex(r.out)).toBe(hex(seg("203.0.113.9", "10.0.0.5", 443, 40000, TCP_FLAGS.SYN | TCP_FLAGS.ACK, true)));
    expect(checksumsVerify(r.out)).toBe(true);
  });

  it("an inbound connection to the floating IP reaches the guest, and the guest's reply leaves from the floating IP", async () => {
    const { send, e } = await portWith(nat11Layers);
    const i = send(seg("203.0.113.9", FLOATING, 50000, 22, TCP_FLAGS.SYN, true), Dir.In);
    expect(i.reason).toBe("pass");
    expect(hex(i.out)).toBe(hex(seg("203.0.113.9", "10.0.0.5", 50000, 22, TCP_FLAGS.SYN, true)));
    for (const flags of [TCP_FLAGS.SYN | TCP_FLAGS.ACK, TCP_FLAGS.ACK]) { // slow path, then fast path
      const o = send(seg("10.0.0.5", "203.0.113.9", 22, 50000, flags, false), Dir.Out);
      expect(o.reason).toBe("pass");
      expect(hex(o.out)).toBe(hex(seg(FLOATING, "203.0.113.9", 22, 50000, flags, false)));
      expect(checksumsVerify(o.out)).toBe(true);
    }
    expect(e.flows(0)).toHaveLength(1);
    expect(e.flows(0)[0].origin).toBe("in");
    // the firewall saw the private destination: port 23 on the floating IP is still closed
    expect(send(seg("203.0.113.9", FLOATING, 50001, 23, TCP_FLAGS.SYN, true), Dir.In).reason).toBe("LayerDeny");
  });
});
