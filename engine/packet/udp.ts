// UDP header (RFC 768). The length field bounds the payload; IP bytes past
// it are ignored.

import { ld16, st16, room } from "./bytes";
import { PacketMeta } from "./meta";
import { ipPayloadEnd } from "./l4sum";
import { Reason } from "../../abi/reason";

export const UDP_HDR_LEN: u32 = 8;
/** Field offsets (RFC 768). */
export const enum UdpField { SrcPort = 0, DstPort = 2, Length = 4, Checksum = 6 }

/** Parse the UDP header at `off`; returns the payload offset or -Reason. */
export function parseUdp(m: PacketMeta, off: u32): i32 {
  const avail = room(ipPayloadEnd(m), off);
  if (avail < UDP_HDR_LEN) return -Reason.Truncated;
  const p = m.base + off;
  const len = ld16(p + UdpField.Length);
  if (len < UDP_HDR_LEN) return -Reason.BadUdp;
  if (len > avail) return -Reason.BadLength;
  m.l4 = off;
  m.l4HdrLen = UDP_HDR_LEN;
  m.srcPort = ld16(p + UdpField.SrcPort);
  m.dstPort = ld16(p + UdpField.DstPort);
  m.payload = off + UDP_HDR_LEN;
  m.payloadLen = len - UDP_HDR_LEN;
  return <i32>(off + UDP_HDR_LEN);
}

/** Write an 8-byte UDP header with a zero checksum; `length` includes the header. Returns 8. */
@inline export function emitUdp(p: usize, srcPort: u32, dstPort: u32, length: u32): u32 {
  st16(p + UdpField.SrcPort, srcPort);
  st16(p + UdpField.DstPort, dstPort);
  st16(p + UdpField.Length, length);
  st16(p + UdpField.Checksum, 0);
  return UDP_HDR_LEN;
}
