// Reading a guest's multicast membership report: an IGMPv3 report (RFC 3376
// §4.2) or an MLDv2 report (RFC 3810 §5.2) inside the Ethernet frame the
// engine handed to the host (verdict ToHost). The frame comes from a guest,
// so every length is checked before it is used; anything malformed is a
// reason string, never an exception.

import { ipText } from "../../layers/program/addr.js";

export interface ReportRecord {
  /** Record type: 1 MODE_IS_INCLUDE, 2 MODE_IS_EXCLUDE, 3 CHANGE_TO_INCLUDE, 4 CHANGE_TO_EXCLUDE, 5 ALLOW_NEW_SOURCES, 6 BLOCK_OLD_SOURCES. */
  type: number;
  group: string;
  sources: string[];
}

export type ReportParse =
  | { ok: true; family: 4 | 6; records: ReportRecord[] }
  | { ok: false; reason: string };

const IGMPV3_REPORT = 0x22;
const MLDV2_REPORT = 143;
const IPV6_EXTENSIONS = new Set([0, 43, 60]); // hop-by-hop, routing, destination options

const fail = (reason: string): ReportParse => ({ ok: false, reason });

/** One's-complement sum of `b` folded to 16 bits (RFC 1071); a correct message sums to 0xffff. */
function sum16(b: Uint8Array, init = 0): number {
  let s = init;
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i] << 8) | b[i + 1];
  if (b.length & 1) s += b[b.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function addr4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** A group report from a whole guest frame (Ethernet, at most one 802.1Q tag). */
export function parseMembershipReport(frame: Uint8Array): ReportParse {
  if (frame.length < 14) return fail("frame shorter than an Ethernet header");
  let off = 12;
  let type = (frame[off] << 8) | frame[off + 1];
  if (type === 0x8100) {
    if (frame.length < 18) return fail("truncated VLAN tag");
    off += 4;
    type = (frame[off] << 8) | frame[off + 1];
  }
  const l3 = frame.subarray(off + 2);
  if (type === 0x0800) return ipv4Report(l3);
  if (type === 0x86dd) return ipv6Report(l3);
  return fail(`EtherType 0x${type.toString(16)} is not IP`);
}

function ipv4Report(ip: Uint8Array): ReportParse {
  if (ip.length < 20 || ip[0] >> 4 !== 4) return fail("not an IPv4 header");
  const hdr = (ip[0] & 0xf) * 4;
  const total = (ip[2] << 8) | ip[3];
  if (hdr < 20 || total < hdr || total > ip.length) return fail("IPv4 lengths do not fit the frame");
  if (sum16(ip.subarray(0, hdr)) !== 0xffff) return fail("bad IPv4 header checksum");
  if (ip[9] !== 2) return fail("not IGMP");
  if (((ip[6] & 0x1f) << 8 | ip[7]) !== 0 || (ip[6] & 0x20) !== 0) return fail("fragmented report");
  const msg = ip.subarray(hdr, total);
  if (msg.length < 8) return fail("IGMP message shorter than its header");
  if (msg[0] !== IGMPV3_REPORT) return fail(`IGMP type 0x${msg[0].toString(16)} is not a version 3 report`);
  if (sum16(msg) !== 0xffff) return fail("bad IGMP checksum");
  return records(msg, 4);
}

function ipv6Report(ip: Uint8Array): ReportParse {
  if (ip.length < 40 || ip[0] >> 4 !== 6) return fail("not an IPv6 header");
  const payload = (ip[4] << 8) | ip[5];
  if (40 + payload > ip.length) return fail("IPv6 payload length does not fit the frame");
  let next = ip[6];
  let off = 40;
  const end = 40 + payload;
  while (IPV6_EXTENSIONS.has(next)) {
    if (off + 8 > end) return fail("truncated extension header");
    const len = (ip[off + 1] + 1) * 8;
    if (off + len > end) return fail("extension header runs past the payload");
    next = ip[off];
    off += len;
  }
  if (next !== 58) return fail(next === 44 ? "fragmented report" : "not ICMPv6");
  const msg = ip.subarray(off, end);
  if (msg.length < 8) return fail("MLD message shorter than its header");
  if (msg[0] !== MLDV2_REPORT) return fail(`ICMPv6 type ${msg[0]} is not an MLDv2 report`);
  // the checksum covers the pseudo-header: addresses, upper-layer length, next header 58 (RFC 8200 §8.1)
  const pseudo = new Uint8Array(40);
  pseudo.set(ip.subarray(8, 40), 0);
  pseudo[34] = msg.length >> 8; pseudo[35] = msg.length & 0xff; pseudo[39] = 58;
  if (sum16(msg, sum16(pseudo)) !== 0xffff) return fail("bad ICMPv6 checksum");
  return records(msg, 6);
}

/** The group records after the 8-byte message header; both reports share the layout but for address size. */
function records(msg: Uint8Array, family: 4 | 6): ReportParse {
  const size = family === 4 ? 4 : 16;
  const count = (msg[6] << 8) | msg[7];
  const text = (at: number) => (family === 4 ? addr4(msg, at) : ipText(msg.subarray(at, at + 16)));
  const out: ReportRecord[] = [];
  let off = 8;
  for (let i = 0; i < count; i++) {
    if (off + 4 + size > msg.length) return fail(`record ${i} is truncated`);
    const aux = msg[off + 1] * 4;
    const n = (msg[off + 2] << 8) | msg[off + 3];
    const len = 4 + size * (1 + n) + aux;
    if (off + len > msg.length) return fail(`record ${i} runs past the message`);
    const group = text(off + 4);
    const multicast = family === 4 ? (msg[off + 4] & 0xf0) === 0xe0 : msg[off + 4] === 0xff;
    if (!multicast) return fail(`record ${i}: ${group} is not a multicast address`);
    const sources: string[] = [];
    for (let k = 0; k < n; k++) sources.push(text(off + 4 + size * (1 + k)));
    out.push({ type: msg[off], group, sources });
    off += len;
  }
  return { ok: true, family, records: out };
}
