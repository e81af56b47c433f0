// Applying a composed transformation to a frame's bytes: field rewrites with
// constant checksum adjustments (RFC 1624), then Geneve encapsulation into the
// frame's headroom or decapsulation by moving the frame start.

import { PacketMeta, L3, Proto, EtherType } from "../packet/meta";
import { ld16, st16, st32, st64, stMac, ldMac } from "../packet/bytes";
import { EthField, ETH_HDR_LEN, emitEthernet } from "../packet/ethernet";
import { Ipv4Field } from "../packet/ipv4";
import { Ipv6Field, IPV6_HDR_LEN, emitIpv6 } from "../packet/ipv6";
import { UdpField, UDP_HDR_LEN, emitUdp } from "../packet/udp";
import { TcpField } from "../packet/tcp";
import { IcmpField } from "../packet/icmpv4";
import { delta16, delta32, fold, applyDelta } from "../packet/checksum";
import { Reason } from "../../abi/reason";
import { Port } from "../port";
import { Mod, X_MODS, X_IP_DELTA, X_L4_DELTA, X_SPORT, X_DPORT, X_ETH_SRC, X_ETH_DST, X_IP_HI, X_IP_LO, X_ENCAP } from "./xform";
import { targetDeref, E_ENCAP_VNI, E_UNDERLAY_HI, E_UNDERLAY_LO } from "../maps/targets";
import {
  emitGeneve, emitOxideExternal, emitOxideMss, emitOxideMulticast, Replication, GENEVE_HDR_LEN, GENEVE_PORT,
} from "../packet/geneve";
import { ipv6MulticastMac } from "../packet/multicast";

export const ENCAP_LEN: u32 = ETH_HDR_LEN + IPV6_HDR_LEN + UDP_HDR_LEN + GENEVE_HDR_LEN; // outer headers, Geneve base
export const EXTERNAL_OPTION_LEN: u32 = 4;            // the External option has no body
export const MSS_OPTION_LEN: u32 = 8;                 // MSS and Multicast: 4-byte header + 4-byte body
export const MULTICAST_OPTION_LEN: u32 = 8;
export const UNDERLAY_HOP_LIMIT: u32 = 255;           // as the rack's switch sends it

/** Where the transformed frame starts and how long it is (written by xformApply). */
export const outFrame: usize = memory.data(8);

@inline function hasL4Csum(m: PacketMeta): bool {
  return m.l4 != 0xffffffff && m.fragOffset == 0 &&
    (m.proto == Proto.Tcp || m.proto == Proto.Udp || m.proto == Proto.Icmp || m.proto == Proto.Icmpv6);
}
@inline function pseudoHeaderCovers(m: PacketMeta): bool {
  return m.proto == Proto.Tcp || m.proto == Proto.Udp || m.proto == Proto.Icmpv6;
}
@inline function portsRewritable(m: PacketMeta): bool {
  return m.proto == Proto.Tcp || m.proto == Proto.Udp ||
    ((m.proto == Proto.Icmp || m.proto == Proto.Icmpv6) && m.icmpId != 0xffffffff);
}

/** Addresses' contribution to a checksum delta, for the family of the packet. */
function addrDelta(m: PacketMeta, oHi: u64, oLo: u64, nHi: u64, nLo: u64): u64 {
  if (m.l3Kind == L3.Ipv4) return delta32(<u32>oLo, <u32>nLo);
  return delta32(<u32>(oHi >> 32), <u32>(nHi >> 32)) + delta32(<u32>oHi, <u32>nHi) +
         delta32(<u32>(oLo >> 32), <u32>(nLo >> 32)) + delta32(<u32>oLo, <u32>nLo);
}

/**
 * Compute the IPv4-header and L4 checksum adjustments of transformation `x`
 * for a packet whose original fields are in `m`, and store them in `x`.
 * They stay valid for every packet of the flow: the fields they replace are
 * part of the flow key and so the same in every packet.
 */
export function xformComputeDeltas(x: usize, m: PacketMeta): void {
  const mods = <u32>load<u16>(x + X_MODS);
  let ip: u64 = 0, l4: u64 = 0;
  if (m.l3Kind == L3.Ipv4 || m.l3Kind == L3.Ipv6) {
    const nHi = load<u64>(x + X_IP_HI), nLo = load<u64>(x + X_IP_LO);
    if ((mods & Mod.IpSrc) != 0) {
      const d = addrDelta(m, m.srcHi, m.srcLo, nHi, nLo);
      if (m.l3Kind == L3.Ipv4) ip += d;
      if (pseudoHeaderCovers(m)) l4 += d;
    }
    if ((mods & Mod.IpDst) != 0) {
      const d = addrDelta(m, m.dstHi, m.dstLo, nHi, nLo);
      if (m.l3Kind == L3.Ipv4) ip += d;
      if (pseudoHeaderCovers(m)) l4 += d;
    }
    if ((mods & Mod.TtlDec) != 0 && m.l3Kind == L3.Ipv4) {
      const old = (m.ttl << 8) | m.proto;
      ip += delta16(old, ((m.ttl - 1) << 8) | m.proto);
    }
    if (portsRewritable(m)) {
      if (m.proto == Proto.Tcp || m.proto == Proto.Udp) {
        if ((mods & Mod.Sport) != 0) l4 += delta16(m.srcPort, <u32>load<u16>(x + X_SPORT));
        if ((mods & Mod.Dport) != 0) l4 += delta16(m.dstPort, <u32>load<u16>(x + X_DPORT));
      } else {
        // ICMP echo: one identifier field; a source rewrite applies to requests, a destination rewrite to replies
        if ((mods & Mod.Sport) != 0) l4 += delta16(m.icmpId, <u32>load<u16>(x + X_SPORT));
        else if ((mods & Mod.Dport) != 0) l4 += delta16(m.icmpId, <u32>load<u16>(x + X_DPORT));
      }
    }
  }
  store<u16>(x + X_IP_DELTA, <u16>fold(ip));
  store<u16>(x + X_L4_DELTA, <u16>fold(l4));
}

@inline function writeAddr(m: PacketMeta, at: usize, hi: u64, lo: u64): void {
  if (m.l3Kind == L3.Ipv4) st32(at, <u32>lo);
  else { st64(at, hi); st64(at + 8, lo); }
}

/** Geneve option bytes transformation bits `mods` ask for. */
@inline function encapOptionsLen(mods: u32): u32 {
  return ((mods & Mod.EncapExternal) != 0 ? EXTERNAL_OPTION_LEN : 0) +
    ((mods & Mod.EncapMss) != 0 ? MSS_OPTION_LEN : 0) + ((mods & Mod.EncapMulticast) != 0 ? MULTICAST_OPTION_LEN : 0);
}

/**
 * The largest inner IP packet transformation `x` can carry within the
 * underlay MTU: the outer IPv6 packet is the inner frame plus Geneve, its
 * options, UDP and the IPv6 header (the outer Ethernet header is not counted).
 */
export function encapInnerMtu(x: usize, m: PacketMeta, p: Port): u32 {
  const overhead = ENCAP_LEN - ETH_HDR_LEN + encapOptionsLen(<u32>load<u16>(x + X_MODS)) + m.l3;
  return p.mtu > overhead ? p.mtu - overhead : 0;
}

/**
 * Apply transformation `x` to the frame described by `m`. `headroom` bytes
 * are writable in front of the frame. `hash` is the flow hash (outer UDP
 * source port entropy). On success writes the output frame's start and length
 * to `outFrame` and returns 0; otherwise a Reason.
 */
export function xformApply(x: usize, m: PacketMeta, p: Port, headroom: u32, hash: u32): u32 {
  const mods = <u32>load<u16>(x + X_MODS);
  const base = m.base;
  let start = base;
  let len = m.len;
  // Too big for the underlay: refused before a byte changes, so the guest can
  // be told about the packet it sent (hairpin/too-big.ts).
  const optLen = (mods & Mod.Encap) != 0 ? encapOptionsLen(mods) : 0;
  if ((mods & Mod.Encap) != 0 && ENCAP_LEN + optLen - ETH_HDR_LEN + len > p.mtu) return Reason.TooBig;
  // ---- inner rewrites
  const l2 = base + m.l2;
  if ((mods & Mod.EthSrc) != 0) stMac(l2 + EthField.Src, ldMac(x + X_ETH_SRC));
  if ((mods & Mod.EthDst) != 0) stMac(l2 + EthField.Dst, ldMac(x + X_ETH_DST));
  if ((mods & (Mod.IpSrc | Mod.IpDst | Mod.TtlDec | Mod.Sport | Mod.Dport)) != 0 &&
      (m.l3Kind == L3.Ipv4 || m.l3Kind == L3.Ipv6)) {
    const l3 = base + m.l3;
    const v4 = m.l3Kind == L3.Ipv4;
    const hi = load<u64>(x + X_IP_HI), lo = load<u64>(x + X_IP_LO);
    if ((mods & Mod.IpSrc) != 0) writeAddr(m, l3 + (v4 ? Ipv4Field.Src : Ipv6Field.Src), hi, lo);
    if ((mods & Mod.IpDst) != 0) writeAddr(m, l3 + (v4 ? Ipv4Field.Dst : Ipv6Field.Dst), hi, lo);
    if ((mods & Mod.TtlDec) != 0) {
      const at = l3 + (v4 ? Ipv4Field.Ttl : Ipv6Field.HopLimit);
      store<u8>(at, load<u8>(at) - 1);
    }
    if (v4) {
      const d = <u64>load<u16>(x + X_IP_DELTA);
      if (d != 0) st16(l3 + Ipv4Field.Checksum, applyDelta(ld16(l3 + Ipv4Field.Checksum), d));
    }
    if (hasL4Csum(m)) {
      const l4 = base + m.l4;
      if (portsRewritable(m)) {
        // TCP and UDP ports sit at the same offsets
        if (m.proto == Proto.Tcp || m.proto == Proto.Udp) {
          if ((mods & Mod.Sport) != 0) st16(l4 + TcpField.SrcPort, <u32>load<u16>(x + X_SPORT));
          if ((mods & Mod.Dport) != 0) st16(l4 + TcpField.DstPort, <u32>load<u16>(x + X_DPORT));
        } else if ((mods & Mod.Sport) != 0) st16(l4 + IcmpField.Ident, <u32>load<u16>(x + X_SPORT));
        else if ((mods & Mod.Dport) != 0) st16(l4 + IcmpField.Ident, <u32>load<u16>(x + X_DPORT));
      }
      const d = <u64>load<u16>(x + X_L4_DELTA);
      if (d != 0) {
        const at: usize = l4 + (m.proto == Proto.Tcp ? TcpField.Checksum : m.proto == Proto.Udp ? UdpField.Checksum : IcmpField.Checksum);
        const old = ld16(at);
        // UDP over IPv4 may carry no checksum (0): leave it so
        if (!(m.proto == Proto.Udp && old == 0)) {
          let v = applyDelta(old, d);
          if (m.proto == Proto.Udp && v == 0) v = 0xffff;
          st16(at, v);
        }
      }
    }
  }
  // ---- decapsulation: the inner Ethernet frame becomes the frame
  if ((mods & Mod.Decap) != 0 && m.encap != 0) {
    start = base + m.l2;
    len = m.len - m.l2;
  }
  // ---- encapsulation into the headroom
  if ((mods & Mod.Encap) != 0) {
    const e = targetDeref(load<u32>(x + X_ENCAP));
    if (e == 0) return Reason.NoEncapTarget;
    const encapLen = ENCAP_LEN + optLen;
    if (headroom < encapLen) return Reason.NoHeadroom;
    start -= encapLen;
    const o = start;
    // outer Ethernet: to the next hop, or for an underlay group to its group MAC (RFC 2464 §7)
    const outerDst = (mods & Mod.EncapMulticast) != 0 ? ipv6MulticastMac(load<u64>(e + E_UNDERLAY_LO)) : p.nextHopMac;
    const ip6 = o + emitEthernet(o, outerDst, p.underlayMac, EtherType.Ipv6);
    const udpLen = UDP_HDR_LEN + GENEVE_HDR_LEN + optLen + len;
    const udp = ip6 + emitIpv6(ip6, 0, 0, udpLen, Proto.Udp, UNDERLAY_HOP_LIMIT, p.underlayHi, p.underlayLo,
      load<u64>(e + E_UNDERLAY_HI), load<u64>(e + E_UNDERLAY_LO));
    // outer UDP: source port from the flow hash (ECMP entropy), zero checksum (RFC 6935)
    const g = udp + emitUdp(udp, 0xc000 | (hash & 0x3fff), GENEVE_PORT, udpLen);
    emitGeneve(g, load<u32>(e + E_ENCAP_VNI), optLen, 0);
    let opt = g + GENEVE_HDR_LEN;
    if ((mods & Mod.EncapExternal) != 0) opt += emitOxideExternal(opt);
    // the MSS body stays 0: a host that segments (LSO) writes the guest's MSS there
    if ((mods & Mod.EncapMss) != 0) opt += emitOxideMss(opt, 0);
    // replication starts as External; the host picks the real mode per next hop
    if ((mods & Mod.EncapMulticast) != 0) emitOxideMulticast(opt, Replication.External);
    len += encapLen;
  }
  store<u32>(outFrame, <u32>start);
  store<u32>(outFrame, len, 4);
  return 0;
}
