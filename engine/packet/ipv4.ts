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
/** Field offsets (RFC 791 §3.1). */
export const enum Ipv4Field {
  VerIhl = 0, Tos = 1, TotalLen = 2, Ident = 4, FlagsFrag = 6, Ttl = 8, Proto = 9, Checksum = 10, Src = 12, Dst = 16,
}

/** Parse the IPv4 header at `off`; returns the L4 offset or -Reason. */
export function parseIpv4(m: PacketMeta, off: u32): i32 {
  const avail = room(m.len, off);
  if (avail < IPV4_HDR_LEN) return -Reason.Truncated;
  const p = m.base + off;
  const b0 = ld8(p + Ipv4Field.VerIhl);
  if ((b0 >> 4) != 4) return -Reason.BadVersion;
  const hdrLen = (b0 & 0xf) * 4;
  if (hdrLen < IPV4_HDR_LEN) return -Reason.BadHeaderLength;
  if (hdrLen > avail) return -Reason.Truncated;
  const totalLen = ld16(p + Ipv4Field.TotalLen);
  if (totalLen < hdrLen || totalLen > avail) return -Reason.BadLength;
  const frag = ld16(p + Ipv4Field.FlagsFrag);
  m.l3 = off;
  m.l3Kind = L3.Ipv4;
  m.l3HdrLen = hdrLen;
  m.l3PayloadLen = totalLen - hdrLen;
  m.tos = ld8(p + Ipv4Field.Tos);
  m.fragOffset = (frag & IPV4_FRAG_OFFSET_MASK) * 8;
  m.moreFragments = (frag & IPV4_FLAG_MF) != 0 ? 1 : 0;
  m.ttl = ld8(p + Ipv4Field.Ttl);
  m.proto = ld8(p + Ipv4Field.Proto);
  m.srcHi = 0; m.srcLo = v4ToLo(ld32(p + Ipv4Field.Src));
  m.dstHi = 0; m.dstLo = v4ToLo(ld32(p + Ipv4Field.Dst));
  return <i32>(off + hdrLen);
}

/** True when the parsed IPv4 header (options included) sums to all ones. */
export function ipv4HeaderChecksumOk(m: PacketMeta): bool {
  return fold(sumBytes(m.base + m.l3, m.l3HdrLen, 0)) == 0xffff;
}

/** Recompute the header checksum of the IPv4 header at `p`. */
export function ipv4WriteHeaderChecksum(p: usize, hdrLen: u32): void {
  st16(p + Ipv4Field.Checksum, 0);
  st16(p + Ipv4Field.Checksum, finish(sumBytes(p, hdrLen, 0)));
}

/**
 * Write a 20-byte IPv4 header (no options) with a valid checksum; returns 20.
 * `flagsFrag` holds the DF/MF flags and fragment offset as on the wire;
 * `src`/`dst` are plain IPv4 numbers (a.b.c.d = a<<24|...).
 */
export function emitIpv4(p: usize, tos: u32, totalLen: u32, ident: u32, flagsFrag: u32, ttl: u32,
                         proto: u32, src: u32, dst: u32): u32 {
  st8(p + Ipv4Field.VerIhl, 0x45);
  st8(p + Ipv4Field.Tos, tos);
  st16(p + Ipv4Field.TotalLen, totalLen);
  st16(p + Ipv4Field.Ident, ident);
  st16(p + Ipv4Field.FlagsFrag, flagsFrag);
  st8(p + Ipv4Field.Ttl, ttl);
  st8(p + Ipv4Field.Proto, proto);
  st32(p + Ipv4Field.Src, src);
  st32(p + Ipv4Field.Dst, dst);
  ipv4WriteHeaderChecksum(p, IPV4_HDR_LEN);
  return IPV4_HDR_LEN;
}
