// Parsing as OPTE's tests expect it: Geneve found behind IPv6 extension
// headers on the underlay (test_v6_ext_hdr_geneve_offset_ok), an unknown
// critical Geneve option refused (test_drop_on_unknown_critical_option), an
// IPv4 total length shorter than its header refused (bad_ip_len), and OPTE's
// fuzz crash inputs (parse_in_regression, parse_out_regression) decided
// without a trap, by the parser and by a whole port.
import { describe, it, expect, beforeAll } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { loadPacketEngine, PacketEngine, Reason, hex } from "../helpers/engine-testing.js";
import { optePort, fromGuest, Dir, Verdict, GUEST4 } from "../helpers/opte.js";
import { eth, ipFrame, icmpEcho } from "../helpers/frames.js";
import { GATEWAY_MAC, GUEST_MAC } from "../helpers/example-port.js";

let e: PacketEngine;
beforeAll(async () => { e = await loadPacketEngine(); });

/** OPTE's inner packet: Ethernet 00:16:3e:00:00:01 → …:02, IPv4 10.0.0.1 → 10.0.0.2, UDP 0x1234 → 0x1337, no payload. */
const INNER = hex(`
  00163e000002 00163e000001 0800
  4500001c 00000000 40110000 0a000001 0a000002
  1234 1337 0008 0000`);
// (IPv4 header checksum filled in below)

function withIpv4Checksum(frame: Uint8Array, ip: number): Uint8Array {
  const f = Uint8Array.from(frame);
  f[ip + 10] = 0; f[ip + 11] = 0;
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (f[ip + i] << 8) | f[ip + i + 1];
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  const c = ~s & 0xffff;
  f[ip + 10] = c >> 8; f[ip + 11] = c & 0xff;
  return f;
}
const inner = () => withIpv4Checksum(INNER, 14);

/** Outer Ethernet + IPv6 (fd00::1 → `dst`, next header `next`) + `exts` + UDP 0x1e61 → 6081 + Geneve (VNI 0) with `options`. */
function underlay(dst: string, next: number, exts: number[], options: number[], geneveFlags = 0): Uint8Array {
  const pkt = inner();
  const geneve = [options.length / 4, geneveFlags, 0x65, 0x58, 0, 0, 0, 0, ...options];
  const udpLen = 8 + geneve.length + pkt.length;
  const udp = [0x1e, 0x61, 0x17, 0xc1, udpLen >> 8, udpLen & 0xff, 0, 0];
  const payload = [...exts, ...udp, ...geneve, ...pkt];
  const ip6 = [0x60, 0, 0, 0, payload.length >> 8, payload.length & 0xff, next, 0x40,
    ...hex("fd000000000000000000000000000001"), ...hex(dst)];
  return Uint8Array.from([...hex("333300000001 001122334455 86dd"), ...ip6, ...payload]);
}

const MULTICAST_EXTERNAL = [0x01, 0x29, 0x01, 0x01, 0x00 << 6, 0, 0, 0]; // Oxide class, type Multicast, replication External

describe("OPTE's parser tests", () => {
  it("test_v6_ext_hdr_geneve_offset_ok: Geneve behind an outer Hop-by-Hop header is found, with its Multicast option (replication External)", () => {
    const hbh = [17, 0, 0, 0, 0, 0, 0, 0];                        // next header UDP, 8 bytes, padding
    const frame = underlay("ff040000000000000000000000 01ffff".replace(/ /g, ""), 0, hbh, MULTICAST_EXTERNAL);
    expect(e.parse(frame, true)).toBe(Reason.None);
    const m = e.meta();
    expect([m.encap, m.vni, m.geneve, m.geneveOptLen, m.l2]).toEqual([1, 0, 14 + 40 + 8 + 8, 8, 14 + 48 + 8 + 16]);
    expect(Number(m.oxideOptions) & (1 << 1)).toBe(1 << 1);      // the Multicast option
    expect(frame[(m.geneve as number) + 8 + 4] >> 6).toBe(0);    // its replication mode: External
    expect([m.proto, m.srcPort, m.dstPort]).toEqual([17, 0x1234, 0x1337]);
  });

  it("test_drop_on_unknown_critical_option: an unknown critical Geneve option (class 0xffff, type 0x80) is refused", () => {
    const frame = underlay("ff050000000000000000000000010003", 17, [], [0xff, 0xff, 0x80, 0x00], 0x40);
    expect(e.parse(frame, true)).toBe(Reason.UnknownCriticalOption);
    // the same option without the critical bit is skipped
    const skipped = underlay("ff050000000000000000000000010003", 17, [], [0xff, 0xff, 0x00, 0x00]);
    expect(e.parse(skipped, true)).toBe(Reason.None);
  });

  it("bad_ip_len: an IPv4 total length of 4, shorter than the header, is BadLength", () => {
    const ip = withIpv4Checksum(Uint8Array.from([0x45, 0, 0, 4, 0, 1, 0, 0, 64, 17, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255]), 0);
    const udp = [0, 68, 0, 67, 0, 8, 0, 0];
    const frame = eth("ff:ff:ff:ff:ff:ff", GUEST_MAC, 0x0800, Uint8Array.from([...ip, ...udp]));
    expect(e.parse(frame)).toBe(Reason.BadLength);
  });
});

describe("OPTE's fuzz crash inputs", () => {
  const dir = new URL("../resources/opte-fuzz/", import.meta.url);
  const inputs = readdirSync(dir).filter((f) => f.startsWith("crash-")).map((f) => [f, readFileSync(new URL(f, dir))] as const);
  const known = new Set(Object.values(Reason));

  it("has OPTE's three inputs", () => expect(inputs.length).toBe(3));

  const parsesEveryInput = (inbound: boolean) => {
    for (const [file, bytes] of inputs) {
      const r = e.parse(Uint8Array.from(bytes), inbound);
      expect(known.has(r), `${file}: reason ${r}`).toBe(true);
    }
  };
  it("parse_in_regression: every input parses from the network side (Geneve expected) to a known reason, without a trap", () => parsesEveryInput(true));
  it("parse_out_regression: every input parses from the guest side to a known reason, without a trap", () => parsesEveryInput(false));

  it("through a VPC port, both ways: each input is decided with a known reason and the port keeps working", async () => {
    const p = await optePort();
    for (const [, bytes] of inputs) {
      for (const dir of [Dir.In, Dir.Out]) {
        const r = p.send(Uint8Array.from(bytes), dir);
        expect([Verdict.Pass, Verdict.Drop, Verdict.Hairpin]).toContain(r.verdict);
        if (r.verdict === Verdict.Drop) expect(r.reason).not.toMatch(/^Reason\d/);
      }
    }
    const ping = ipFrame(GATEWAY_MAC, GUEST_MAC, GUEST4, "172.30.0.1", 1, icmpEcho(GUEST4, "172.30.0.1", true, 7, 777));
    expect(p.send(ping, Dir.Out).reason).toBe("hairpin");
  });
});

describe("an echo body comes back whole", () => {
  it("packet_body_pullup: the gateway's echo reply carries the request's body byte for byte", async () => {
    const p = await optePort();
    const data = new TextEncoder().encode("...did Sephiroth do this?\0");
    const req = fromGuest(GUEST4, "172.30.0.1", 1, icmpEcho(GUEST4, "172.30.0.1", true, 7, 777, data));
    const r = p.send(req, Dir.Out);
    expect(r.reason).toBe("hairpin");
    expect(r.out.subarray(r.out.length - data.length)).toEqual(data);
    expect(r.out.length).toBe(req.length);
  });
});
