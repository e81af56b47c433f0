// parseFrame: one frame's bytes in, PacketMeta filled or a Reason out.
//
// Guest-side frames are Ethernet → ARP | IPv4 | IPv6 → TCP | UDP | ICMP.
// Network-side frames must be the Oxide underlay first: Ethernet → IPv6 →
// UDP/6081 → Geneve → the guest frame, classified on its inner headers as
// OPTE does. L4 checksums are left to the engine, which checks them only
// where a rewrite or a hairpin reply depends on them.

import { PacketMeta, NONE, L3, Proto, EtherType, resetMeta } from "./meta";
import { parseEthernet } from "./ethernet";
import { parseArp } from "./arp";
import { parseIpv4, ipv4HeaderChecksumOk } from "./ipv4";
import { parseIpv6 } from "./ipv6";
import { parseIcmpv4 } from "./icmpv4";
import { parseIcmpv6 } from "./icmpv6";
import { parseTcp } from "./tcp";
import { parseUdp } from "./udp";
import { parseGeneve, GENEVE_PORT } from "./geneve";
import { Reason } from "../../abi/reason";

/** Parse the frame at `base`; returns Reason.None (0) or why it was rejected. */
export function parseFrame(m: PacketMeta, base: usize, len: u32, expectEncap: bool): i32 {
  resetMeta(m, base, len);
  let off: i32 = 0;
  if (expectEncap) {
    off = parseUnderlay(m);
    if (off < 0) return -off;
  }
  return parseGuestFrame(m, <u32>off);
}

/** Outer Ethernet/IPv6/UDP/Geneve; returns the inner frame offset or -Reason. */
function parseUnderlay(m: PacketMeta): i32 {
  let off = parseEthernet(m, 0);
  if (off < 0) return off;
  if (m.etherType != EtherType.Ipv6) return -Reason.NotEncapsulated;
  off = parseIpv6(m, <u32>off);
  if (off < 0) return off;
  if (m.proto != Proto.Udp) return -Reason.NotEncapsulated;
  if (m.fragOffset != 0 || m.moreFragments != 0) return -Reason.Fragment;
  off = parseUdp(m, <u32>off);
  if (off < 0) return off;
  if (m.dstPort != GENEVE_PORT) return -Reason.NotEncapsulated;
  off = parseGeneve(m, <u32>off);
  if (off < 0) return off;
  moveToOuter(m);
  return off;
}

/** Record the underlay headers in the outer* fields and clear the rest for the inner parse. */
function moveToOuter(m: PacketMeta): void {
  m.encap = 1;
  m.outerEthDst = m.ethDst;
  m.outerEthSrc = m.ethSrc;
  m.outerL3 = m.l3;
  m.outerSrcHi = m.srcHi; m.outerSrcLo = m.srcLo;
  m.outerDstHi = m.dstHi; m.outerDstLo = m.dstLo;
  m.outerHopLimit = m.ttl;
  m.outerL4 = m.l4;
  m.outerUdpSrc = m.srcPort;
  clearInner(m);
}

function clearInner(m: PacketMeta): void {
  const from = offsetof<PacketMeta>("l2");
  memory.fill(changetype<usize>(m) + from, 0, offsetof<PacketMeta>() - from);
  m.l2 = NONE; m.l3 = NONE; m.l4 = NONE; m.payload = NONE;
  m.vlan = NONE; m.icmpId = NONE;
}

function parseGuestFrame(m: PacketMeta, start: u32): i32 {
  const off = parseEthernet(m, start);
  if (off < 0) return -off;
  switch (m.etherType) {
    case EtherType.Arp: {
      const r = parseArp(m, <u32>off);
      return r < 0 ? -r : Reason.None;
    }
    case EtherType.Ipv4: return parseIpv4Packet(m, <u32>off);
    case EtherType.Ipv6: return parseIpv6Packet(m, <u32>off);
    default: return Reason.UnsupportedEtherType;
  }
}

function parseIpv4Packet(m: PacketMeta, off: u32): i32 {
  const l4 = parseIpv4(m, off);
  if (l4 < 0) return -l4;
  if (!ipv4HeaderChecksumOk(m)) return Reason.BadChecksum;
  return parseL4(m, <u32>l4);
}

function parseIpv6Packet(m: PacketMeta, off: u32): i32 {
  const l4 = parseIpv6(m, off);
  if (l4 < 0) return -l4;
  return parseL4(m, <u32>l4);
}

/** Upper layer, unless this is a non-first fragment (no L4 header to read). */
function parseL4(m: PacketMeta, off: u32): i32 {
  if (m.fragOffset != 0) return Reason.None;
  let r: i32 = 0;
  switch (m.proto) {
    case Proto.Tcp: r = parseTcp(m, off); break;
    case Proto.Udp: r = parseUdp(m, off); break;
    case Proto.Icmp: r = m.l3Kind == L3.Ipv4 ? parseIcmpv4(m, off) : 0; break;
    case Proto.Icmpv6: r = m.l3Kind == L3.Ipv6 ? parseIcmpv6(m, off) : 0; break;
    default: break;
  }
  return r < 0 ? -r : Reason.None;
}
