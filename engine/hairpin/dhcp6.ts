// Stateful DHCPv6 server for the guest's single address (RFC 8415).
//
// SOLICIT → ADVERTISE (→ REPLY with Rapid Commit when the client asked for
// it, §18.3.1), REQUEST / RENEW / REBIND → REPLY, INFORMATION-REQUEST →
// REPLY without addresses. The server DUID is a DUID-LL (§11.4) of the
// gateway MAC; replies come from the gateway's fe80::/64 EUI-64 address, UDP
// 547 → 546, and echo the Client Identifier and the first IA_NA's IAID
// with one IA Address. Messages naming another server are ignored (§16).
//
// Params (32 + 16 * dnsCount bytes, then the extension when flag bit 0 is
//   set): gateway MAC (6) | DNS count ≤ 4 (1) | flags (1) | address (16, ::
//   = none) | preferred lifetime (4) | valid lifetime (4) | DNS servers (16
//   each).
// Extension (program version 4; what OPTE's DhcpCfg adds): FQDN length (1) |
//   the guest's FQDN (one RFC 1035 name, Client FQDN option 39, RFC 4704) |
//   search list length ≤ 1020 (2) | search list (RFC 1035 names, Domain
//   Search List option 24, RFC 3646). Each goes out when the client asks for
//   it (Option Request, or the option itself), as OPTE sends them. The FQDN
//   flags say N (no DNS updates: the server makes none), and O when the
//   client had asked the server to make them (S).

import { PacketMeta, L3, NONE } from "../packet/meta";
import { Reason } from "../../abi/reason";
import {
  Dhcp6Type, Dhcp6Option, DHCP6_HEADER, DHCP6_MAX_DUID,
  dhcp6OptionsValid, dhcp6FindOption, dhcp6OptionLen, emitDhcp6OptionHeader, dhcp6Wants,
} from "../packet/dhcp6";
import { dnsNameLen, dnsNamesValid } from "../packet/dns-name";
import {
  paramFits, requesterMac, emitEthernetTagged, ethLen, emitIpv6, emitUdp, l4v6Checksum, ipv6TotalLen, eui64,
  isMulticast6, LINK_LOCAL_HI, IPV6_HDR_LEN, UDP_HDR_LEN, Proto, ld16, ld32, ld64, ldMac, st8, st16, st32,
  st64, stMac, EtherType,
} from "./common";

export const DHCP6_PARAMS_HEADER: u32 = 32;
/** Params flag: the extension follows the DNS servers (rule program version 4). */
export const DHCP6_PARAMS_EXT: u32 = 1;
const DHCP6_PARAMS_FLAGS: u32 = 7;
const MAX_SEARCH: u32 = 1020;
const FQDN_N: u32 = 0x04, FQDN_O: u32 = 0x02, FQDN_S: u32 = 0x01; // RFC 4704 §4.1
const SERVER_DUID_LEN: u32 = 10; // type 3 (2) | hardware type 1 (2) | MAC (6)

/** True when the Server Identifier option at `p` names this server (DUID-LL of `mac`). */
function isOurServerId(p: usize, mac: u64): bool {
  return dhcp6OptionLen(p) == SERVER_DUID_LEN && ld16(p + 4) == 3 && ld16(p + 6) == 1 && ldMac(p + 8) == mac;
}

export function buildDhcp6(m: PacketMeta, params: usize, paramLen: u32, out: usize, cap: u32): i32 {
  // ---- params
  if (!paramFits(paramLen, 0, DHCP6_PARAMS_HEADER)) return -Reason.BadLength;
  const gwMac = ldMac(params);
  const dnsCount = <u32>load<u8>(params + 6);
  const aHi = ld64(params + 8), aLo = ld64(params + 16);
  const preferred = ld32(params + 24);
  const valid = ld32(params + 28);
  if (dnsCount > 4 || preferred > valid) return -Reason.BadLength;
  if (!paramFits(paramLen, DHCP6_PARAMS_HEADER, dnsCount * 16)) return -Reason.BadLength;
  const haveAddr = aHi != 0 || aLo != 0;

  // ---- params extension: FQDN, search list
  let fqdnLen: u32 = 0, searchLen: u32 = 0;
  let fqdn: usize = 0, search: usize = 0;
  if ((<u32>load<u8>(params + DHCP6_PARAMS_FLAGS) & DHCP6_PARAMS_EXT) != 0) {
    let x = DHCP6_PARAMS_HEADER + dnsCount * 16;
    if (!paramFits(paramLen, x, 1)) return -Reason.BadLength;
    fqdnLen = <u32>load<u8>(params + x);
    fqdn = params + x + 1;
    x += 1 + fqdnLen;
    if (!paramFits(paramLen, x, 2)) return -Reason.BadLength;
    if (fqdnLen > 0 && (dnsNameLen(fqdn, fqdnLen) != fqdnLen || fqdnLen < 2)) return -Reason.BadLength;
    searchLen = ld16(params + x);
    search = params + x + 2;
    if (searchLen > MAX_SEARCH || !paramFits(paramLen, x + 2, searchLen)) return -Reason.BadLength;
    if (searchLen > 0 && !dnsNamesValid(search, searchLen)) return -Reason.BadLength;
  }

  // ---- request: IPv6 / UDP 546 → 547
  if (m.l3Kind != L3.Ipv6) return -Reason.HairpinFailed;
  const total = ipv6TotalLen(m);
  if (total == 0) return -Reason.BadLength;
  if (m.proto != Proto.Udp || m.l4 == NONE) return -Reason.HairpinFailed;
  const end = m.l3 + total;
  if (m.l4 < m.l3 + IPV6_HDR_LEN || <u64>m.l4 + <u64>UDP_HDR_LEN > <u64>end) return -Reason.Truncated;
  const ip = m.base + m.l3;
  const udp = m.base + m.l4;
  if (ld16(udp) != 546 || ld16(udp + 2) != 547) return -Reason.HairpinFailed;
  const udpLen = ld16(udp + 4);
  if (udpLen < UDP_HDR_LEN + DHCP6_HEADER || udpLen > end - m.l4) return -Reason.BadUdp;
  const sHi = ld64(ip + 8), sLo = ld64(ip + 16);
  if (isMulticast6(sHi) || (sHi == 0 && sLo == 0)) return -Reason.HairpinFailed;
  const q = udp + UDP_HDR_LEN;
  const opts = q + DHCP6_HEADER;
  const optLen = udpLen - UDP_HDR_LEN - DHCP6_HEADER;
  if (!dhcp6OptionsValid(opts, optLen)) return -Reason.BadLength;

  const reqType = <u32>load<u8>(q);
  const cid = dhcp6FindOption(opts, optLen, Dhcp6Option.ClientId);
  const sid = dhcp6FindOption(opts, optLen, Dhcp6Option.ServerId);
  const iana = dhcp6FindOption(opts, optLen, Dhcp6Option.IaNa);
  const rapid = dhcp6FindOption(opts, optLen, Dhcp6Option.RapidCommit) >= 0;
  if (cid >= 0) {
    const l = dhcp6OptionLen(opts + cid);
    if (l < 2 || l > DHCP6_MAX_DUID) return -Reason.BadLength;
  }
  if (sid >= 0 && !isOurServerId(opts + sid, gwMac)) return -Reason.HairpinFailed;

  // §16: which messages are answered and what they must carry.
  let replyType: u32 = Dhcp6Type.Reply;
  let withAddr = true;
  let withRapid = false;
  if (reqType == Dhcp6Type.Solicit) {
    if (cid < 0 || sid >= 0) return -Reason.HairpinFailed;
    if (rapid) withRapid = true; else replyType = Dhcp6Type.Advertise;
  } else if (reqType == Dhcp6Type.Request || reqType == Dhcp6Type.Renew) {
    if (cid < 0 || sid < 0) return -Reason.HairpinFailed;
  } else if (reqType == Dhcp6Type.Rebind) {
    if (cid < 0 || sid >= 0) return -Reason.HairpinFailed;
  } else if (reqType == Dhcp6Type.InformationRequest) {
    withAddr = false;
  } else {
    return -Reason.HairpinFailed;
  }
  const ianaLen: u32 = iana >= 0 ? dhcp6OptionLen(opts + iana) : 0;
  if (iana >= 0 && ianaLen < 12) return -Reason.BadLength;
  withAddr = withAddr && iana >= 0 && haveAddr;
  const withSearch = searchLen > 0 && dhcp6Wants(opts, optLen, Dhcp6Option.DomainList);
  const withFqdn = fqdnLen > 0 && dhcp6Wants(opts, optLen, Dhcp6Option.ClientFqdn);
  let fqdnFlags = FQDN_N;
  if (withFqdn) {
    const cf = dhcp6FindOption(opts, optLen, Dhcp6Option.ClientFqdn);
    if (cf >= 0 && dhcp6OptionLen(opts + cf) >= 1 && (<u32>load<u8>(opts + cf + 4) & FQDN_S) != 0) fqdnFlags |= FQDN_O;
  }

  // ---- reply size
  const cidLen: u32 = cid >= 0 ? dhcp6OptionLen(opts + cid) : 0;
  let msgLen: u32 = DHCP6_HEADER + 4 + SERVER_DUID_LEN;
  if (cid >= 0) msgLen += 4 + cidLen;
  if (withRapid) msgLen += 4;
  if (withAddr) msgLen += 4 + 12 + 4 + 24;
  if (dnsCount > 0) msgLen += 4 + 16 * dnsCount;
  if (withSearch) msgLen += 4 + searchLen;
  if (withFqdn) msgLen += 4 + 1 + fqdnLen;
  const need = ethLen(m) + IPV6_HDR_LEN + UDP_HDR_LEN + msgLen;
  if (need > cap) return -Reason.Truncated;
  const eth = requesterMac(m);
  if (eth == u64.MAX_VALUE) return -Reason.Truncated;

  const llLo = eui64(gwMac);
  const r = out + emitEthernetTagged(out, eth, gwMac, m.vlan, EtherType.Ipv6);
  const ru = r + emitIpv6(r, 0, 0, UDP_HDR_LEN + msgLen, Proto.Udp, 255, LINK_LOCAL_HI, llLo, sHi, sLo);
  const d = ru + emitUdp(ru, 547, 546, UDP_HDR_LEN + msgLen);
  st32(d, (replyType << 24) | (ld32(q) & 0xffffff)); // msg-type | transaction-id
  let o = d + DHCP6_HEADER;
  o += emitDhcp6OptionHeader(o, Dhcp6Option.ServerId, SERVER_DUID_LEN);
  st16(o, 3); st16(o + 2, 1); stMac(o + 4, gwMac);
  o += SERVER_DUID_LEN;
  if (cid >= 0) {
    memory.copy(o, opts + cid, 4 + cidLen);
    o += 4 + cidLen;
  }
  if (withRapid) o += emitDhcp6OptionHeader(o, Dhcp6Option.RapidCommit, 0);
  if (withAddr) {
    // §21.4: T1 = 0.5 and T2 = 0.8 of the preferred lifetime (infinity stays infinity).
    const t1 = preferred == 0xffffffff ? preferred : preferred >> 1;
    const t2 = preferred == 0xffffffff ? preferred : <u32>(<u64>preferred * 4 / 5);
    o += emitDhcp6OptionHeader(o, Dhcp6Option.IaNa, 12 + 4 + 24);
    st32(o, ld32(opts + iana + 4)); // IAID
    st32(o + 4, t1);
    st32(o + 8, t2);
    o += 12;
    o += emitDhcp6OptionHeader(o, Dhcp6Option.IaAddr, 24);
    st64(o, aHi); st64(o + 8, aLo);
    st32(o + 16, preferred);
    st32(o + 20, valid);
    o += 24;
  }
  if (dnsCount > 0) {
    o += emitDhcp6OptionHeader(o, Dhcp6Option.DnsServers, 16 * dnsCount);
    memory.copy(o, params + DHCP6_PARAMS_HEADER, 16 * dnsCount);
    o += 16 * dnsCount;
  }
  if (withSearch) {
    o += emitDhcp6OptionHeader(o, Dhcp6Option.DomainList, searchLen);
    memory.copy(o, search, searchLen);
    o += searchLen;
  }
  if (withFqdn) {
    o += emitDhcp6OptionHeader(o, Dhcp6Option.ClientFqdn, 1 + fqdnLen);
    st8(o, fqdnFlags);
    memory.copy(o + 1, fqdn, fqdnLen);
    o += 1 + fqdnLen;
  }
  st16(ru + 6, 0);
  l4v6Checksum(ru, UDP_HDR_LEN + msgLen, ru + 6, LINK_LOCAL_HI, llLo, sHi, sLo, Proto.Udp);
  return <i32>need;
}
