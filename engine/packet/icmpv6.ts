// ICMPv6 (RFC 4443). Same layout as ICMPv4 for the parts we read; the
// checksum differs in covering the IPv6 pseudo header (see l4sum.ts).

import { ld8, room } from "./bytes";
import { PacketMeta } from "./meta";
import { ipPayloadEnd } from "./l4sum";
import { parseIcmpCommon, emitIcmpEcho, IcmpField } from "./icmpv4";
import { Reason } from "../../abi/reason";

export const ICMPV6_ECHO_REQUEST: u32 = 128;
export const ICMPV6_ECHO_REPLY: u32 = 129;

@inline export function isIcmpv6Echo(type: u32): bool {
  return type == ICMPV6_ECHO_REQUEST || type == ICMPV6_ECHO_REPLY;
}

/** Parse an ICMPv6 header at `off`; returns the payload offset or -Reason. */
export function parseIcmpv6(m: PacketMeta, off: u32): i32 {
  if (room(ipPayloadEnd(m), off) < 1) return -Reason.BadIcmp;
  return parseIcmpCommon(m, off, isIcmpv6Echo(ld8(m.base + off + IcmpField.Type)));
}

/** Write an 8-byte ICMPv6 echo header with a zero checksum; returns 8. */
export function emitIcmpv6Echo(p: usize, type: u32, code: u32, id: u32, seq: u32): u32 {
  return emitIcmpEcho(p, type, code, id, seq);
}
