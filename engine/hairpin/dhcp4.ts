// DHCPv4 server for the guest's single address (RFC 2131, options RFC 2132).
//
// DISCOVER → OFFER, REQUEST for the configured address → ACK (for another
// address → NAK; a REQUEST naming another server is ignored), INFORM → ACK
// without lease. Replies go UDP 67 → 68 to 255.255.255.255 when the client
// set the broadcast flag or has no ciaddr (and for every NAK, §4.1), else to
// ciaddr; the Ethernet destination is the client's chaddr.
//
// Params (28 + 4 * dnsCount + domainLen bytes, then the extension when flag
// bit 0 is set): gateway MAC (6) | server IPv4 (4) | client IPv4 (4) |
//   router IPv4 (4, 0 = none) | lease seconds (4) | interface MTU (2, 0 =
//   none) | prefix length (1) | DNS count ≤ 4 (1) | domain name length (1) |
//   flags (1) | DNS servers (4 each) | domain name (ASCII).
// Extension (program version 4; what OPTE's DhcpCfg adds): host name length
//   (1) | host name (ASCII, option 12) | route count ≤ 16 (1) | routes (9
//   each: prefix length, destination, router; option 121, RFC 3442) |
//   search list length ≤ 1020 (2) | search list (RFC 1035 names, option 119,
//   RFC 3397, uncompressed as OPTE sends it, split per RFC 3396).
// OFFER and ACK carry the routes alongside the Router option: a client that
// knows option 121 ignores option 3 (RFC 3442), so the routes must hold the
// default route themselves, as OPTE's do.

import { PacketMeta, L3, NONE } from "../packet/meta";
import { Reason } from "../../abi/reason";
import {
  DHCP4_FIXED, DHCP4_OPTIONS, DHCP4_COOKIE, DHCP4_MIN_MESSAGE, DHCP4_BROADCAST_FLAG,
  Dhcp4Field, Dhcp4Option, Dhcp4Type, dhcp4OptionsValid, dhcp4FindOption, dhcp4OptionLen,
  emitDhcp4Option8, emitDhcp4Option16, emitDhcp4Option32, emitDhcp4OptionBytes, prefixMask4,
  dhcp4LongOptionSize, emitDhcp4LongOption, emitDhcp4ClasslessRoutes, classlessRouteLen, DHCP4_ROUTE_SIZE,
} from "../packet/dhcp4";
import { dnsNamesValid } from "../packet/dns-name";
import {
  paramFits, emitEthernetTagged, ethLen, emitReplyIpv4, emitUdp, udp4Checksum, ipv4TotalLen, IPV4_HDR_LEN,
  UDP_HDR_LEN, Proto, ld16, ld32, ldMac, st8, st16, st32, EtherType,
} from "./common";

export const DHCP4_PARAMS_HEADER: u32 = 28;
/** Params flag: the extension follows the domain name (rule program version 4). */
export const DHCP4_PARAMS_EXT: u32 = 1;
const DHCP4_PARAMS_FLAGS: u32 = 27;
const MAX_ROUTES: u32 = 16;        // 16 × 9 bytes fit one option 121
const MAX_SEARCH: u32 = 1020;      // four options 119

/** True when `n` bytes at `p` are printable ASCII (a host name for option 12). */
function printable(p: usize, n: u32): bool {
  for (let i: u32 = 0; i < n; i++) {
    const c = <u32>load<u8>(p + i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** True when each params route's destination has no bit set past its prefix length (≤ 32). */
function routesValid(p: usize, count: u32): bool {
  for (let i: u32 = 0; i < count; i++) {
    const r = p + i * DHCP4_ROUTE_SIZE;
    const width = <u32>load<u8>(r);
    if (width > 32 || (ld32(r + 1) & ~prefixMask4(width)) != 0) return false;
  }
  return true;
}

export function buildDhcp4(m: PacketMeta, params: usize, paramLen: u32, out: usize, cap: u32): i32 {
  // ---- params
  if (!paramFits(paramLen, 0, DHCP4_PARAMS_HEADER)) return -Reason.BadLength;
  const gwMac = ldMac(params);
  const serverIp = ld32(params + 6);
  const clientIp = ld32(params + 10);
  const router = ld32(params + 14);
  const lease = ld32(params + 18);
  const mtu = ld16(params + 22);
  const prefixLen = <u32>load<u8>(params + 24);
  const dnsCount = <u32>load<u8>(params + 25);
  const domainLen = <u32>load<u8>(params + 26);
  if (prefixLen > 32 || dnsCount > 4 || (mtu != 0 && mtu < 68)) return -Reason.BadLength;
  if (!paramFits(paramLen, DHCP4_PARAMS_HEADER, dnsCount * 4 + domainLen)) return -Reason.BadLength;
  const dns = params + DHCP4_PARAMS_HEADER;
  const domain = dns + dnsCount * 4;

  // ---- params extension: host name, classless routes, search list
  let hostLen: u32 = 0, routeCount: u32 = 0, searchLen: u32 = 0;
  let host: usize = 0, routes: usize = 0, search: usize = 0;
  if ((<u32>load<u8>(params + DHCP4_PARAMS_FLAGS) & DHCP4_PARAMS_EXT) != 0) {
    let x = DHCP4_PARAMS_HEADER + dnsCount * 4 + domainLen;
    if (!paramFits(paramLen, x, 1)) return -Reason.BadLength;
    hostLen = <u32>load<u8>(params + x);
    host = params + x + 1;
    x += 1 + hostLen;
    if (!paramFits(paramLen, x, 1) || !printable(host, hostLen)) return -Reason.BadLength;
    routeCount = <u32>load<u8>(params + x);
    routes = params + x + 1;
    x += 1 + routeCount * DHCP4_ROUTE_SIZE;
    if (routeCount > MAX_ROUTES || !paramFits(paramLen, x, 2) || !routesValid(routes, routeCount)) return -Reason.BadLength;
    searchLen = ld16(params + x);
    search = params + x + 2;
    if (searchLen > MAX_SEARCH || !paramFits(paramLen, x + 2, searchLen)) return -Reason.BadLength;
    if (searchLen > 0 && !dnsNamesValid(search, searchLen)) return -Reason.BadLength;
  }

  // ---- request: IPv4 / UDP 68 → 67 / BOOTREQUEST
  if (m.l3Kind != L3.Ipv4) return -Reason.HairpinFailed;
  const total = ipv4TotalLen(m);
  if (total == 0) return -Reason.BadLength;
  const ip = m.base + m.l3;
  const ihl = (<u32>load<u8>(ip) & 15) << 2;
  if ((ld16(ip + 6) & 0x3fff) != 0) return -Reason.Fragment;
  if (load<u8>(ip + 9) != Proto.Udp) return -Reason.HairpinFailed;
  if (total - ihl < UDP_HDR_LEN) return -Reason.Truncated;
  const udp = ip + ihl;
  if (ld16(udp) != 68 || ld16(udp + 2) != 67) return -Reason.HairpinFailed;
  const udpLen = ld16(udp + 4);
  if (udpLen < UDP_HDR_LEN || udpLen > total - ihl) return -Reason.BadUdp;
  const msgLen = udpLen - UDP_HDR_LEN;
  if (msgLen < DHCP4_OPTIONS) return -Reason.Truncated;
  const q = udp + UDP_HDR_LEN;
  if (load<u8>(q + Dhcp4Field.Op) != 1 || load<u8>(q + Dhcp4Field.Htype) != 1 || load<u8>(q + Dhcp4Field.Hlen) != 6) return -Reason.HairpinFailed;
  if (ld32(q + Dhcp4Field.Cookie) != DHCP4_COOKIE) return -Reason.HairpinFailed;
  const opts = q + DHCP4_OPTIONS;
  const optLen = msgLen - DHCP4_OPTIONS;
  if (!dhcp4OptionsValid(opts, optLen)) return -Reason.BadLength;

  const mt = dhcp4FindOption(opts, optLen, Dhcp4Option.MessageType);
  if (mt < 0 || dhcp4OptionLen(opts + mt) != 1) return -Reason.HairpinFailed;
  const reqType = <u32>load<u8>(opts + mt + 2);
  const ciaddr = ld32(q + Dhcp4Field.Ciaddr);

  let replyType: u32;
  let inform = false;
  if (reqType == Dhcp4Type.Discover) {
    replyType = Dhcp4Type.Offer;
  } else if (reqType == Dhcp4Type.Request) {
    const sid = dhcp4FindOption(opts, optLen, Dhcp4Option.ServerId);
    if (sid >= 0) {
      if (dhcp4OptionLen(opts + sid) != 4) return -Reason.BadLength;
      if (ld32(opts + sid + 2) != serverIp) return -Reason.HairpinFailed; // the client chose another server
    }
    let wanted = ciaddr;
    const rq = dhcp4FindOption(opts, optLen, Dhcp4Option.RequestedIp);
    if (rq >= 0) {
      if (dhcp4OptionLen(opts + rq) != 4) return -Reason.BadLength;
      wanted = ld32(opts + rq + 2);
    }
    replyType = wanted == clientIp ? Dhcp4Type.Ack : Dhcp4Type.Nak;
  } else if (reqType == Dhcp4Type.Inform) {
    replyType = Dhcp4Type.Ack;
    inform = true;
  } else {
    return -Reason.HairpinFailed; // DECLINE / RELEASE / server messages: nothing to send
  }
  const nak = replyType == Dhcp4Type.Nak;
  const full = !nak; // OFFER and ACK carry the configuration

  // ---- reply size
  let optBytes: u32 = 3 + 6 + 1; // message type, server id, end
  if (full) {
    if (!inform) optBytes += 6;   // lease time
    optBytes += 6;                // subnet mask
    if (router != 0) optBytes += 6;
    if (dnsCount > 0) optBytes += 2 + 4 * dnsCount;
    if (mtu != 0) optBytes += 4;
    if (domainLen > 0) optBytes += 2 + domainLen;
    if (hostLen > 0) optBytes += 2 + hostLen;
    if (searchLen > 0) optBytes += dhcp4LongOptionSize(searchLen);
    if (routeCount > 0) {
      optBytes += 2;
      for (let i: u32 = 0; i < routeCount; i++) optBytes += classlessRouteLen(<u32>load<u8>(routes + i * DHCP4_ROUTE_SIZE));
    }
  }
  let dhcpLen = DHCP4_OPTIONS + optBytes;
  if (dhcpLen < DHCP4_MIN_MESSAGE) dhcpLen = DHCP4_MIN_MESSAGE;
  const need = ethLen(m) + IPV4_HDR_LEN + UDP_HDR_LEN + dhcpLen;
  if (need > cap) return -Reason.Truncated;

  // ---- addressing
  const flags = ld16(q + Dhcp4Field.Flags);
  const bcast = nak || (flags & DHCP4_BROADCAST_FLAG) != 0 || ciaddr == 0;
  const ipDst: u32 = bcast ? 0xffffffff : ciaddr;
  const chaddr = ldMac(q + Dhcp4Field.Chaddr);

  const r = out + emitEthernetTagged(out, chaddr, gwMac, m.vlan, EtherType.Ipv4);
  const ru = r + emitReplyIpv4(r, serverIp, ipDst, Proto.Udp, 64, UDP_HDR_LEN + dhcpLen);
  const d = ru + emitUdp(ru, 67, 68, UDP_HDR_LEN + dhcpLen);

  // ---- BOOTREPLY fixed part
  memory.fill(d, 0, dhcpLen);
  st8(d + Dhcp4Field.Op, 2);
  st8(d + Dhcp4Field.Htype, 1);
  st8(d + Dhcp4Field.Hlen, 6);
  st32(d + Dhcp4Field.Xid, ld32(q + Dhcp4Field.Xid));
  st16(d + Dhcp4Field.Flags, flags);
  if (replyType == Dhcp4Type.Ack) st32(d + Dhcp4Field.Ciaddr, ciaddr);
  if (full && !inform) st32(d + Dhcp4Field.Yiaddr, clientIp);
  st32(d + Dhcp4Field.Giaddr, ld32(q + Dhcp4Field.Giaddr));
  memory.copy(d + Dhcp4Field.Chaddr, q + Dhcp4Field.Chaddr, 16);
  st32(d + Dhcp4Field.Cookie, DHCP4_COOKIE);

  // ---- options
  let o = d + DHCP4_OPTIONS;
  o += emitDhcp4Option8(o, Dhcp4Option.MessageType, replyType);
  o += emitDhcp4Option32(o, Dhcp4Option.ServerId, serverIp);
  if (full) {
    if (!inform) o += emitDhcp4Option32(o, Dhcp4Option.LeaseTime, lease);
    o += emitDhcp4Option32(o, Dhcp4Option.SubnetMask, prefixMask4(prefixLen));
    if (router != 0) o += emitDhcp4Option32(o, Dhcp4Option.Router, router);
    if (dnsCount > 0) o += emitDhcp4OptionBytes(o, Dhcp4Option.Dns, dns, 4 * dnsCount);
    if (mtu != 0) o += emitDhcp4Option16(o, Dhcp4Option.InterfaceMtu, mtu);
    if (domainLen > 0) o += emitDhcp4OptionBytes(o, Dhcp4Option.DomainName, domain, domainLen);
    if (hostLen > 0) o += emitDhcp4OptionBytes(o, Dhcp4Option.HostName, host, hostLen);
    if (searchLen > 0) o += emitDhcp4LongOption(o, Dhcp4Option.DomainSearch, search, searchLen);
    if (routeCount > 0) o += emitDhcp4ClasslessRoutes(o, routes, routeCount);
  }
  st8(o, Dhcp4Option.End);

  udp4Checksum(ru, serverIp, ipDst, UDP_HDR_LEN + dhcpLen);
  return <i32>need;
}
