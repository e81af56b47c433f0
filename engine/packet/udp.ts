// UDP header (RFC 768). The length field bounds the payload; IP bytes past
// it are ignored.

import { ld16, st16, room } from "./bytes";
import { PacketMeta } from "./meta";
import { ipPayloadEnd } from "./l4sum";
import { Reason } from "../../abi/reason";

export const UDP_HDR_LEN: u32 = 8;

/** Parse the UDP header at `off`; returns the payload offset or -Reason. */
export function parseUdp(m: PacketMeta, off: u32): i32 {
  const avail = room(ipPayloadEnd(m), off);
  if (avail < UDP_HDR_LEN) return -Reason.Truncated;
  const p = m.base + off;
  const len = ld16(p + 4);
  if (len < UDP_HDR_LEN) return -Reason.BadUdp;
  if (len > avail) return -Reason.BadLength;
  m.l4 = off;
  m.l4HdrLen = UDP_HDR_LEN;
  m.srcPort = ld16(p);
  m.dstPort = ld16(p + 2);
  m.payload = off + UDP_HDR_LEN;
  m.payloadLen = len - UDP_HDR_LEN;
  return <i32>(off + UDP_HDR_LEN);
}

/** Write an 8-byte UDP header with a zero checksum; `length` includes the header. Returns 8. */
export function emitUdp(p: usize, srcPort: u32, dstPort: u32, length: u32): u32 {
  st16(p, srcPort);
  st16(p + 2, dstPort);
  st16(p + 4, length);
  st16(p + 6, 0);
  return UDP_HDR_LEN;
}
