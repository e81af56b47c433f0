// ICMP errors about a flow ("related" traffic, as conntrack calls it), and
// ICMP errors that belong to no flow but cross a 1:1 NAT.
//
// An ICMP or ICMPv6 error (unreachable, packet too big, time exceeded,
// parameter problem) quotes the start of the packet that caused it. The
// engine finds the flow that packet belongs to, lets the error through that
// flow's stateful layers as one of its replies, and translates the quoted
// header the way the outer one was translated (RFC 5508 §4.2, RFC 3022 §4.3),
// so traceroute and path-MTU discovery work through SNAT and floating IPs. The
// quoted transport checksum is adjusted too when it was quoted, so the guest
// gets back exactly the header it sent.

import { PacketMeta, L3, Proto, NONE } from "../packet/meta";
import { ld16, ld32, ld64, st16, st32, st64 } from "../packet/bytes";
import { sumBytes, finish, delta16, delta32, applyDelta } from "../packet/checksum";
import { ipPayloadEnd, writeL4Checksum } from "../packet/l4sum";
import { K_SRC_HI, K_SRC_LO, K_DST_HI, K_DST_LO, K_SPORT, K_DPORT, K_PROTO_VNI } from "./key";
import { keyOff, LayerBit } from "./record";
import { Mod } from "./xform";

export function isIcmpError(m: PacketMeta): bool {
  if (m.l4 == NONE) return false;
  if (m.l3Kind == L3.Ipv4 && m.proto == Proto.Icmp) {
    const t = m.icmpType;
    return t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
  }
  if (m.l3Kind == L3.Ipv6 && m.proto == Proto.Icmpv6) return m.icmpType >= 1 && m.icmpType <= 4;
  return false;
}

// Where the quoted packet's headers are (offsets from m.base), found by quotedKey.
let qL3: u32 = 0;
let qL4: u32 = 0;
let qV4: bool = false;
let qProto: u32 = 0;
let qHasPorts: bool = false;
let qEcho: bool = false;

/**
 * Write into `k` the key of the flow an error is about, as that flow's
 * packets travel in the error's direction: the quoted packet's 5-tuple,
 * reversed. False when the quote is too short or not TCP/UDP/ICMP echo.
 */
export function quotedKey(m: PacketMeta, k: usize, vni: u32): bool {
  const end = ipPayloadEnd(m);
  const q = m.l4 + 8;
  const base = m.base;
  if (q + 20 > end) return false;
  const v = <u32>load<u8>(base + q) >> 4;
  let l4: u32;
  let sHi: u64 = 0, sLo: u64, dHi: u64 = 0, dLo: u64;
  if (m.l3Kind == L3.Ipv4) {
    if (v != 4) return false;
    const ihl = (<u32>load<u8>(base + q) & 0xf) << 2;
    if (ihl < 20) return false;
    l4 = q + ihl;
    qProto = <u32>load<u8>(base + q + 9);
    sLo = 0x0000ffff00000000 | <u64>ld32(base + q + 12);
    dLo = 0x0000ffff00000000 | <u64>ld32(base + q + 16);
    qV4 = true;
  } else {
    if (v != 6 || q + 40 > end) return false;
    l4 = q + 40;
    qProto = <u32>load<u8>(base + q + 6);
    sHi = ld64(base + q + 8); sLo = ld64(base + q + 16);
    dHi = ld64(base + q + 24); dLo = ld64(base + q + 32);
    qV4 = false;
  }
  if (l4 + 8 > end) return false;
  let sport: u32 = 0, dport: u32 = 0;
  qHasPorts = false; qEcho = false;
  if (qProto == Proto.Tcp || qProto == Proto.Udp) {
    sport = ld16(base + l4); dport = ld16(base + l4 + 2);
    qHasPorts = true;
  } else if (qProto == Proto.Icmp || qProto == Proto.Icmpv6) {
    const t = <u32>load<u8>(base + l4);
    if (!(t == 8 || t == 0 || t == 128 || t == 129)) return false;
    sport = dport = ld16(base + l4 + 4);
    qEcho = true;
  } else {
    return false;
  }
  qL3 = q; qL4 = l4;
  store<u64>(k + K_SRC_HI, dHi); store<u64>(k + K_SRC_LO, dLo);
  store<u64>(k + K_DST_HI, sHi); store<u64>(k + K_DST_LO, sLo);
  store<u16>(k + K_SPORT, <u16>dport);
  store<u16>(k + K_DPORT, <u16>sport);
  store<u32>(k + K_PROTO_VNI, (qProto & 0xff) | (vni << 8));
  return true;
}

function writeQuotedAddr(at: usize, hi: u64, lo: u64): void {
  if (qV4) st32(at, <u32>lo); else { st64(at, hi); st64(at + 8, lo); }
}

/** One's-complement delta of replacing the quoted address at `at` with (hi, lo). */
function quotedAddrDelta(at: usize, hi: u64, lo: u64): u64 {
  if (qV4) return delta32(ld32(at), <u32>lo);
  return delta32(ld32(at), <u32>(hi >> 32)) + delta32(ld32(at + 4), <u32>hi) +
         delta32(ld32(at + 8), <u32>(lo >> 32)) + delta32(ld32(at + 12), <u32>lo);
}

/**
 * After the layers translated an error travelling against its flow's origin,
 * translate the quoted packet too: undo a source NAT on its source, a
 * destination NAT on its destination. Then fix the quoted transport checksum
 * (when quoted), the quoted IPv4 header checksum and the ICMP checksum.
 * `meta` holds the translated outer addresses.
 */
export function translateQuoted(m: PacketMeta, rec: usize, origin: u32, bits: u32): void {
  const base = m.base;
  const ok = rec + keyOff(origin);
  const srcAt = base + qL3 + (qV4 ? 12 : 8);
  const dstAt = base + qL3 + (qV4 ? 16 : 24);
  // the quoted L4 checksum covers the addresses (pseudo header) and the ports
  let l4: u64 = 0;
  if ((bits & LayerBit.SrcNat) != 0) {
    l4 += quotedAddrDelta(srcAt, load<u64>(ok + K_SRC_HI), load<u64>(ok + K_SRC_LO));
    writeQuotedAddr(srcAt, load<u64>(ok + K_SRC_HI), load<u64>(ok + K_SRC_LO));
    const port = <u32>load<u16>(ok + K_SPORT);
    if (qHasPorts) { l4 += delta16(ld16(base + qL4), port); st16(base + qL4, port); }
    else if (qEcho) st16(base + qL4 + 4, port);
  }
  if ((bits & LayerBit.DstNat) != 0) {
    l4 += quotedAddrDelta(dstAt, load<u64>(ok + K_DST_HI), load<u64>(ok + K_DST_LO));
    writeQuotedAddr(dstAt, load<u64>(ok + K_DST_HI), load<u64>(ok + K_DST_LO));
    const port = <u32>load<u16>(ok + K_DPORT);
    if (qHasPorts) { l4 += delta16(ld16(base + qL4 + 2), port); st16(base + qL4 + 2, port); }
    else if (qEcho) st16(base + qL4 + 4, port);
  }
  // UDP's checksum is inside the 8 quoted bytes; TCP's only when more was quoted
  const end = ipPayloadEnd(m);
  const csumAt: u32 = qProto == Proto.Udp ? qL4 + 6 : qProto == Proto.Tcp ? qL4 + 16 : 0;
  if (csumAt != 0 && csumAt + 2 <= end && l4 != 0) {
    const old = ld16(base + csumAt);
    if (!(qProto == Proto.Udp && old == 0)) {
      let v = applyDelta(old, l4);
      if (qProto == Proto.Udp && v == 0) v = 0xffff;
      st16(base + csumAt, v);
    }
  }
  if (qV4) {
    const ihl = (<u32>load<u8>(base + qL3) & 0xf) << 2;
    st16(base + qL3 + 10, 0);
    st16(base + qL3 + 10, finish(sumBytes(base + qL3, ihl, 0)));
  }
  writeL4Checksum(m);
}

/**
 * An ICMP error that belongs to no flow crossed a 1:1 NAT (an ephemeral or
 * floating IP): translate the quote as the outer header was, so no private
 * address leaves the VPC inside an error and an error about the external
 * address reaches the guest about its own (OPTE's IcmpV4Nat/IcmpV6Nat). The
 * quoted packet travelled the other way: an outer source rewritten A → B
 * (`mods` IpSrc) makes a quoted destination A into B; an outer destination
 * rewritten A → B makes a quoted source A into B. Then the quoted transport
 * checksum (when quoted), the quoted IPv4 header checksum and the ICMP
 * checksum are fixed. `orig` holds the outer addresses as they arrived, `m`
 * as they leave.
 */
export function translateQuotedAddrs(m: PacketMeta, orig: PacketMeta, mods: u32): void {
  const end = ipPayloadEnd(m);
  const base = m.base;
  const q = m.l4 + 8;
  if (q + 20 > end) return;
  const v = <u32>load<u8>(base + q) >> 4;
  let l4: u32;
  if (m.l3Kind == L3.Ipv4) {
    const ihl = (<u32>load<u8>(base + q) & 0xf) << 2;
    if (v != 4 || ihl < 20 || q + ihl > end) return;
    qV4 = true;
    qProto = <u32>load<u8>(base + q + 9);
    // only a first fragment quotes a transport header
    l4 = (ld16(base + q + 6) & 0x1fff) == 0 ? q + ihl : end;
  } else {
    if (v != 6 || q + 40 > end) return;
    qV4 = false;
    qProto = <u32>load<u8>(base + q + 6);
    l4 = q + 40;
  }
  const srcAt = base + q + (qV4 ? 12 : 8);
  const dstAt = base + q + (qV4 ? 16 : 24);
  let d: u64 = 0;
  if ((mods & Mod.IpSrc) != 0 && quotedAddrIs(dstAt, orig.srcHi, orig.srcLo)) {
    d += quotedAddrDelta(dstAt, m.srcHi, m.srcLo);
    writeQuotedAddr(dstAt, m.srcHi, m.srcLo);
  }
  if ((mods & Mod.IpDst) != 0 && quotedAddrIs(srcAt, orig.dstHi, orig.dstLo)) {
    d += quotedAddrDelta(srcAt, m.dstHi, m.dstLo);
    writeQuotedAddr(srcAt, m.dstHi, m.dstLo);
  }
  if (d == 0) return;
  // the quoted transport checksum covers the addresses (pseudo header)
  const csumAt: u32 = qProto == Proto.Udp ? l4 + 6 : qProto == Proto.Tcp ? l4 + 16 : end;
  if (csumAt + 2 <= end) {
    const old = ld16(base + csumAt);
    if (!(qProto == Proto.Udp && old == 0)) {
      let c = applyDelta(old, d);
      if (qProto == Proto.Udp && c == 0) c = 0xffff;
      st16(base + csumAt, c);
    }
  }
  if (qV4) {
    const ihl = (<u32>load<u8>(base + q) & 0xf) << 2;
    st16(base + q + 10, 0);
    st16(base + q + 10, finish(sumBytes(base + q, ihl, 0)));
  }
  writeL4Checksum(m);
}

function quotedAddrIs(at: usize, hi: u64, lo: u64): bool {
  if (qV4) return ld32(at) == <u32>lo;
  return ld64(at) == hi && ld64(at + 8) == lo;
}
