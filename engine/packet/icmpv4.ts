// ICMPv4 (RFC 792). Echo identifiers stand in for ports in flow keys, the
// way OPTE and most NATs treat them.

import { ld8, ld16, st8, st16, room } from "./bytes";
import { PacketMeta, NONE } from "./meta";
import { ipPayloadEnd } from "./l4sum";
import { Reason } from "../../abi/reason";

export const ICMP_HDR_LEN: u32 = 8;
/**
 * Field offsets, ICMPv4 (RFC 792) and ICMPv6 (RFC 4443) alike: type, code,
 * checksum, then four bytes that depend on the type: an echo's identifier and
 * sequence number, the next-hop MTU of a too-big message (at 6 in ICMPv4,
 * 4..8 in ICMPv6), a parameter problem's pointer.
 */
export const enum IcmpField { Type = 0, Code = 1, Checksum = 2, Ident = 4, Seq = 6, Rest = 4 }
export const ICMPV4_ECHO_REPLY: u32 = 0;
export const ICMPV4_ECHO_REQUEST: u32 = 8;

@inline export function isIcmpv4Echo(type: u32): bool {
  return type == ICMPV4_ECHO_REQUEST || type == ICMPV4_ECHO_REPLY;
}

/**
 * Shared by ICMPv4 and ICMPv6: both start type, code, checksum, and echo
 * messages carry identifier and sequence in the next four bytes.
 */
export function parseIcmpCommon(m: PacketMeta, off: u32, isEcho: bool): i32 {
  const end = ipPayloadEnd(m);
  const avail = room(end, off);
  if (avail < ICMP_HDR_LEN) return -Reason.BadIcmp;
  const p = m.base + off;
  m.l4 = off;
  m.l4HdrLen = ICMP_HDR_LEN;
  m.icmpType = ld8(p + IcmpField.Type);
  m.icmpCode = ld8(p + IcmpField.Code);
  m.payload = off + ICMP_HDR_LEN;
  m.payloadLen = avail - ICMP_HDR_LEN;
  if (isEcho) {
    m.icmpId = ld16(p + IcmpField.Ident);
    m.icmpSeq = ld16(p + IcmpField.Seq);
    m.srcPort = m.icmpId;
    m.dstPort = m.icmpId;
  } else {
    m.icmpId = NONE;
  }
  return <i32>(off + ICMP_HDR_LEN);
}

/** Parse an ICMPv4 header at `off`; returns the payload offset or -Reason. */
export function parseIcmpv4(m: PacketMeta, off: u32): i32 {
  if (room(ipPayloadEnd(m), off) < 1) return -Reason.BadIcmp;
  return parseIcmpCommon(m, off, isIcmpv4Echo(ld8(m.base + off + IcmpField.Type)));
}

/** Write an 8-byte ICMP echo header with a zero checksum; returns 8. Used for v4 and v6. */
export function emitIcmpEcho(p: usize, type: u32, code: u32, id: u32, seq: u32): u32 {
  st8(p + IcmpField.Type, type);
  st8(p + IcmpField.Code, code);
  st16(p + IcmpField.Checksum, 0);
  st16(p + IcmpField.Ident, id);
  st16(p + IcmpField.Seq, seq);
  return ICMP_HDR_LEN;
}
