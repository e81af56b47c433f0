// ICMP errors sent by the virtual gateway about a guest packet (RFC 792,
// RFC 1812 §4.3.2, RFC 4443 §2.4, §3).
//
// Used when a rule decides the guest's packet cannot be forwarded (no route,
// too big for the path, TTL expired). The error quotes the offending packet:
// IPv4 keeps the whole reply within 576 bytes (RFC 1812 §4.3.2.3: at most
// 548 quoted bytes), IPv6 within the 1280-byte minimum MTU (RFC 4443 §2.4(c)).
// No error is ever sent about an ICMP error, a non-first fragment, or a packet
// from an unspecified / broadcast / multicast source (RFC 1812 §4.3.2.7,
// RFC 4443 §2.4(e)).
//
// Params v4 (16 bytes): gateway MAC (6) | type (1: 3, 11 or 12) | code (1) |
//   gateway IPv4 (4) | param (4: next-hop MTU for 3/4, pointer for 12).
// Params v6 (28 bytes): gateway MAC (6) | type (1: 1..4) | code (1) |
//   gateway IPv6 (16) | param (4: MTU for 2, pointer for 4).

import { PacketMeta, L3, NONE } from "../packet/meta";
import { Reason } from "../../abi/reason";
import { sumBytes, finish } from "../packet/checksum";
import {
  fits, paramFits, requesterMac, emitEthernetTagged, ethLen, emitReplyIpv4, emitIpv6, l4v6Checksum,
  ipv4TotalLen, ipv6TotalLen, isMulticast6, isUnicast4, IPV4_HDR_LEN, IPV6_HDR_LEN, Proto, ld16, ld32, ld64,
  ldMac, st8, st16, st32, EtherType,
} from "./common";

export const ICMP4_ERROR_PARAMS_LEN: u32 = 16;
export const ICMP6_ERROR_PARAMS_LEN: u32 = 28;
const V4_MAX_QUOTE: u32 = 548;
const V6_MAX_QUOTE: u32 = 1280 - IPV6_HDR_LEN - 8;

/** ICMPv4 types that are queries/replies rather than errors (RFC 1812 §4.3.2.7). */
function isIcmp4Query(t: u32): bool {
  return t == 0 || t == 8 || (t >= 13 && t <= 18);
}

export function buildIcmp4Error(m: PacketMeta, params: usize, paramLen: u32, out: usize, cap: u32): i32 {
  if (!paramFits(paramLen, 0, ICMP4_ERROR_PARAMS_LEN)) return -Reason.BadLength;
  const gwMac = ldMac(params);
  const type = <u32>load<u8>(params + 6);
  const code = <u32>load<u8>(params + 7);
  const gwIp = ld32(params + 8);
  const param = ld32(params + 12);
  if (type != 3 && type != 11 && type != 12) return -Reason.BadLength;
  if (type == 3 && code == 4 && (param < 68 || param > 0xffff)) return -Reason.BadLength;
  if (type == 12 && param > 0xff) return -Reason.BadLength;

  if (m.l3Kind != L3.Ipv4) return -Reason.HairpinFailed;
  const total = ipv4TotalLen(m);
  if (total == 0) return -Reason.BadLength;
  const ip = m.base + m.l3;
  const ihl = (<u32>load<u8>(ip) & 15) << 2;
  if ((ld16(ip + 6) & 0x1fff) != 0) return -Reason.Fragment;
  const src = ld32(ip + 12);
  const dst = ld32(ip + 16);
  if (!isUnicast4(src) || dst == 0xffffffff || (dst >> 28) == 0xe) return -Reason.HairpinFailed;
  if (load<u8>(ip + 9) == Proto.Icmp) {
    if (total < ihl + 1) return -Reason.Truncated;
    if (!isIcmp4Query(<u32>load<u8>(ip + ihl))) return -Reason.HairpinFailed; // never an error about an error
  }
  const eth = requesterMac(m);
  if (eth == u64.MAX_VALUE) return -Reason.Truncated;

  const quote = total < V4_MAX_QUOTE ? total : V4_MAX_QUOTE;
  const icmpLen = 8 + quote;
  const need = ethLen(m) + IPV4_HDR_LEN + icmpLen;
  if (need > cap) return -Reason.Truncated;
  const r = out + emitEthernetTagged(out, eth, gwMac, m.vlan, EtherType.Ipv4);
  const e = r + emitReplyIpv4(r, gwIp, src, Proto.Icmp, 64, icmpLen);
  st8(e, type); st8(e + 1, code); st16(e + 2, 0);
  st32(e + 4, 0);
  if (type == 3 && code == 4) st16(e + 6, param);        // RFC 1191 next-hop MTU
  else if (type == 12) st8(e + 4, param);                // pointer
  memory.copy(e + 8, ip, quote);
  st16(e + 2, finish(sumBytes(e, icmpLen, 0)));
  return <i32>need;
}

export function buildIcmp6Error(m: PacketMeta, params: usize, paramLen: u32, out: usize, cap: u32): i32 {
  if (!paramFits(paramLen, 0, ICMP6_ERROR_PARAMS_LEN)) return -Reason.BadLength;
  const gwMac = ldMac(params);
  const type = <u32>load<u8>(params + 6);
  const code = <u32>load<u8>(params + 7);
  const gHi = ld64(params + 8), gLo = ld64(params + 16);
  const param = ld32(params + 24);
  if (type < 1 || type > 4) return -Reason.BadLength;
  if (type == 2 && param < 1280) return -Reason.BadLength;

  if (m.l3Kind != L3.Ipv6) return -Reason.HairpinFailed;
  const total = ipv6TotalLen(m);
  if (total == 0) return -Reason.BadLength;
  const ip = m.base + m.l3;
  const sHi = ld64(ip + 8), sLo = ld64(ip + 16);
  const dHi = ld64(ip + 24);
  if ((sHi == 0 && sLo == 0) || isMulticast6(sHi)) return -Reason.HairpinFailed;
  // §2.4(e.3): only Packet Too Big and unrecognized-option Parameter Problems answer multicast.
  if (isMulticast6(dHi) && type != 2 && !(type == 4 && code == 2)) return -Reason.HairpinFailed;
  if (m.proto == Proto.Icmpv6) {
    if (m.l4 == NONE || !fits(m, m.l4, 1) || m.l4 >= m.l3 + total) return -Reason.Truncated;
    const t = <u32>load<u8>(m.base + m.l4);
    if (t < 128 || t == 137) return -Reason.HairpinFailed; // error or redirect: never answered
  }
  const eth = requesterMac(m);
  if (eth == u64.MAX_VALUE) return -Reason.Truncated;

  const quote = total < V6_MAX_QUOTE ? total : V6_MAX_QUOTE;
  const icmpLen = 8 + quote;
  const need = ethLen(m) + IPV6_HDR_LEN + icmpLen;
  if (need > cap) return -Reason.Truncated;
  const r = out + emitEthernetTagged(out, eth, gwMac, m.vlan, EtherType.Ipv6);
  const e = r + emitIpv6(r, 0, 0, icmpLen, Proto.Icmpv6, 255, gHi, gLo, sHi, sLo);
  st8(e, type); st8(e + 1, code); st16(e + 2, 0);
  st32(e + 4, type == 2 || type == 4 ? param : 0);
  memory.copy(e + 8, ip, quote);
  l4v6Checksum(e, icmpLen, e + 2, gHi, gLo, sHi, sLo, Proto.Icmpv6);
  return <i32>need;
}
