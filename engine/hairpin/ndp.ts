// Neighbor and router discovery for the virtual gateway (RFC 4861).
//
// Neighbor Advertisement: answers a Neighbor Solicitation for the gateway's
// configured IPv6 address or its fe80::/64 EUI-64 link-local address.
// Router Advertisement: answers a Router Solicitation from the link-local
// address with the prefixes the guest should autoconfigure (RFC 4862).
// Requests are validated as §7.1.1 and §6.1.1 require (hop limit 255, code
// 0, checksum, length, well-formed options).
//
// NA params (22 bytes): gateway MAC (6) | gateway IPv6 (16); :: answers for
// any target (proxy NDP, as the gateway host does for its external ranges).
// RA params (16 + 28 * n bytes): gateway MAC (6) | cur hop limit (1) |
//   flags (1: M 0x80, O 0x40) | router lifetime s (2) | MTU (4, 0 = no option) |
//   prefix count n ≤ 4 (1) | reserved (1) | n × { prefix length (1) |
//   flags (1: L 0x80, A 0x40) | reserved (2) | valid lifetime (4) |
//   preferred lifetime (4) | prefix (16) }.

import { PacketMeta, L3, NONE } from "../packet/meta";
import { Reason } from "../../abi/reason";
import { ndpOptionsValid, findNdpOption, emitLinkLayerOption, emitMtuOption, emitPrefixOption, NdpOption } from "../packet/ndp";
import {
  paramFits, requesterMac, emitEthernetTagged, ethLen, emitIpv6, l4v6Checksum, icmp6ChecksumOk, ipv6TotalLen,
  eui64, isMulticast6, LINK_LOCAL_HI, ALL_NODES_HI, ALL_NODES_LO, IPV6_HDR_LEN, Proto, ld32, ld64, ldMac,
  st8, st16, st32, st64, EtherType,
} from "./common";

export const NA_PARAMS_LEN: u32 = 22;
export const RA_PARAMS_HEADER: u32 = 16;
export const RA_PREFIX_LEN: u32 = 28;
export const RA_MAX_PREFIXES: u32 = 4;
const ALL_NODES_MAC: u64 = 0x3333_0000_0001;

/**
 * Common checks on an NDP request: IPv6, ICMPv6 of `type`, code 0, hop limit
 * 255, ICMP length ≥ `minLen`, checksum valid. Returns the ICMP length or -Reason.
 */
function ndpRequest(m: PacketMeta, type: u32, minLen: u32): i32 {
  if (m.l3Kind != L3.Ipv6) return -Reason.HairpinFailed;
  const total = ipv6TotalLen(m);
  if (total == 0) return -Reason.BadLength;
  if (m.proto != Proto.Icmpv6 || m.l4 == NONE) return -Reason.HairpinFailed;
  const ip = m.base + m.l3;
  const end = m.l3 + total;
  if (m.l4 < m.l3 + IPV6_HDR_LEN || <u64>m.l4 + 4 > <u64>end) return -Reason.Truncated;
  const icmp = m.base + m.l4;
  if (<u32>load<u8>(icmp) != type) return -Reason.HairpinFailed;
  const len = end - m.l4;
  if (load<u8>(ip + 7) != 255 || load<u8>(icmp + 1) != 0 || len < minLen) return -Reason.BadIcmp;
  if (!icmp6ChecksumOk(icmp, len, ld64(ip + 8), ld64(ip + 16), ld64(ip + 24), ld64(ip + 32))) return -Reason.BadChecksum;
  if (!ndpOptionsValid(icmp + minLen, len - minLen)) return -Reason.BadIcmp;
  return <i32>len;
}

export function buildNeighborAdvert(m: PacketMeta, params: usize, paramLen: u32, out: usize, cap: u32): i32 {
  if (!paramFits(paramLen, 0, NA_PARAMS_LEN)) return -Reason.BadLength;
  const gwMac = ldMac(params);
  const gwHi = ld64(params + 6), gwLo = ld64(params + 14);

  const len = ndpRequest(m, 135, 24);
  if (len < 0) return len;
  const ip = m.base + m.l3;
  const icmp = m.base + m.l4;
  const sHi = ld64(ip + 8), sLo = ld64(ip + 16);
  const dHi = ld64(ip + 24), dLo = ld64(ip + 32);
  const tHi = ld64(icmp + 8), tLo = ld64(icmp + 16);
  if (isMulticast6(tHi)) return -Reason.BadIcmp;
  const dad = sHi == 0 && sLo == 0;
  if (dad) {
    // §7.1.1: from :: the destination is a solicited-node address and there is no SLLA.
    const solicited = dHi == 0xff02_0000_0000_0000 && (dLo >> 24) == 0x0000_0001_ff;
    if (!solicited || findNdpOption(icmp + 24, <u32>len - 24, NdpOption.SourceLinkLayer) >= 0) return -Reason.BadIcmp;
  } else if (isMulticast6(sHi)) {
    return -Reason.BadIcmp;
  }
  // A gateway address of :: answers for whatever target was asked (proxy NDP):
  // the rule's predicates decide which targets reach this action.
  const proxy = gwHi == 0 && gwLo == 0;
  const isGw = proxy || (tHi == gwHi && tLo == gwLo) || (tHi == LINK_LOCAL_HI && tLo == eui64(gwMac));
  if (!isGw) return -Reason.HairpinFailed;
  // multicast to all-nodes goes to its MAC, 33:33:00:00:00:01 (RFC 2464 §7)
  const eth = dad ? ALL_NODES_MAC : requesterMac(m);
  if (eth == u64.MAX_VALUE) return -Reason.Truncated;

  const naLen: u32 = 32;
  const need = ethLen(m) + IPV6_HDR_LEN + naLen;
  if (need > cap) return -Reason.Truncated;
  // §7.2.4: to a DAD probe the answer goes to all-nodes with S clear.
  const toHi = dad ? ALL_NODES_HI : sHi;
  const toLo = dad ? ALL_NODES_LO : sLo;
  const r = out + emitEthernetTagged(out, eth, gwMac, m.vlan, EtherType.Ipv6);
  const na = r + emitIpv6(r, 0, 0, naLen, Proto.Icmpv6, 255, tHi, tLo, toHi, toLo);
  st8(na, 136); st8(na + 1, 0); st16(na + 2, 0);
  st32(na + 4, dad ? 0xa000_0000 : 0xe000_0000); // R | S | O
  st64(na + 8, tHi); st64(na + 16, tLo);
  emitLinkLayerOption(na + 24, NdpOption.TargetLinkLayer, gwMac);
  l4v6Checksum(na, naLen, na + 2, tHi, tLo, toHi, toLo, Proto.Icmpv6);
  return <i32>need;
}

export function buildRouterAdvert(m: PacketMeta, params: usize, paramLen: u32, out: usize, cap: u32): i32 {
  if (!paramFits(paramLen, 0, RA_PARAMS_HEADER)) return -Reason.BadLength;
  const gwMac = ldMac(params);
  const n = <u32>load<u8>(params + 14);
  if (n > RA_MAX_PREFIXES || !paramFits(paramLen, RA_PARAMS_HEADER, n * RA_PREFIX_LEN)) return -Reason.BadLength;
  for (let i: u32 = 0; i < n; i++) {
    const pp = params + RA_PARAMS_HEADER + i * RA_PREFIX_LEN;
    if (load<u8>(pp) > 128 || ld32(pp + 8) > ld32(pp + 4)) return -Reason.BadLength;
  }
  const mtu = ld32(params + 10);
  if (mtu != 0 && mtu < 1280) return -Reason.BadLength;

  const len = ndpRequest(m, 133, 8);
  if (len < 0) return len;
  const ip = m.base + m.l3;
  const icmp = m.base + m.l4;
  const sHi = ld64(ip + 8), sLo = ld64(ip + 16);
  const unspec = sHi == 0 && sLo == 0;
  if (unspec && findNdpOption(icmp + 8, <u32>len - 8, NdpOption.SourceLinkLayer) >= 0) return -Reason.BadIcmp;
  if (isMulticast6(sHi)) return -Reason.BadIcmp;
  const eth = unspec ? ALL_NODES_MAC : requesterMac(m);
  if (eth == u64.MAX_VALUE) return -Reason.Truncated;

  const raLen: u32 = 16 + 8 + (mtu != 0 ? 8 : 0) + 32 * n;
  const need = ethLen(m) + IPV6_HDR_LEN + raLen;
  if (need > cap) return -Reason.Truncated;
  const llLo = eui64(gwMac);
  const toHi = unspec ? ALL_NODES_HI : sHi;
  const toLo = unspec ? ALL_NODES_LO : sLo;
  const r = out + emitEthernetTagged(out, eth, gwMac, m.vlan, EtherType.Ipv6);
  const ra = r + emitIpv6(r, 0, 0, raLen, Proto.Icmpv6, 255, LINK_LOCAL_HI, llLo, toHi, toLo);
  st8(ra, 134); st8(ra + 1, 0); st16(ra + 2, 0);
  st8(ra + 4, load<u8>(params + 6));
  st8(ra + 5, load<u8>(params + 7) & 0xc0);
  st16(ra + 6, <u32>bswap<u16>(load<u16>(params + 8)));
  st32(ra + 8, 0);   // reachable time: unspecified
  st32(ra + 12, 0);  // retrans timer: unspecified
  let o = ra + 16;
  o += emitLinkLayerOption(o, NdpOption.SourceLinkLayer, gwMac);
  if (mtu != 0) o += emitMtuOption(o, mtu);
  for (let i: u32 = 0; i < n; i++) {
    const pp = params + RA_PARAMS_HEADER + i * RA_PREFIX_LEN;
    o += emitPrefixOption(o, <u32>load<u8>(pp), <u32>load<u8>(pp + 1), ld32(pp + 4), ld32(pp + 8),
                          ld64(pp + 12), ld64(pp + 20));
  }
  l4v6Checksum(ra, raLen, ra + 2, LINK_LOCAL_HI, llLo, toHi, toLo, Proto.Icmpv6);
  return <i32>need;
}
