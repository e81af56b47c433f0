// Upper-layer checksums for TCP (RFC 793), UDP (RFC 768), ICMPv4 (RFC 792)
// and ICMPv6 (RFC 4443), with the IPv4 and IPv6 (RFC 8200 §8.1) pseudo
// headers. Also the one place that says where an IP packet's bytes end, so
// L4 parsers never read Ethernet padding as payload.

import { ld16, st16 } from "./bytes";
import { sumBytes, sumWord, sumWord32, sumAddr, fold, finish } from "./checksum";
import { PacketMeta, NONE, L3, Proto } from "./meta";

export const TCP_CSUM_OFF: u32 = 16;
export const UDP_CSUM_OFF: u32 = 6;
export const ICMP_CSUM_OFF: u32 = 2;

/** Offset one past the IP packet (its length field), or the frame end without IP. */
export function ipPayloadEnd(m: PacketMeta): u32 {
  if (m.l3 == NONE || (m.l3Kind != L3.Ipv4 && m.l3Kind != L3.Ipv6)) return m.len;
  return m.l3 + m.l3HdrLen + m.l3PayloadLen;
}

/** Offset of the checksum field within the L4 header, or NONE if we do not know it. */
function csumOffset(m: PacketMeta): u32 {
  if (m.proto == Proto.Tcp) return TCP_CSUM_OFF;
  if (m.proto == Proto.Udp) return UDP_CSUM_OFF;
  if (m.proto == Proto.Icmp && m.l3Kind == L3.Ipv4) return ICMP_CSUM_OFF;
  if (m.proto == Proto.Icmpv6 && m.l3Kind == L3.Ipv6) return ICMP_CSUM_OFF;
  return NONE;
}

/** Bytes covered by the checksum: the UDP length field, else the rest of the IP packet. */
function l4Length(m: PacketMeta): u32 {
  if (m.proto == Proto.Udp) return ld16(m.base + m.l4 + 4);
  return ipPayloadEnd(m) - m.l4;
}

function pseudoHeaderSum(m: PacketMeta, l4Len: u32): u64 {
  if (m.l3Kind == L3.Ipv4) {
    if (m.proto == Proto.Icmp) return 0; // ICMPv4 covers only its own message
    return sumWord32(<u32>m.srcLo) + sumWord32(<u32>m.dstLo) + sumWord(m.proto) + sumWord(l4Len);
  }
  return sumAddr(m.srcHi, m.srcLo) + sumAddr(m.dstHi, m.dstLo) + sumWord32(l4Len) + sumWord(m.proto);
}

@inline function hasL4Checksum(m: PacketMeta): bool {
  return m.l4 != NONE && csumOffset(m) != NONE;
}

/**
 * True when the parsed L4 checksum is correct, or when there is none to
 * check (no L4 header we know; UDP over IPv4 with checksum 0).
 * UDP over IPv6 with checksum 0 is invalid (RFC 8200 §8.1).
 */
export function l4ChecksumOk(m: PacketMeta): bool {
  if (!hasL4Checksum(m)) return true;
  const p = m.base + m.l4;
  if (m.proto == Proto.Udp && ld16(p + UDP_CSUM_OFF) == 0) return m.l3Kind == L3.Ipv4;
  const len = l4Length(m);
  return fold(pseudoHeaderSum(m, len) + sumBytes(p, len, 0)) == 0xffff;
}

/** Recompute and store the L4 checksum of the parsed packet (no-op without one). */
export function writeL4Checksum(m: PacketMeta): void {
  if (!hasL4Checksum(m)) return;
  const p = m.base + m.l4;
  const at = p + csumOffset(m);
  const len = l4Length(m);
  st16(at, 0);
  let csum = finish(pseudoHeaderSum(m, len) + sumBytes(p, len, 0));
  // A computed UDP 0 is sent as all ones; 0 on the wire means "no checksum".
  if (csum == 0 && m.proto == Proto.Udp) csum = 0xffff;
  st16(at, csum);
}
