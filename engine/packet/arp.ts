// ARP (RFC 826), restricted to Ethernet hardware and IPv4 protocol
// addresses: the only kind a virtual NIC's gateway answers (see hairpin).

import { ld8, ld16, ld32, ldMac, st8, st16, st32, stMac, room } from "./bytes";
import { PacketMeta, L3, EtherType } from "./meta";
import { Reason } from "../../abi/reason";

export const ARP_LEN: u32 = 28;
export const ARP_HTYPE_ETHERNET: u32 = 1;
export const ARP_OP_REQUEST: u32 = 1;
export const ARP_OP_REPLY: u32 = 2;

@inline function isEthernetIpv4(p: usize): bool {
  return ld16(p) == ARP_HTYPE_ETHERNET && ld16(p + 2) == EtherType.Ipv4 &&
         ld8(p + 4) == 6 && ld8(p + 5) == 4;
}

/** Parse an ARP packet at `off`; returns the offset after it or -Reason. */
export function parseArp(m: PacketMeta, off: u32): i32 {
  if (room(m.len, off) < ARP_LEN) return -Reason.Truncated;
  const p = m.base + off;
  if (!isEthernetIpv4(p)) return -Reason.BadArp;
  m.l3 = off;
  m.l3Kind = L3.Arp;
  m.l3HdrLen = ARP_LEN;
  m.l3PayloadLen = 0;
  m.arpOp = ld16(p + 6);
  m.arpSha = ldMac(p + 8);
  m.arpSpa = ld32(p + 14);
  m.arpTha = ldMac(p + 18);
  m.arpTpa = ld32(p + 24);
  return <i32>(off + ARP_LEN);
}

/** Write an Ethernet/IPv4 ARP packet; returns 28. */
export function emitArp(p: usize, op: u32, sha: u64, spa: u32, tha: u64, tpa: u32): u32 {
  st16(p, ARP_HTYPE_ETHERNET);
  st16(p + 2, EtherType.Ipv4);
  st8(p + 4, 6);
  st8(p + 5, 4);
  st16(p + 6, op);
  stMac(p + 8, sha);
  st32(p + 14, spa);
  stMac(p + 18, tha);
  st32(p + 24, tpa);
  return ARP_LEN;
}
