// Shared pieces of the hairpin reply generators: bounds-checked access to
// the request and the params block, and the few header writers a reply needs
// (Ethernet, IPv4, IPv6, L4 checksums).
//
// Every generator writes a fresh frame at `out`, so the writers here always
// build headers from scratch rather than editing the request in place.

import { ld16, ld32, ld64, ldMac, st8, st16, st32, st64, stMac } from "../packet/bytes";
import { sumBytes, sumAddr, sumWord32, finish } from "../packet/checksum";
import { PacketMeta, NONE } from "../packet/meta";

export const ETH_LEN: u32 = 14;
export const VLAN_LEN: u32 = 4;
export const IPV4_LEN: u32 = 20;
export const IPV6_LEN: u32 = 40;
export const UDP_LEN: u32 = 8;

export const PROTO_ICMP: u32 = 1;
export const PROTO_UDP: u32 = 17;
export const PROTO_ICMPV6: u32 = 58;

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
  if (!fits(m, l2, ETH_LEN)) return u64.MAX_VALUE;
  return ldMac(m.base + l2 + 6);
}

/** Ethernet header length of the reply (the request's VLAN tag is echoed). */
@inline export function ethLen(m: PacketMeta): u32 {
  return m.vlan == NONE ? ETH_LEN : ETH_LEN + VLAN_LEN;
}

/** Ethernet II header, with an 802.1Q tag when the request carried one. */
export function emitEth(p: usize, m: PacketMeta, dst: u64, src: u64, etherType: u32): u32 {
  stMac(p, dst);
  stMac(p + 6, src);
  if (m.vlan == NONE) {
    st16(p + 12, etherType);
    return ETH_LEN;
  }
  st16(p + 12, 0x8100);
  st16(p + 14, m.vlan & 0xffff);
  st16(p + 16, etherType);
  return ETH_LEN + VLAN_LEN;
}

/** A 20-byte IPv4 header (no options, id 0, DF clear) with its checksum. */
export function emitIpv4(p: usize, src: u32, dst: u32, proto: u32, ttl: u32, payloadLen: u32): u32 {
  st8(p, 0x45);
  st8(p + 1, 0);
  st16(p + 2, IPV4_LEN + payloadLen);
  st32(p + 4, 0);
  st8(p + 8, ttl);
  st8(p + 9, proto);
  st16(p + 10, 0);
  st32(p + 12, src);
  st32(p + 16, dst);
  st16(p + 10, finish(sumBytes(p, IPV4_LEN, 0)));
  return IPV4_LEN;
}

/** A 40-byte IPv6 header, traffic class and flow label zero. */
export function emitIpv6(p: usize, srcHi: u64, srcLo: u64, dstHi: u64, dstLo: u64,
                         next: u32, hopLimit: u32, payloadLen: u32): u32 {
  st32(p, 0x6000_0000);
  st16(p + 4, payloadLen);
  st8(p + 6, next);
  st8(p + 7, hopLimit);
  st64(p + 8, srcHi); st64(p + 16, srcLo);
  st64(p + 24, dstHi); st64(p + 32, dstLo);
  return IPV6_LEN;
}

/** UDP header; the checksum is filled by `udp4Checksum` / `l4v6Checksum`. */
export function emitUdp(p: usize, srcPort: u32, dstPort: u32, payloadLen: u32): u32 {
  st16(p, srcPort);
  st16(p + 2, dstPort);
  st16(p + 4, UDP_LEN + payloadLen);
  st16(p + 6, 0);
  return UDP_LEN;
}

/** Fill the UDP checksum of a datagram at `udp` (IPv4 pseudo header, RFC 768). */
export function udp4Checksum(udp: usize, src: u32, dst: u32, len: u32): void {
  st16(udp + 6, 0);
  let s = sumBytes(udp, len, 0);
  s += sumWord32(src) + sumWord32(dst) + sumWord32(PROTO_UDP) + sumWord32(len);
  let c = finish(s);
  if (c == 0) c = 0xffff; // zero means "no checksum" in UDP over IPv4
  st16(udp + 6, c);
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
  if (next == PROTO_UDP && c == 0) c = 0xffff;
  st16(csumAt, c);
}

/** Verify an ICMPv6 message's checksum in the request. */
export function icmp6ChecksumOk(l4: usize, len: u32, srcHi: u64, srcLo: u64, dstHi: u64, dstLo: u64): bool {
  let s = sumBytes(l4, len, 0);
  s += sumAddr(srcHi, srcLo) + sumAddr(dstHi, dstLo) + sumWord32(len) + sumWord32(PROTO_ICMPV6);
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
  if (m.l3 == NONE || !fits(m, m.l3, IPV4_LEN)) return 0;
  const p = m.base + m.l3;
  const vihl = <u32>load<u8>(p);
  if ((vihl >> 4) != 4) return 0;
  const ihl = (vihl & 15) << 2;
  const total = ld16(p + 2);
  if (ihl < IPV4_LEN || total < ihl || !fits(m, m.l3, total)) return 0;
  return total;
}

/** Bounds-checked view of the IPv6 request: returns 40 + payload length, or 0 when malformed. */
export function ipv6TotalLen(m: PacketMeta): u32 {
  if (m.l3 == NONE || !fits(m, m.l3, IPV6_LEN)) return 0;
  const p = m.base + m.l3;
  if ((load<u8>(p) >> 4) != 6) return 0;
  const total = IPV6_LEN + ld16(p + 4);
  if (!fits(m, m.l3, total)) return 0;
  return total;
}

/** Whether an IPv4 address is one a host may be answered at (RFC 1812 §4.3.2.7). */
export function isUnicast4(a: u32): bool {
  const first = a >> 24;
  return a != 0 && a != 0xffffffff && first < 224 && first != 127 && first != 0;
}

// Re-exported so generators import byte helpers from one place.
export { ld16, ld32, ld64, ldMac, st8, st16, st32, st64, stMac };
