// IP multicast addresses and the Ethernet addresses they map to: IPv4
// groups (224.0.0.0/4) to 01:00:5e plus the group's low 23 bits (RFC 1112
// §6.4), IPv6 groups (ff00::/8) to 33:33 plus the group's last 32 bits
// (RFC 2464 §7). Addresses are the engine's 128-bit pairs (IPv4 mapped).

import { isV4Mapped } from "./bytes";

/** Is (hi, lo) an IPv4 or IPv6 multicast address? */
export function isMulticastIp(hi: u64, lo: u64): bool {
  if (isV4Mapped(hi, lo)) return (<u32>lo >> 28) == 0xe;
  return (hi >> 56) == 0xff;
}

/** The Ethernet group address a multicast IP is sent to (caller checks isMulticastIp). */
export function multicastMac(hi: u64, lo: u64): u64 {
  if (isV4Mapped(hi, lo)) return 0x01005e000000 | (lo & 0x7fffff);
  return ipv6MulticastMac(lo);
}

/** RFC 2464 §7 for an IPv6 group whose low 64 bits are `lo`. */
@inline export function ipv6MulticastMac(lo: u64): u64 {
  return 0x333300000000 | (lo & 0xffffffff);
}
