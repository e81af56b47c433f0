// Predicate evaluation: does a rule's list of predicates hold for a packet?
//
// All predicates of a rule must hold (AND); each predicate holds when the
// packet's field matches any of its values (OR), or none of them when the
// predicate is negated. A field the packet does not have (ports of an ARP
// frame, say) matches nothing.

import { PacketMeta, NONE, L3 } from "../packet/meta";
import { ld64 } from "../packet/bytes";
import { Field, ValueKind, fieldKind, valueSize, PRED_HDR_SIZE, PRED_NEGATE } from "./format";
import { targetFind, NO_TARGET } from "../maps/targets";

/** The flow hash of the packet being evaluated (0: not a flow), set by the pipeline. */
export let flowHashForRules: u32 = 0;
export function setFlowHashForRules(h: u32): void { flowHashForRules = h; }

/** The VNI of the port whose rules are evaluated (DstMapped looks up its mapping tables with it). */
let portVniForRules: u32 = 0;
export function setPortVniForRules(vni: u32): void { portVniForRules = vni; }

/** Per-packet metadata registers that rules set (Modify) and match (Meta0..3). */
export const metaRegs: usize = memory.data(16);

// Sentinel for "the packet has no such field".
const ABSENT: u64 = 0xffffffffffffffff;

@inline function hasPorts(m: PacketMeta): bool {
  return m.l4 != NONE && (m.proto == 6 || m.proto == 17 || ((m.proto == 1 || m.proto == 58) && m.icmpId != NONE));
}

function numericField(m: PacketMeta, f: u32): u64 {
  switch (f) {
    case Field.EtherType: return m.l2 == NONE ? ABSENT : <u64>m.etherType;
    case Field.IpVersion: return m.l3Kind == L3.Ipv4 ? 4 : m.l3Kind == L3.Ipv6 ? 6 : ABSENT;
    case Field.Proto: return m.l3Kind == L3.Ipv4 || m.l3Kind == L3.Ipv6 ? <u64>m.proto : ABSENT;
    // ICMP echo identifiers count as ports (as in the flow key and NAT).
    case Field.SrcPort: return hasPorts(m) ? <u64>m.srcPort : ABSENT;
    case Field.DstPort: return hasPorts(m) ? <u64>m.dstPort : ABSENT;
    case Field.IcmpType: return m.l4 != NONE && (m.proto == 1 || m.proto == 58) ? <u64>m.icmpType : ABSENT;
    case Field.IcmpCode: return m.l4 != NONE && (m.proto == 1 || m.proto == 58) ? <u64>m.icmpCode : ABSENT;
    case Field.Vni: return m.encap != 0 ? <u64>m.vni : ABSENT;
    case Field.Ttl: return m.l3Kind == L3.Ipv4 || m.l3Kind == L3.Ipv6 ? <u64>m.ttl : ABSENT;
    case Field.ArpOp: return m.l3Kind == L3.Arp ? <u64>m.arpOp : ABSENT;
    case Field.Meta0: return <u64>load<u32>(metaRegs);
    case Field.Meta1: return <u64>load<u32>(metaRegs, 4);
    case Field.Meta2: return <u64>load<u32>(metaRegs, 8);
    case Field.Meta3: return <u64>load<u32>(metaRegs, 12);
    case Field.IsFragment:
      return m.l3Kind == L3.Ipv4 || m.l3Kind == L3.Ipv6 ? <u64>(m.fragOffset != 0 || m.moreFragments != 0 ? 1 : 0) : ABSENT;
    case Field.Vlan: return m.vlan == NONE ? ABSENT : <u64>(m.vlan & 0xfff);
    case Field.FlowHash: return flowHashForRules == 0 ? ABSENT : <u64>flowHashForRules;
    case Field.IpLength:
      return m.l3Kind == L3.Ipv4 || m.l3Kind == L3.Ipv6 ? <u64>(m.l3HdrLen + m.l3PayloadLen) : ABSENT;
  }
  return ABSENT;
}

function macField(m: PacketMeta, f: u32): u64 {
  if (m.l2 == NONE) return ABSENT;
  return f == Field.EthSrc ? m.ethSrc : m.ethDst;
}

function maskField(m: PacketMeta, f: u32): u64 {
  if (f == Field.TcpFlags) return m.l4 != NONE && m.proto == 6 ? <u64>m.tcpFlags : ABSENT;
  return m.encap != 0 ? <u64>m.oxideOptions : ABSENT;
}

/** Does (hi, lo) fall in the prefix stored at v (16 bytes network order, then length)? */
@inline function inPrefix(hi: u64, lo: u64, v: usize): bool {
  const len = <u32>load<u8>(v + 16);
  const phi = ld64(v), plo = ld64(v + 8);
  if (len == 0) return true;
  if (len <= 64) {
    const mask: u64 = len == 64 ? 0xffffffffffffffff : ~(<u64>0xffffffffffffffff >> len);
    return (hi & mask) == (phi & mask);
  }
  if (hi != phi) return false;
  const l2 = len - 64;
  const mask: u64 = l2 >= 64 ? 0xffffffffffffffff : ~(<u64>0xffffffffffffffff >> l2);
  return (lo & mask) == (plo & mask);
}

function prefixMatchAny(m: PacketMeta, f: u32, vals: usize, count: u32): i32 {
  let hi: u64, lo: u64;
  switch (f) {
    case Field.SrcIp:
      if (m.l3Kind != L3.Ipv4 && m.l3Kind != L3.Ipv6) return -1;
      hi = m.srcHi; lo = m.srcLo; break;
    case Field.DstIp:
      if (m.l3Kind != L3.Ipv4 && m.l3Kind != L3.Ipv6) return -1;
      hi = m.dstHi; lo = m.dstLo; break;
    case Field.ArpTargetIp:
      if (m.l3Kind != L3.Arp) return -1;
      hi = 0; lo = 0x0000ffff00000000 | <u64>m.arpTpa; break;
    case Field.ArpSenderIp:
      if (m.l3Kind != L3.Arp) return -1;
      hi = 0; lo = 0x0000ffff00000000 | <u64>m.arpSpa; break;
    case Field.OuterSrcIp:
      if (m.encap == 0) return -1;
      hi = m.outerSrcHi; lo = m.outerSrcLo; break;
    case Field.OuterDstIp:
      if (m.encap == 0) return -1;
      hi = m.outerDstHi; lo = m.outerDstLo; break;
    case Field.NdpTarget: {
      // ICMPv6 neighbor solicitation (135) or advertisement (136): the target follows 4 reserved bytes
      if (m.l3Kind != L3.Ipv6 || m.proto != 58 || m.l4 == NONE || (m.icmpType != 135 && m.icmpType != 136)) return -1;
      if (<u64>m.l4 + 24 > <u64>m.len) return -1;
      hi = ld64(m.base + m.l4 + 8); lo = ld64(m.base + m.l4 + 16);
      break;
    }
    default: return -1;
  }
  for (let i: u32 = 0; i < count; i++) {
    if (inPrefix(hi, lo, vals + <usize>i * 20)) return 1;
  }
  return 0;
}

/** 1 when the destination has an entry in one of the listed tables under the port's VNI, 0 if not, -1 without an IP header. */
function dstMapped(m: PacketMeta, vals: usize, count: u32): i32 {
  if (m.l3Kind != L3.Ipv4 && m.l3Kind != L3.Ipv6) return -1;
  const port = hasPorts(m) ? m.dstPort : 0;
  for (let j: u32 = 0; j < count; j++) {
    if (targetFind(load<u32>(vals + (<usize>j << 3)), portVniForRules, m.dstHi, m.dstLo, port) != NO_TARGET) return 1;
  }
  return 0;
}

/**
 * Evaluate the predicates starting at `p` (`count` of them, already validated).
 * Returns true when all hold.
 */
export function predicatesHold(m: PacketMeta, p: usize, count: u32): bool {
  let q = p;
  for (let i: u32 = 0; i < count; i++) {
    const f = <u32>load<u8>(q);
    const negate = (<u32>load<u8>(q + 1) & PRED_NEGATE) != 0;
    const n = <u32>load<u16>(q + 2);
    const vals = q + PRED_HDR_SIZE;
    const kind = fieldKind(f);
    let hit: i32 = 0; // 1 match, 0 no match, -1 field absent
    if (kind == ValueKind.Prefix) {
      hit = prefixMatchAny(m, f, vals, n);
    } else if (kind == ValueKind.Mac) {
      const v = macField(m, f);
      if (v == ABSENT) hit = -1;
      else for (let j: u32 = 0; j < n; j++) if (load<u64>(vals + (<usize>j << 3)) == v) { hit = 1; break; }
    } else if (kind == ValueKind.Mask) {
      const v = maskField(m, f);
      if (v == ABSENT) hit = -1;
      else for (let j: u32 = 0; j < n; j++) {
        const mask = <u64>load<u32>(vals + (<usize>j << 3));
        const want = <u64>load<u32>(vals + (<usize>j << 3) + 4);
        if ((v & mask) == want) { hit = 1; break; }
      }
    } else if (f == Field.DstMapped) {
      hit = dstMapped(m, vals, n);
    } else {
      const v = numericField(m, f);
      if (v == ABSENT) hit = -1;
      else for (let j: u32 = 0; j < n; j++) {
        const lo = <u64>load<u32>(vals + (<usize>j << 3));
        const hi = <u64>load<u32>(vals + (<usize>j << 3) + 4);
        if (v >= lo && v <= hi) { hit = 1; break; }
      }
    }
    const holds = negate ? hit != 1 : hit == 1;
    if (!holds) return false;
    q = vals + <usize>n * valueSize(kind);
  }
  return true;
}
