// Hairpin replies: packets the engine answers itself on behalf of the
// guest's virtual gateway, as OPTE's ARP / ICMP / NDP / DHCP layers do.
//
// A rule's action names a HairpinKind and carries a params block (layouts
// in docs/hairpin.md, encoders in layers/program/hairpin-params.ts). The
// generator validates the request and the params (both untrusted), writes a
// complete Ethernet frame at `out`, addressed to the requester, and returns
// its length or -Reason. It never allocates and never traps.

import { PacketMeta } from "../packet/meta";
import { Reason } from "../../abi/reason";
import { buildArpReply } from "./arp";
import { buildIcmp4EchoReply, buildIcmp6EchoReply } from "./echo";
import { buildNeighborAdvert, buildRouterAdvert } from "./ndp";
import { buildDhcp4, DHCP4_PARAMS_EXT } from "./dhcp4";
import { buildDhcp6, DHCP6_PARAMS_EXT } from "./dhcp6";
import { buildIcmp4Error, buildIcmp6Error } from "./icmp-error";

export const enum HairpinKind {
  ArpReply = 1,
  Icmp4EchoReply = 2,
  Icmp6EchoReply = 3,
  NdpNeighborAdvert = 4,
  NdpRouterAdvert = 5,
  Dhcp4 = 6,
  Dhcp6 = 7,
  Icmp4Error = 8,
  Icmp6Error = 9,
}

/**
 * The oldest rule-program version whose layers may carry these params: the
 * DHCP extensions (host name, search list, classless routes, FQDN) came
 * with version 4, so an older layer that sets their flag is refused at load
 * rather than answered differently than its version promised.
 */
export function hairpinParamsVersion(kind: u32, params: usize, paramLen: u32): u32 {
  if (kind == HairpinKind.Dhcp4 && paramLen > 27 && (<u32>load<u8>(params + 27) & DHCP4_PARAMS_EXT) != 0) return 4;
  if (kind == HairpinKind.Dhcp6 && paramLen > 7 && (<u32>load<u8>(params + 7) & DHCP6_PARAMS_EXT) != 0) return 4;
  return 1;
}

export function buildHairpin(kind: u32, m: PacketMeta, params: usize, paramLen: u32, out: usize, cap: u32): i32 {
  // The reply must not overlap the request frame (it is built while reading it).
  const reqEnd = <u64>m.base + <u64>m.len;
  const outEnd = <u64>out + <u64>cap;
  if (<u64>out < reqEnd && <u64>m.base < outEnd) return -Reason.HairpinFailed;
  switch (kind) {
    case HairpinKind.ArpReply: return buildArpReply(m, params, paramLen, out, cap);
    case HairpinKind.Icmp4EchoReply: return buildIcmp4EchoReply(m, params, paramLen, out, cap);
    case HairpinKind.Icmp6EchoReply: return buildIcmp6EchoReply(m, params, paramLen, out, cap);
    case HairpinKind.NdpNeighborAdvert: return buildNeighborAdvert(m, params, paramLen, out, cap);
    case HairpinKind.NdpRouterAdvert: return buildRouterAdvert(m, params, paramLen, out, cap);
    case HairpinKind.Dhcp4: return buildDhcp4(m, params, paramLen, out, cap);
    case HairpinKind.Dhcp6: return buildDhcp6(m, params, paramLen, out, cap);
    case HairpinKind.Icmp4Error: return buildIcmp4Error(m, params, paramLen, out, cap);
    case HairpinKind.Icmp6Error: return buildIcmp6Error(m, params, paramLen, out, cap);
    default: return -Reason.HairpinFailed;
  }
}
