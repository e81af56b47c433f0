// IPv6 header (RFC 8200 §3) and the extension-header walk of §4.
//
// We walk hop-by-hop, routing, fragment and destination options headers to
// find the upper-layer protocol, at most IPV6_EXT_LIMIT deep so a crafted
// chain costs bounded work. Options inside them are not interpreted. A
// Hop-by-Hop header is allowed only right after the IPv6 header (RFC 8200
// §4.1: every node on the path examines it there, and nowhere else); one
// further down the chain is refused, as a router would discard it, rather
// than carried to a guest or a peer that reads it differently.

import { ld8, ld16, ld32, ld64, st8, st16, st32, st64, room } from "./bytes";
import { PacketMeta, L3, Proto } from "./meta";
import { Reason } from "../../abi/reason";

export const IPV6_HDR_LEN: u32 = 40;
/** Field offsets (RFC 8200 §3): version, traffic class and flow label share the first word. */
export const enum Ipv6Field { VerTcFlow = 0, PayloadLen = 4, NextHeader = 6, HopLimit = 7, Src = 8, Dst = 24 }
/** Extension headers (RFC 8200 §4): next header and length (8-octet units beyond the first); the fragment header's offset word. */
export const enum Ipv6ExtField { NextHeader = 0, Len = 1, FragOffset = 2 }
export const IPV6_EXT_LIMIT: u32 = 8;
export const IPV6_FRAG_HDR_LEN: u32 = 8;
export const IPV6_EXT_HBH: u32 = 1;
export const IPV6_EXT_ROUTING: u32 = 2;
export const IPV6_EXT_FRAGMENT: u32 = 4;
export const IPV6_EXT_DEST_OPTS: u32 = 8;

/** The ipv6ExtMask bit for an extension header, 0 if `next` is not one we walk. */
function extBit(next: u32): u32 {
  switch (next) {
    case Proto.HopByHop: return IPV6_EXT_HBH;
    case Proto.Routing: return IPV6_EXT_ROUTING;
    case Proto.Fragment: return IPV6_EXT_FRAGMENT;
    case Proto.DestOpts: return IPV6_EXT_DEST_OPTS;
    default: return 0;
  }
}

/** Parse the fixed IPv6 header and its extension headers; returns the L4 offset or -Reason. */
export function parseIpv6(m: PacketMeta, off: u32): i32 {
  const avail = room(m.len, off);
  if (avail < IPV6_HDR_LEN) return -Reason.Truncated;
  const p = m.base + off;
  const w0 = ld32(p + Ipv6Field.VerTcFlow);
  if ((w0 >> 28) != 6) return -Reason.BadVersion;
  const payloadLen = ld16(p + Ipv6Field.PayloadLen);
  if (payloadLen > avail - IPV6_HDR_LEN) return -Reason.BadLength;
  m.l3 = off;
  m.l3Kind = L3.Ipv6;
  m.tos = (w0 >> 20) & 0xff;
  m.flowLabel = w0 & 0xfffff;
  m.ttl = ld8(p + Ipv6Field.HopLimit);
  m.srcHi = ld64(p + Ipv6Field.Src); m.srcLo = ld64(p + Ipv6Field.Src + 8);
  m.dstHi = ld64(p + Ipv6Field.Dst); m.dstLo = ld64(p + Ipv6Field.Dst + 8);
  return walkExtHeaders(m, off + IPV6_HDR_LEN, off + IPV6_HDR_LEN + payloadLen, ld8(p + Ipv6Field.NextHeader));
}

function walkExtHeaders(m: PacketMeta, start: u32, end: u32, first: u32): i32 {
  let cur = start;
  let next = first;
  let depth: u32 = 0;
  let bit = extBit(next);
  while (bit != 0) {
    if (depth == IPV6_EXT_LIMIT) return -Reason.ExtHeaderLimit;
    if (bit == IPV6_EXT_HBH && depth != 0) return -Reason.HopByHopNotFirst;
    const avail = room(end, cur);
    if (avail < 8) return -Reason.Truncated;
    const q = m.base + cur;
    const len = next == Proto.Fragment ? IPV6_FRAG_HDR_LEN : (ld8(q + Ipv6ExtField.Len) + 1) * 8;
    if (len > avail) return -Reason.Truncated;
    m.ipv6ExtMask |= bit;
    next = ld8(q + Ipv6ExtField.NextHeader);
    cur += len;
    depth++;
    if (bit == IPV6_EXT_FRAGMENT) {
      const fo = ld16(q + Ipv6ExtField.FragOffset);
      m.fragOffset = fo & 0xfff8;
      m.moreFragments = fo & 1;
      // A non-first fragment carries payload bytes, not further headers.
      if (m.fragOffset != 0) break;
    }
    bit = extBit(next);
  }
  m.proto = next;
  m.l3HdrLen = cur - m.l3;
  m.l3PayloadLen = end - cur;
  return <i32>cur;
}

/** Write the fixed 40-byte IPv6 header; returns 40. */
@inline export function emitIpv6(p: usize, tclass: u32, flowLabel: u32, payloadLen: u32, nextHeader: u32,
                                 hopLimit: u32, srcHi: u64, srcLo: u64, dstHi: u64, dstLo: u64): u32 {
  st32(p + Ipv6Field.VerTcFlow, (6 << 28) | ((tclass & 0xff) << 20) | (flowLabel & 0xfffff));
  st16(p + Ipv6Field.PayloadLen, payloadLen);
  st8(p + Ipv6Field.NextHeader, nextHeader);
  st8(p + Ipv6Field.HopLimit, hopLimit);
  st64(p + Ipv6Field.Src, srcHi); st64(p + Ipv6Field.Src + 8, srcLo);
  st64(p + Ipv6Field.Dst, dstHi); st64(p + Ipv6Field.Dst + 8, dstLo);
  return IPV6_HDR_LEN;
}
