// A guest packet too big for the underlay is answered as a router answers it
// (engine/hairpin/too-big.ts): ICMP fragmentation needed for IPv4 with DF,
// ICMPv6 Packet Too Big, with the MTU that fits the flow's encapsulation,
// rate-limited per port, and still counted as TooBig. The frame-level story
// is fixtures/packet-too-big.
import { describe, it, expect } from "vitest";
import { optePort, fromGuest, Dir, Verdict, GUEST4 } from "../helpers/opte.js";
import { encodePortConfig } from "../../layers/program/port-config.js";
import { Engine, EngineError } from "../../hosts/engine/engine.js";
import { compilePort } from "../../layers/vpc/compile.js";
import { examplePortJson } from "../helpers/example-port.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { udp, tcp, csum, TCP_FLAGS } from "../helpers/frames.js";

const PEER4 = "172.30.0.6";
/** A guest datagram to `dst` whose IP packet is `total` bytes (DF set, as ipv4() writes it). */
const big = (dst: string, total: number, sport = 40000) => fromGuest(GUEST4, dst, 17, udp(GUEST4, dst, sport, 4789, new Uint8Array(total - 28)));
const mtuOf = (hairpin: Uint8Array) => (hairpin[14 + 20 + 6] << 8) | hairpin[14 + 20 + 7];

describe("packets too big for the underlay", () => {
  it("answers with fragmentation needed from the gateway, carrying the MTU that fits, and counts the frame as TooBig", async () => {
    const p = await optePort((c) => { c.sled.mtu = 1500; });
    const r = p.send(big(PEER4, 1500), Dir.Out);
    expect([r.verdict, r.reason]).toEqual([Verdict.Hairpin, "hairpin"]);
    const ip = r.out.subarray(14);
    expect([...ip.subarray(12, 16)].join(".")).toBe("172.30.0.1");
    expect([...ip.subarray(16, 20)].join(".")).toBe(GUEST4);
    expect([ip[20], ip[21], mtuOf(r.out)]).toEqual([3, 4, 1430]);
    expect(csum(ip.subarray(0, 20))).toBe(0);
    expect(csum(ip.subarray(20))).toBe(0);
    expect(p.send(big(PEER4, 1430), Dir.Out).reason).toBe("pass");
    expect(p.send(big(PEER4, 1431), Dir.Out).verdict).toBe(Verdict.Hairpin);
    expect(p.e.counters(0)).toMatchObject({ hairpins: 2, drops: { TooBig: 2 } });
  });

  it("tells VPC-internal TCP 8 bytes less: its segments carry the Oxide MSS option", async () => {
    const p = await optePort((c) => { c.sled.mtu = 1500; });
    const seg = fromGuest(GUEST4, PEER4, 6, tcp(GUEST4, PEER4, 40000, 80, TCP_FLAGS.ACK, new Uint8Array(1500 - 40)));
    expect(mtuOf(p.send(seg, Dir.Out).out)).toBe(1422);
  });

  it("rate-limits the answers per port: a burst of 10, then 10 a second; the rest are dropped, all counted", async () => {
    const p = await optePort((c) => { c.sled.mtu = 1500; });
    const at = (now: number, n: number) => Array.from({ length: n }, (_, i) => p.send(big(PEER4, 1500, 41000 + i), Dir.Out, now).verdict);
    const burst = at(1000, 12);
    expect(burst.filter((v) => v === Verdict.Hairpin).length).toBe(10);
    expect(burst.slice(10)).toEqual([Verdict.Drop, Verdict.Drop]);
    expect(at(1100, 2)).toEqual([Verdict.Hairpin, Verdict.Drop]);   // 100 ms: one more token
    expect(p.e.counters(0)).toMatchObject({ hairpins: 11, drops: { TooBig: 14 } });
  });

  it("is configurable: limits.icmpErrorsPerSecond 0 sends none", async () => {
    const p = await optePort((c) => { c.sled.mtu = 1500; c.limits = { icmpErrorsPerSecond: 0 }; });
    const r = p.send(big(PEER4, 1500), Dir.Out);
    expect([r.verdict, r.reason]).toEqual([Verdict.Drop, "TooBig"]);
  });

  it("sends nothing about a packet without DF, an ICMP error, or when the port config names no ICMP source (version 1)", async () => {
    const p = await optePort((c) => { c.sled.mtu = 1500; });
    const noDf = Uint8Array.from(big(PEER4, 1500));
    noDf[14 + 6] = 0; noDf[14 + 10] = 0; noDf[14 + 11] = 0;
    const c = csum(noDf.subarray(14, 34)); noDf[24] = c >> 8; noDf[25] = c & 0xff;
    expect(p.send(noDf, Dir.Out).reason).toBe("TooBig");
    const err = new Uint8Array(8 + 1472); err[0] = 3; err[1] = 3;
    const ec = csum(err); err[2] = ec >> 8; err[3] = ec & 0xff;
    const aboutAnError = fromGuest(GUEST4, PEER4, 1, err);
    expect(p.send(aboutAnError, Dir.Out).verdict).not.toBe(Verdict.Hairpin);

    // version 1 of the port config block: no ICMP source, so the frame just drops
    const json = examplePortJson(); json.sled.mtu = 1500;
    const compiled = compilePort(json);
    const e = await Engine.load();
    const v1 = encodePortConfig({ ...compiled.engineConfig, icmpErrors: undefined }).slice(0, 84);
    new DataView(v1.buffer).setUint32(0, 1, true);
    const ptr = e.put(v1);
    expect(e.fn("portCreate")(0, ptr, v1.length)).toBe(0);
    e.loadProgram(0, compiled.program);
    for (const m of compiled.mappings) e.mapSet(m.table, m.vni, m.ip, m.portLo, m.portHi, m.target);
    e.setPortState(0, "running");
    const b = e.newBatch(1, 2048, 256);
    b.set(0, big(PEER4, 1500), 0, Dir.Out);
    b.run(1, 1);
    expect([b.verdict(0), reasonName(b.reason(0))]).toEqual([Verdict.Drop, "TooBig"]);
  });

  it("refuses a port config block that is short for its version, or of a version it does not know", async () => {
    const e = await Engine.load();
    const cfg = encodePortConfig(compilePort(examplePortJson()).engineConfig);
    const create = (b: Uint8Array) => reasonName(e.fn("portCreate")(1, e.put(b), b.length));
    expect(create(cfg.slice(0, 100))).toBe("Truncated");
    const v3 = Uint8Array.from(cfg); new DataView(v3.buffer).setUint32(0, 3, true);
    expect(create(v3)).toBe("BadVersion");
    expect(create(cfg)).toBe("None");
    expect(() => e.createPort(1, compilePort(examplePortJson()).engineConfig)).toThrow(EngineError);
  });
});

