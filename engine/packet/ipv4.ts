// IPv4 header (RFC 791). Options are skipped, never interpreted; the header
// checksum (RFC 1071) is verified by parseFrame and rewritten on emit.
// Bytes after Total Length are Ethernet padding and are ignored.

import { ld8, ld16, ld32, st8, st16, st32, v4ToLo, room } from "./bytes";
import { sumBytes, fold, finish } from "./checksum";
import { PacketMeta, L3 } from "./meta";
import { Reason } from "../../abi/reason";

export const IPV4_HDR_LEN: u32 = 20;
export const IPV4_FLAG_DF: u32 = 0x4000;
export const IPV4_FLAG_MF: u32 = 0x2000;
export const IPV4_FRAG_OFFSET_MASK: u32 = 0x1fff;
export const IPV4_CSUM_OFF: u32 = 10;

/** Parse the IPv4 header at `off`; returns the L4 offset or -Reason. */
export function parseIpv4(m: PacketMeta, off: u32): i32 {
  const avail = room(m.len, off);
  if (avail < IPV4_HDR_LEN) return -Reason.Truncated;
  const p = m.base + off;
  const b0 = ld8(p);
  if ((b0 >> 4) != 4) return -Reason.BadVersion;
  const hdrLen = (b0 & 0xf) * 4;
  if (hdrLen < IPV4_HDR_LEN) return -Reason.BadHeaderLength;
  if (hdrLen > avail) return -Reason.Truncated;
  const totalLen = ld16(p + 2);
  if (totalLen < hdrLen || totalLen > avail) return -Reason.BadLength;
  const frag = ld16(p + 6);
  m.l3 = off;
  m.l3Kind = L3.Ipv4;
  m.l3HdrLen = hdrLen;
  m.l3PayloadLen = totalLen - hdrLen;
  m.tos = ld8(p + 1);
  m.fragOffset = (frag & IPV4_FRAG_OFFSET_MASK) * 8;
  m.moreFragments = (frag & IPV4_FLAG_MF) != 0 ? 1 : 0;
  m.ttl = ld8(p + 8);
  m.proto = ld8(p + 9);
  m.srcHi = 0; m.srcLo = v4ToLo(ld32(p + 12));
  m.dstHi = 0; m.dstLo = v4ToLo(ld32(p + 16));
  return <i32>(off + hdrLen);
}

/** True when the parsed IPv4 header (options included) sums to all ones. */
export function ipv4HeaderChecksumOk(m: PacketMeta): bool {
  return fold(sumBytes(m.base + m.l3, m.l3HdrLen, 0)) == 0xffff;
}

/** Recompute the header checksum of the IPv4 header at `p`. */
export function ipv4WriteHeaderChecksum(p: usize, hdrLen: u32): void {
  st16(p + IPV4_CSUM_OFF, 0);
  st16(p + IPV4_CSUM_OFF, finish(sumBytes(p, hdrLen, 0)));
}

/**
 * Write a 20-byte IPv4 header with DF set and a valid checksum; returns 20.
 * `src`/`dst` are plain IPv4 numbers (a.b.c.d = a<<24|...).
 */
export function emitIpv4(p: usize, tos: u32, totalLen: u32, ident: u32, ttl: u32,
                         proto: u32, src: u32, dst: u32): u32 {
  st8(p, 0x45);
  st8(p + 1, tos);
  st16(p + 2, totalLen);
  st16(p + 4, ident);
  st16(p + 6, IPV4_FLAG_DF);
  st8(p + 8, ttl);
  st8(p + 9, proto);
  st32(p + 12, src);
  st32(p + 16, dst);
  ipv4WriteHeaderChecksum(p, IPV4_HDR_LEN);
  return IPV4_HDR_LEN;
}
