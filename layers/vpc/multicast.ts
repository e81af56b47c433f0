// Multicast facts the VPC layers, its config and the sled host share (OPTE's
// oxide-vpc multicast: fleet-wide groups on VNI 77, overlay groups mapped to
// admin-local underlay groups in ff04::/16 by M2P). A group the guests may
// join is any multicast address outside link scope: 224.0.0.0/24 (RFC 5771)
// and IPv6 scopes 0-2 (reserved, interface- and link-local, RFC 4291 §2.7,
// whatever the flags) never leave the guest's link, so they are neither
// routed nor joinable.

import { ip16, isV4, isIP } from "../program/addr.js";

/** The fleet-wide multicast VNI (OPTE's DEFAULT_MULTICAST_VNI). */
export const MULTICAST_VNI = 77;

export const MULTICAST_PREFIXES = ["224.0.0.0/4", "ff00::/8"];
/** Scopes 0-1 (ffX0::/15) and 2 (ffX2::/16) for the flag nibbles RFC 4291 and RFC 3956 allow (0, T, P+T, R+P+T). */
export const LINK_SCOPE_MULTICAST = ["224.0.0.0/24", ...[0, 1, 3, 7].flatMap((f) => [`ff${f}0::/15`, `ff${f}2::/16`])];

/** Where IGMPv3 (RFC 3376 §4.2.14) and MLDv2 (RFC 3810 §5.2.14) hosts send their membership reports. */
export const IGMPV3_REPORTS_TO = "224.0.0.22";
export const MLDV2_REPORTS_TO = "ff02::16";
export const IGMP_PROTO = 2;
export const MLDV2_REPORT_TYPE = 143;
/** MLD queries, v1 reports and dones, and v2 reports (RFC 2710, RFC 3810). */
export const MLD_TYPES: [number, number][] = [[130, 132], [143, 143]];

export function isMulticast(ip: string): boolean {
  const b = ip16(ip);
  return isV4(ip) ? (b[12] & 0xf0) === 0xe0 : b[0] === 0xff;
}

/** A group a guest may join and the router forwards: multicast, not link scope. */
export function isRoutableGroup(ip: string): boolean {
  if (!isMulticast(ip)) return false;
  const b = ip16(ip);
  if (isV4(ip)) return !(b[12] === 224 && b[13] === 0 && b[14] === 0);
  return (b[1] & 0x0f) > 2;
}

/** Why `ip` cannot be a group a guest joins or sends to, or undefined when it can. */
export function groupProblem(ip: string): string | undefined {
  if (isIP(ip) === 0) return "expected an IP address";
  if (!isMulticast(ip)) return `${ip} is not a multicast address`;
  if (!isRoutableGroup(ip)) return `${ip} is a link-scope group (224.0.0.0/24, IPv6 scopes 0-2): it never leaves the guest's link`;
  return undefined;
}

/**
 * Why the IP address `ip` cannot be a source in a multicast source filter:
 * senders have unicast addresses, and the special-use ones (unspecified,
 * loopback, broadcast, link-local: RFC 6890) never source routed multicast.
 */
export function sourceProblem(ip: string): string | undefined {
  if (isMulticast(ip)) return `a source is a unicast address, not a group like ${ip}`;
  const b = ip16(ip);
  const special = isV4(ip)
    ? b[12] === 0 || b[12] === 127 || (b[12] === 169 && b[13] === 254) || b.subarray(12).every((x) => x === 255)
    : b.subarray(0, 15).every((x) => x === 0) || (b[0] === 0xfe && (b[1] & 0xc0) === 0x80);
  return special ? `${ip} is a special-use address (unspecified, loopback, broadcast or link-local), not a sender's` : undefined;
}

/** An underlay group M2P may map to: admin-local scope, ff04::/16 (RFC 7346). */
export function isUnderlayGroup(ip: string): boolean {
  if (isV4(ip)) return false;
  const b = ip16(ip);
  return b[0] === 0xff && b[1] === 0x04;
}

const macText = (b: number[]) => b.map((x) => x.toString(16).padStart(2, "0")).join(":");

/** The Ethernet address a group is sent to: 01:00:5e + low 23 bits (RFC 1112 §6.4), 33:33 + last 32 bits (RFC 2464 §7). */
export function groupMac(ip: string): string {
  const b = ip16(ip);
  return isV4(ip) ? macText([0x01, 0x00, 0x5e, b[13] & 0x7f, b[14], b[15]]) : macText([0x33, 0x33, b[12], b[13], b[14], b[15]]);
}
