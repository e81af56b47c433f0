// TCP header (RFC 9293 §3.1). Options are skipped; the connection tracker
// reads flags, sequence and acknowledgment numbers from PacketMeta.

import { ld8, ld16, ld32, st8, st16, st32, room } from "./bytes";
import { PacketMeta } from "./meta";
import { ipPayloadEnd } from "./l4sum";
import { Reason } from "../../abi/reason";

export const TCP_HDR_LEN: u32 = 20;
/** Field offsets (RFC 9293 §3.1); the data offset is the top 4 bits of its byte. */
export const enum TcpField {
  SrcPort = 0, DstPort = 2, Seq = 4, Ack = 8, DataOffset = 12, Flags = 13, Window = 14, Checksum = 16, Urgent = 18,
}

/** Parse the TCP header at `off`; returns the payload offset or -Reason. */
export function parseTcp(m: PacketMeta, off: u32): i32 {
  const avail = room(ipPayloadEnd(m), off);
  if (avail < TCP_HDR_LEN) return -Reason.Truncated;
  const p = m.base + off;
  const hdrLen = (ld8(p + TcpField.DataOffset) >> 4) * 4;
  if (hdrLen < TCP_HDR_LEN) return -Reason.BadHeaderLength;
  if (hdrLen > avail) return -Reason.Truncated;
  m.l4 = off;
  m.l4HdrLen = hdrLen;
  m.srcPort = ld16(p + TcpField.SrcPort);
  m.dstPort = ld16(p + TcpField.DstPort);
  m.tcpSeq = ld32(p + TcpField.Seq);
  m.tcpAck = ld32(p + TcpField.Ack);
  m.tcpFlags = ld8(p + TcpField.Flags);
  m.tcpWindow = ld16(p + TcpField.Window);
  m.payload = off + hdrLen;
  m.payloadLen = avail - hdrLen;
  return <i32>(off + hdrLen);
}

/** Write a 20-byte TCP header (no options, zero checksum and urgent pointer); returns 20. */
export function emitTcp(p: usize, srcPort: u32, dstPort: u32, seq: u32, ack: u32,
                        flags: u32, window: u32): u32 {
  st16(p + TcpField.SrcPort, srcPort);
  st16(p + TcpField.DstPort, dstPort);
  st32(p + TcpField.Seq, seq);
  st32(p + TcpField.Ack, ack);
  st8(p + TcpField.DataOffset, (TCP_HDR_LEN / 4) << 4);
  st8(p + TcpField.Flags, flags);
  st16(p + TcpField.Window, window);
  st16(p + TcpField.Checksum, 0);
  st16(p + TcpField.Urgent, 0);
  return TCP_HDR_LEN;
}
