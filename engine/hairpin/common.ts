// Shared pieces of the hairpin reply generators: bounds-checked access to
// the request and the params block, and the L4 checksums a reply needs.
//
// Every generator writes a fresh frame at `out` with the header writers of
// engine/packet/ (one writer per header), echoing the request's VLAN tag.

import { ld16, ld32, ld64, ldMac, st8, st16, st32, st64, stMac } from "../packet/bytes";
import { sumBytes, sumAddr, sumWord32, finish } from "../packet/checksum";
import { PacketMeta, NONE, Proto, EtherType } from "../packet/meta";
import { ETH_HDR_LEN, VLAN_TAG_LEN, EthField, emitEthernetTagged } from "../packet/ethernet";
import { IPV4_HDR_LEN, Ipv4Field, emitIpv4 } from "../packet/ipv4";
import { IPV6_HDR_LEN, Ipv6Field, emitIpv6 } from "../packet/ipv6";
import { UDP_HDR_LEN, UdpField, emitUdp } from "../packet/udp";
import { IcmpField } from "../packet/icmpv4";

/** fe80::/64 as the high half of an address. */
export const LINK_LOCAL_HI: u64 = 0xfe80_0000_0000_0000;
/** ff02::1, all-nodes (RFC 4291 §2.7.1). */
export const ALL_NODES_HI: u64 = 0xff02_0000_0000_0000;
export const ALL_NODES_LO: u64 = 1;

/** True when `n` bytes at request offset `off` lie inside the frame. */
@inline export function fits(m: PacketMeta, off: u32, n: u32): bool {
  return off != NONE && <u64>off + <u64>n <= <u64>m.len;
}

/** True when `n` bytes at params offset `off` lie inside the params block. */
@inline export function paramFits(paramLen: u32, off: u32, n: u32): bool {
  return <u64>off + <u64>n <= <u64>paramLen;
}

/** Source MAC of the request frame, or u64.MAX_VALUE when the Ethernet header is missing. */
export function requesterMac(m: PacketMeta): u64 {
  const l2 = m.l2 == NONE ? 0 : m.l2;
  if (!fits(m, l2, ETH_HDR_LEN)) return u64.MAX_VALUE;
  return ldMac(m.base + l2 + EthField.Src);
}

/** Ethernet header length of the reply (the request's VLAN tag is echoed). */
@inline export function ethLen(m: PacketMeta): u32 {
  return m.vlan == NONE ? ETH_HDR_LEN : ETH_HDR_LEN + VLAN_TAG_LEN;
}

/** An IPv4 header for a reply: no options, identification 0, DF clear (as a router's own messages). */
@inline export function emitReplyIpv4(p: usize, src: u32, dst: u32, proto: u32, ttl: u32, payloadLen: u32): u32 {
  return emitIpv4(p, 0, IPV4_HDR_LEN + payloadLen, 0, 0, ttl, proto, src, dst);
}

/** Fill the UDP checksum of a datagram at `udp` (IPv4 pseudo header, RFC 768). */
export function udp4Checksum(udp: usize, src: u32, dst: u32, len: u32): void {
  st16(udp + UdpField.Checksum, 0);
  let s = sumBytes(udp, len, 0);
  s += sumWord32(src) + sumWord32(dst) + sumWord32(Proto.Udp) + sumWord32(len);
  let c = finish(s);
  if (c == 0) c = 0xffff; // zero means "no checksum" in UDP over IPv4
  st16(udp + UdpField.Checksum, c);
}

/**
 * Checksum of an upper-layer message over IPv6 (RFC 8200 §8.1) written at
 * `csumAt` (UDP offset 6, ICMPv6 offset 2, which must be zero beforehand).
 */
export function l4v6Checksum(l4: usize, len: u32, csumAt: usize,
                             srcHi: u64, srcLo: u64, dstHi: u64, dstLo: u64, next: u32): void {
  let s = sumBytes(l4, len, 0);
  s += sumAddr(srcHi, srcLo) + sumAddr(dstHi, dstLo) + sumWord32(len) + sumWord32(next);
  let c = finish(s);
  if (next == Proto.Udp && c == 0) c = 0xffff;
  st16(csumAt, c);
}

/** Verify an ICMPv6 message's checksum in the request. */
export function icmp6ChecksumOk(l4: usize, len: u32, srcHi: u64, srcLo: u64, dstHi: u64, dstLo: u64): bool {
  let s = sumBytes(l4, len, 0);
  s += sumAddr(srcHi, srcLo) + sumAddr(dstHi, dstLo) + sumWord32(len) + sumWord32(Proto.Icmpv6);
  return finish(s) == 0;
}

/** Modified EUI-64 interface identifier of a MAC (RFC 4291 appendix A). */
export function eui64(mac: u64): u64 {
  const hi24 = (mac >> 24) ^ 0x020000;
  const lo24 = mac & 0xffffff;
  return (hi24 << 40) | (<u64>0xfffe << 24) | lo24;
}

/** Read a 16-byte address as two halves (big-endian). */
@inline export function ldAddrHi(p: usize): u64 { return ld64(p); }
@inline export function ldAddrLo(p: usize): u64 { return ld64(p + 8); }

@inline export function isMulticast6(hi: u64): bool { return (hi >> 56) == 0xff; }
@inline export function isUnspecified6(hi: u64, lo: u64): bool { return hi == 0 && lo == 0; }

/** Bounds-checked view of the IPv4 request: returns its total length, or 0 when malformed. */
export function ipv4TotalLen(m: PacketMeta): u32 {
  if (m.l3 == NONE || !fits(m, m.l3, IPV4_HDR_LEN)) return 0;
  const p = m.base + m.l3;
  const vihl = <u32>load<u8>(p + Ipv4Field.VerIhl);
  if ((vihl >> 4) != 4) return 0;
  const ihl = (vihl & 15) << 2;
  const total = ld16(p + Ipv4Field.TotalLen);
  if (ihl < IPV4_HDR_LEN || total < ihl || !fits(m, m.l3, total)) return 0;
  return total;
}

/** Bounds-checked view of the IPv6 request: returns 40 + payload length, or 0 when malformed. */
export function ipv6TotalLen(m: PacketMeta): u32 {
  if (m.l3 == NONE || !fits(m, m.l3, IPV6_HDR_LEN)) return 0;
  const p = m.base + m.l3;
  if ((load<u8>(p + Ipv6Field.VerTcFlow) >> 4) != 6) return 0;
  const total = IPV6_HDR_LEN + ld16(p + Ipv6Field.PayloadLen);
  if (!fits(m, m.l3, total)) return 0;
  return total;
}

/** Whether an IPv4 address is one a host may be answered at (RFC 1812 §4.3.2.7). */
export function isUnicast4(a: u32): bool {
  const first = a >> 24;
  return a != 0 && a != 0xffffffff && first < 224 && first != 127 && first != 0;
}

// Re-exported so generators import byte helpers, header writers and field offsets from one place.
export { ld16, ld32, ld64, ldMac, st8, st16, st32, st64, stMac };
export { ETH_HDR_LEN, EthField, emitEthernetTagged, IPV4_HDR_LEN, Ipv4Field, IPV6_HDR_LEN, Ipv6Field, emitIpv6 };
export { UDP_HDR_LEN, UdpField, emitUdp, IcmpField, Proto, EtherType };
