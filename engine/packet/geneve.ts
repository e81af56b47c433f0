// Geneve (RFC 8926) as the Oxide underlay uses it: version 0, carrying
// Ethernet (0x6558), with Oxide's option class 0x0129 (External, Multicast,
// MSS, as in OPTE's `oxide_vpc::engine::geneve`). Unknown options are
// skipped unless marked critical (RFC 8926 §3.5: then the packet is dropped).

import { ld8, ld16, ld32, st8, st16, st32, zeroBytes, room } from "./bytes";
import { PacketMeta, EtherType } from "./meta";
import { Reason } from "../../abi/reason";

export const GENEVE_HDR_LEN: u32 = 8;
export const GENEVE_PORT: u32 = 6081;
export const GENEVE_OPT_HDR_LEN: u32 = 4;
/** Field offsets (RFC 8926 §3.4): version and option length, O and C flags, protocol type, VNI (24 bits) and a reserved byte. */
export const enum GeneveField { VerOptLen = 0, Flags = 1, Protocol = 2, Vni = 4 }
/** An option TLV's header (RFC 8926 §3.5): class, type (critical bit on top), length in 4-byte words (low 5 bits). */
export const enum GeneveOptField { Class = 0, Type = 2, Len = 3 }
export const GENEVE_FLAG_O: u32 = 1;      // control packet
export const GENEVE_FLAG_C: u32 = 2;      // critical options present
export const GENEVE_OPT_CRITICAL: u32 = 0x80;

export const OXIDE_OPT_CLASS: u32 = 0x0129;
export const OXIDE_OPT_EXTERNAL: u32 = 0x00;   // no body: packet came from / goes to outside the VPC
export const OXIDE_OPT_MULTICAST: u32 = 0x01;  // 4-byte body, replication mode in the top 2 bits
export const OXIDE_OPT_MSS: u32 = 0x02;        // 4-byte body, u32 MSS

/** Where the rack's switches replicate a multicast packet (the Multicast option's top 2 bits). */
export const enum Replication { External = 0, Underlay = 1, Both = 2, Reserved = 3 }

/** Body length an Oxide option must have, or -1 for a type we do not know. */
function oxideBodyLen(type: u32): i32 {
  switch (type) {
    case OXIDE_OPT_EXTERNAL: return 0;
    case OXIDE_OPT_MULTICAST: return 4;
    case OXIDE_OPT_MSS: return 4;
    default: return -1;
  }
}

/** Parse the Geneve header and options at `off`; returns the inner frame offset or -Reason. */
export function parseGeneve(m: PacketMeta, off: u32): i32 {
  const avail = room(m.len, off);
  if (avail < GENEVE_HDR_LEN) return -Reason.Truncated;
  const p = m.base + off;
  const b0 = ld8(p + GeneveField.VerOptLen);
  if ((b0 >> 6) != 0) return -Reason.BadVersion;
  const optLen = (b0 & 0x3f) * 4;
  if (optLen > avail - GENEVE_HDR_LEN) return -Reason.Truncated;
  if (ld16(p + GeneveField.Protocol) != EtherType.TransparentEthernet) return -Reason.BadGeneve;
  const b1 = ld8(p + GeneveField.Flags);
  m.geneve = off;
  m.geneveOptLen = optLen;
  m.geneveFlags = ((b1 >> 7) & 1) | (((b1 >> 6) & 1) << 1);
  m.vni = ld32(p + GeneveField.Vni) >> 8;
  const start = off + GENEVE_HDR_LEN;
  const r = walkOptions(m, start, start + optLen);
  return r < 0 ? r : <i32>(start + optLen);
}

/** Walk the option TLVs in [start, end); returns 0 or -Reason. */
function walkOptions(m: PacketMeta, start: u32, end: u32): i32 {
  let cur = start;
  while (cur < end) {
    const avail = end - cur;
    if (avail < GENEVE_OPT_HDR_LEN) return -Reason.BadGeneve;
    const q = m.base + cur;
    const bodyLen = (ld8(q + GeneveOptField.Len) & 0x1f) * 4;
    if (bodyLen > avail - GENEVE_OPT_HDR_LEN) return -Reason.BadGeneve;
    const r = readOption(m, ld16(q + GeneveOptField.Class), ld8(q + GeneveOptField.Type), q + GENEVE_OPT_HDR_LEN, bodyLen);
    if (r < 0) return r;
    cur += GENEVE_OPT_HDR_LEN + bodyLen;
  }
  return 0;
}

function readOption(m: PacketMeta, cls: u32, type: u32, body: usize, bodyLen: u32): i32 {
  const critical = (type & GENEVE_OPT_CRITICAL) != 0;
  const t = type & ~GENEVE_OPT_CRITICAL;
  const want = cls == OXIDE_OPT_CLASS ? oxideBodyLen(t) : -1;
  if (want < 0) return critical ? -Reason.UnknownCriticalOption : 0;
  if (<u32>want != bodyLen) return -Reason.BadGeneve;
  m.oxideOptions |= 1 << t;
  if (t == OXIDE_OPT_MSS) m.oxideMss = ld32(body);
  return 0;
}

/** Replication mode (top 2 bits) of an Oxide Multicast option body at `body`. */
export function oxideMulticastMode(body: usize): u32 {
  return ld8(body) >> 6;
}

/**
 * Set the replication mode of the Oxide Multicast option body at `body`,
 * keeping its other bits: the switches read it to choose the ports a copy is
 * replicated to (OPTE's xde rewrites it per forwarding next hop).
 */
export function setOxideMulticastMode(body: usize, mode: u32): void {
  st8(body, (ld8(body) & 0x3f) | ((mode & 3) << 6));
}

/**
 * The body address of the first Oxide option of `type` in a Geneve header
 * parseGeneve accepted (its TLV lengths are checked), or 0 when absent.
 */
export function findOxideOption(m: PacketMeta, type: u32): usize {
  let cur = m.base + m.geneve + GENEVE_HDR_LEN;
  const end = cur + m.geneveOptLen;
  while (cur < end) {
    const bodyLen = (ld8(cur + GeneveOptField.Len) & 0x1f) * 4;
    if (ld16(cur + GeneveOptField.Class) == OXIDE_OPT_CLASS && (ld8(cur + GeneveOptField.Type) & ~GENEVE_OPT_CRITICAL) == type) return cur + GENEVE_OPT_HDR_LEN;
    cur += GENEVE_OPT_HDR_LEN + bodyLen;
  }
  return 0;
}

/**
 * Write the 8-byte Geneve base header; `flags` as in PacketMeta.geneveFlags.
 * The caller writes `optLenBytes` (a multiple of 4, at most 252) of options after it.
 */
@inline export function emitGeneve(p: usize, vni: u32, optLenBytes: u32, flags: u32): u32 {
  st8(p + GeneveField.VerOptLen, (optLenBytes / 4) & 0x3f);
  st8(p + GeneveField.Flags, ((flags & GENEVE_FLAG_O) << 7) | ((flags & GENEVE_FLAG_C) << 5));
  st16(p + GeneveField.Protocol, EtherType.TransparentEthernet);
  st32(p + GeneveField.Vni, (vni & 0xffffff) << 8);
  return GENEVE_HDR_LEN;
}

/**
 * Write a 4-byte option header followed by `bodyLenBytes` zero bytes the
 * caller may fill; returns the whole option's length.
 */
export function emitGeneveOption(p: usize, cls: u32, type: u32, critical: bool, bodyLenBytes: u32): u32 {
  st16(p + GeneveOptField.Class, cls);
  st8(p + GeneveOptField.Type, (type & 0x7f) | (critical ? GENEVE_OPT_CRITICAL : 0));
  st8(p + GeneveOptField.Len, (bodyLenBytes / 4) & 0x1f);
  zeroBytes(p + GENEVE_OPT_HDR_LEN, bodyLenBytes);
  return GENEVE_OPT_HDR_LEN + bodyLenBytes;
}

/** Oxide External option (no body); returns 4. */
export function emitOxideExternal(p: usize): u32 {
  return emitGeneveOption(p, OXIDE_OPT_CLASS, OXIDE_OPT_EXTERNAL, false, 0);
}

/** Oxide MSS option; returns 8. */
export function emitOxideMss(p: usize, mss: u32): u32 {
  const n = emitGeneveOption(p, OXIDE_OPT_CLASS, OXIDE_OPT_MSS, false, 4);
  st32(p + GENEVE_OPT_HDR_LEN, mss);
  return n;
}

/** Oxide Multicast option with replication `mode` (0..3); returns 8. */
export function emitOxideMulticast(p: usize, mode: u32): u32 {
  const n = emitGeneveOption(p, OXIDE_OPT_CLASS, OXIDE_OPT_MULTICAST, false, 4);
  setOxideMulticastMode(p + GENEVE_OPT_HDR_LEN, mode);
  return n;
}
