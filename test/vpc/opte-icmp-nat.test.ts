// ICMP errors that belong to no flow, through a 1:1 NAT (ephemeral and
// floating IPs): OPTE's icmp_inner_has_nat_applied and
// icmpv6_inner_has_nat_applied. The quote is translated as the outer header
// is, so a private address never leaves the VPC inside an error, and an
// error about the external address reaches the guest about its own.
import { describe, it, expect } from "vitest";
import { optePort, fromGuest, fromInternet, Dir, GUEST4 } from "../helpers/opte.js";
import { ipv4, ipv6, csum } from "../helpers/frames.js";
import { ip16, parseIpv4 } from "../../layers/program/addr.js";

const GUEST6 = "fd00:1024::5";
const EPHEMERAL4 = "10.60.1.1", EPHEMERAL6 = "2001:db8:1234::77", REMOTE4 = "4.4.4.4", REMOTE6 = "2001:4860:4860::8888";

/** An ICMP error message (type, code) quoting `quoted`; ICMPv4 checksum over the message. */
function icmp4Error(type: number, code: number, quoted: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + quoted.length);
  m[0] = type; m[1] = code; m.set(quoted, 8);
  const c = csum(m); m[2] = c >> 8; m[3] = c & 0xff;
  return m;
}

/** An ICMPv6 error message; the checksum covers the pseudo header of src → dst. */
function icmp6Error(src: string, dst: string, type: number, code: number, quoted: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + quoted.length);
  m[0] = type; m[1] = code; m.set(quoted, 8);
  const pseudo = new Uint8Array(40 + m.length);
  pseudo.set(ip16(src), 0); pseudo.set(ip16(dst), 16);
  new DataView(pseudo.buffer).setUint32(32, m.length); pseudo[39] = 58; pseudo.set(m, 40);
  const c = csum(pseudo); m[2] = c >> 8; m[3] = c & 0xff;
  return m;
}

/** The first 8 bytes of OPTE's quoted UDP header (0x1234 → 0x0034, length 0xf8, checksum 0). */
const QUOTED_UDP = Uint8Array.from([0x12, 0x34, 0x00, 0x34, 0x00, 0xf8, 0x00, 0x00]);

/** An IPv4 header as quoted: announcing 256 bytes of UDP of which 8 are quoted, TTL 0. */
function quoted4(src: string, dst: string): Uint8Array {
  const ip = ipv4(src, dst, 17, new Uint8Array(256), 0).subarray(0, 20);
  return Uint8Array.from([...ip, ...QUOTED_UDP]);
}
function quoted6(src: string, dst: string): Uint8Array {
  return Uint8Array.from([...ipv6(src, dst, 17, new Uint8Array(256), 255).subarray(0, 40), ...QUOTED_UDP]);
}

describe("ICMP errors without a flow through a 1:1 NAT", () => {
  it("icmp_inner_has_nat_applied: a guest's time exceeded leaves from the ephemeral IP with the quoted destination made the ephemeral IP too", async () => {
    const p = await optePort((c) => { c.externalIps = { snat: { ip: "10.77.77.13", firstPort: 1025, lastPort: 4096 }, ephemeral: EPHEMERAL4, floating: [] }; });
    const err = icmp4Error(11, 0, quoted4(REMOTE4, GUEST4));
    const r = p.send(fromGuest(GUEST4, REMOTE4, 1, err), Dir.Out);
    expect(r.reason).toBe("pass");
    const ip = r.out.subarray(70 + 14);                         // Geneve (no option to boundary services), inner Ethernet
    expect([...ip.subarray(12, 16)].join(".")).toBe(EPHEMERAL4);
    const icmp = ip.subarray(20, 20 + 8 + 28);
    expect(csum(icmp)).toBe(0);
    const q = icmp.subarray(8);
    expect([...q.subarray(12, 16)].join(".")).toBe(REMOTE4);
    expect([...q.subarray(16, 20)].join(".")).toBe(EPHEMERAL4);  // OPTE: v4.destination() == eph_ip
    expect(csum(q.subarray(0, 20))).toBe(0);
    expect(hasBytes(r.out, parseIpv4(GUEST4))).toBe(false);    // the private address is nowhere in the frame
    expect(p.e.flowCount(0)).toBe(0);
  });

  it("icmpv6_inner_has_nat_applied: an ICMPv6 error to the ephemeral IP reaches the guest with the quoted source made its private address", async () => {
    const p = await optePort((c) => {
      c.externalIps = { ephemeral: EPHEMERAL6, floating: [] };
      c.firewall.push({ name: "icmp6-in", direction: "in", priority: 9, action: "allow", protocols: ["icmpv6"] });
    });
    const err = icmp6Error(REMOTE6, EPHEMERAL6, 1, 4, quoted6(EPHEMERAL6, REMOTE6));
    const r = p.send(fromInternet(REMOTE6, EPHEMERAL6, 58, err), Dir.In);
    expect(r.reason).toBe("pass");
    const ip = r.out.subarray(14);
    expect(ip.subarray(24, 40)).toEqual(ip16(GUEST6));
    const icmp = ip.subarray(40);
    expect([icmp[0], icmp[1]]).toEqual([1, 4]);
    const q = icmp.subarray(8);
    expect(q.subarray(8, 24)).toEqual(ip16(GUEST6));             // OPTE: v6.source() == private_ip
    expect(q.subarray(24, 40)).toEqual(ip16(REMOTE6));
    expect(icmp6Sum(ip)).toBe(0);
  });

  it("a quote about another address is left alone, and with only SNAT (no 1:1 address) a flowless error cannot leave at all", async () => {
    const eph = await optePort((c) => { c.externalIps = { ephemeral: EPHEMERAL4, floating: [] }; });
    const r = eph.send(fromGuest(GUEST4, REMOTE4, 1, icmp4Error(3, 3, quoted4(REMOTE4, "10.99.0.7"))), Dir.Out);
    expect(r.reason).toBe("pass");
    expect([...r.out.subarray(70 + 14 + 28 + 16, 70 + 14 + 28 + 20)].join(".")).toBe("10.99.0.7");
    const snatOnly = await optePort();
    const s = snatOnly.send(fromGuest(GUEST4, REMOTE4, 1, icmp4Error(11, 0, quoted4(REMOTE4, GUEST4))), Dir.Out);
    expect(s.reason).toBe("XformUnsupported");                 // SNAT needs a flow's port: nothing leaves
  });
});

function hasBytes(hay: Uint8Array, needle: Uint8Array): boolean {
  for (let i = 0; i + needle.length <= hay.length; i++) if (needle.every((b, j) => hay[i + j] === b)) return true;
  return false;
}

/** The ICMPv6 checksum over the pseudo header of IPv6 packet `ip`: 0 when right. */
function icmp6Sum(ip: Uint8Array): number {
  const len = (ip[4] << 8) | ip[5];
  const pseudo = new Uint8Array(40 + len);
  pseudo.set(ip.subarray(8, 40), 0);
  new DataView(pseudo.buffer).setUint32(32, len); pseudo[39] = 58;
  pseudo.set(ip.subarray(40, 40 + len), 40);
  return csum(pseudo);
}
