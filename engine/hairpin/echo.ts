// ICMP echo replies from the virtual gateway (RFC 792, RFC 4443 §4.2).
//
// The guest pings its gateway; the engine answers with the same identifier,
// sequence number and data. The reply is built fresh (IPv4 options and IPv6
// extension headers of the request are not carried over).
//
// Params v4 (10 bytes): gateway MAC (6) | gateway IPv4 (4).
// Params v6 (22 bytes): gateway MAC (6) | gateway IPv6 (16); the gateway's
// fe80::/64 EUI-64 address is answered too.

import { PacketMeta, L3, NONE } from "../packet/meta";
import { Reason } from "../../abi/reason";
import { sumBytes, finish } from "../packet/checksum";
import {
  fits, paramFits, requesterMac, emitEthernetTagged, ethLen, emitReplyIpv4, emitIpv6, l4v6Checksum,
  ipv4TotalLen, ipv6TotalLen, eui64, isMulticast6, isUnicast4, LINK_LOCAL_HI, IPV4_HDR_LEN, IPV6_HDR_LEN,
  Proto, ld16, ld32, ld64, ldMac, st8, st16, EtherType,
} from "./common";

export const ECHO4_PARAMS_LEN: u32 = 10;
export const ECHO6_PARAMS_LEN: u32 = 22;

export function buildIcmp4EchoReply(m: PacketMeta, params: usize, paramLen: u32, out: usize, cap: u32): i32 {
  if (!paramFits(paramLen, 0, ECHO4_PARAMS_LEN)) return -Reason.BadLength;
  const gwMac = ldMac(params);
  const gwIp = ld32(params + 6);

  if (m.l3Kind != L3.Ipv4) return -Reason.HairpinFailed;
  const total = ipv4TotalLen(m);
  if (total == 0) return -Reason.BadLength;
  const ip = m.base + m.l3;
  const ihl = (<u32>load<u8>(ip) & 15) << 2;
  if ((ld16(ip + 6) & 0x3fff) != 0) return -Reason.Fragment; // MF or offset: not reassembled
  if (load<u8>(ip + 9) != Proto.Icmp) return -Reason.HairpinFailed;
  const src = ld32(ip + 12);
  const dst = ld32(ip + 16);
  if (dst != gwIp || !isUnicast4(src)) return -Reason.HairpinFailed;
  const icmpLen = total - ihl;
  if (icmpLen < 8) return -Reason.Truncated;
  const icmp = ip + ihl;
  if (load<u8>(icmp) != 8 || load<u8>(icmp + 1) != 0) return -Reason.HairpinFailed;
  const eth = requesterMac(m);
  if (eth == u64.MAX_VALUE) return -Reason.Truncated;

  const need = ethLen(m) + IPV4_HDR_LEN + icmpLen;
  if (need > cap) return -Reason.Truncated;
  const r = out + emitEthernetTagged(out, eth, gwMac, m.vlan, EtherType.Ipv4);
  const ri = r + emitReplyIpv4(r, gwIp, src, Proto.Icmp, 64, icmpLen);
  memory.copy(ri, icmp, icmpLen);
  st8(ri, 0);
  st16(ri + 2, 0);
  st16(ri + 2, finish(sumBytes(ri, icmpLen, 0)));
  return <i32>need;
}

export function buildIcmp6EchoReply(m: PacketMeta, params: usize, paramLen: u32, out: usize, cap: u32): i32 {
  if (!paramFits(paramLen, 0, ECHO6_PARAMS_LEN)) return -Reason.BadLength;
  const gwMac = ldMac(params);
  const gwHi = ld64(params + 6);
  const gwLo = ld64(params + 14);

  if (m.l3Kind != L3.Ipv6) return -Reason.HairpinFailed;
  const total = ipv6TotalLen(m);
  if (total == 0) return -Reason.BadLength;
  if (m.proto != Proto.Icmpv6 || m.l4 == NONE) return -Reason.HairpinFailed;
  const ip = m.base + m.l3;
  const end = m.l3 + total;
  if (m.l4 < m.l3 + IPV6_HDR_LEN || <u64>m.l4 + 8 > <u64>end) return -Reason.Truncated;
  const icmpLen = end - m.l4;
  const icmp = m.base + m.l4;
  if (load<u8>(icmp) != 128 || load<u8>(icmp + 1) != 0) return -Reason.HairpinFailed;
  const sHi = ld64(ip + 8), sLo = ld64(ip + 16);
  const dHi = ld64(ip + 24), dLo = ld64(ip + 32);
  const toGw = (dHi == gwHi && dLo == gwLo) || (dHi == LINK_LOCAL_HI && dLo == eui64(gwMac));
  if (!toGw || isMulticast6(sHi) || (sHi == 0 && sLo == 0)) return -Reason.HairpinFailed;
  const eth = requesterMac(m);
  if (eth == u64.MAX_VALUE) return -Reason.Truncated;

  const need = ethLen(m) + IPV6_HDR_LEN + icmpLen;
  if (need > cap) return -Reason.Truncated;
  const r = out + emitEthernetTagged(out, eth, gwMac, m.vlan, EtherType.Ipv6);
  const ri = r + emitIpv6(r, 0, 0, icmpLen, Proto.Icmpv6, 255, dHi, dLo, sHi, sLo);
  memory.copy(ri, icmp, icmpLen);
  st8(ri, 129);
  st16(ri + 2, 0);
  l4v6Checksum(ri, icmpLen, ri + 2, dHi, dLo, sHi, sLo, Proto.Icmpv6);
  return <i32>need;
}
