// Packet-layer internals exported for vitest (build/engine-testing.wasm).
//
// Tests write frames into a static scratch buffer, parse them into a static
// PacketMeta and read its fields through the META_* / META64_* offsets below
// (META64_ fields are u64). Wrappers take 64-bit values as u32 halves or as
// pointers to bytes so JS never handles BigInt at the boundary.

import { PacketMeta, META_SIZE } from "../packet/meta";
import { ld64 } from "../packet/bytes";
import { parseFrame } from "../packet/parse";
import { l4ChecksumOk, writeL4Checksum } from "../packet/l4sum";
import { ipv4HeaderChecksumOk, ipv4WriteHeaderChecksum, emitIpv4, IPV4_FLAG_DF } from "../packet/ipv4";
import { emitEthernet, emitEthernetVlan } from "../packet/ethernet";
import { emitArp } from "../packet/arp";
import { emitIpv6 } from "../packet/ipv6";
import { emitTcp } from "../packet/tcp";
import { emitUdp } from "../packet/udp";
import { emitIcmpEcho } from "../packet/icmpv4";
import { emitIcmpv6Echo } from "../packet/icmpv6";
import { emitGeneve, emitGeneveOption, emitOxideExternal, emitOxideMss, emitOxideMulticast } from "../packet/geneve";

export const SCRATCH_LEN: u32 = 65536;
const SCRATCH: usize = memory.data(<i32>SCRATCH_LEN, 16);
const META: PacketMeta = changetype<PacketMeta>(memory.data(<i32>META_SIZE, 16));

export function scratchPtr(): usize { return SCRATCH; }
export function metaPtr(): usize { return changetype<usize>(META); }
export function metaSize(): u32 { return <u32>META_SIZE; }

/** Parse `len` bytes at scratchPtr() into the static meta; returns the Reason. */
export function parseFrameAt(len: u32, expectEncap: bool): u32 {
  if (len > SCRATCH_LEN) len = SCRATCH_LEN;
  return <u32>parseFrame(META, SCRATCH, len, expectEncap);
}

export function l4ChecksumOkAt(): bool { return l4ChecksumOk(META); }
export function writeL4ChecksumAt(): void { writeL4Checksum(META); }
export function ipv4HeaderChecksumOkAt(): bool { return ipv4HeaderChecksumOk(META); }
export function ipv4WriteHeaderChecksumAt(p: usize, hdrLen: u32): void { ipv4WriteHeaderChecksum(p, hdrLen); }

@inline function mac(hi16: u32, lo32: u32): u64 { return (<u64>(hi16 & 0xffff) << 32) | <u64>lo32; }

/** Ethernet header; `vlan` < 0 means untagged. MACs as (top 16 bits, low 32 bits). */
export function emitEthernetAt(p: usize, dstHi: u32, dstLo: u32, srcHi: u32, srcLo: u32,
                               vlan: i32, etherType: u32): u32 {
  if (vlan < 0) return emitEthernet(p, mac(dstHi, dstLo), mac(srcHi, srcLo), etherType);
  return emitEthernetVlan(p, mac(dstHi, dstLo), mac(srcHi, srcLo), <u32>vlan, etherType);
}

export function emitArpAt(p: usize, op: u32, shaHi: u32, shaLo: u32, spa: u32,
                          thaHi: u32, thaLo: u32, tpa: u32): u32 {
  return emitArp(p, op, mac(shaHi, shaLo), spa, mac(thaHi, thaLo), tpa);
}

/** An IPv4 header with DF set, as a guest sends it. */
export function emitIpv4At(p: usize, tos: u32, totalLen: u32, ident: u32, ttl: u32,
                           proto: u32, src: u32, dst: u32): u32 {
  return emitIpv4(p, tos, totalLen, ident, IPV4_FLAG_DF, ttl, proto, src, dst);
}

/** IPv6 fixed header; addresses are read as 16 network-order bytes at `srcPtr` / `dstPtr`. */
export function emitIpv6At(p: usize, tclass: u32, flowLabel: u32, payloadLen: u32, nextHeader: u32,
                           hopLimit: u32, srcPtr: usize, dstPtr: usize): u32 {
  return emitIpv6(p, tclass, flowLabel, payloadLen, nextHeader, hopLimit,
                  ld64(srcPtr), ld64(srcPtr + 8), ld64(dstPtr), ld64(dstPtr + 8));
}

export function emitTcpAt(p: usize, srcPort: u32, dstPort: u32, seq: u32, ack: u32,
                          flags: u32, window: u32): u32 {
  return emitTcp(p, srcPort, dstPort, seq, ack, flags, window);
}
export function emitUdpAt(p: usize, srcPort: u32, dstPort: u32, length: u32): u32 {
  return emitUdp(p, srcPort, dstPort, length);
}
export function emitIcmpEchoAt(p: usize, type: u32, code: u32, id: u32, seq: u32): u32 {
  return emitIcmpEcho(p, type, code, id, seq);
}
export function emitIcmpv6EchoAt(p: usize, type: u32, code: u32, id: u32, seq: u32): u32 {
  return emitIcmpv6Echo(p, type, code, id, seq);
}
export function emitGeneveAt(p: usize, vni: u32, optLenBytes: u32, flags: u32): u32 {
  return emitGeneve(p, vni, optLenBytes, flags);
}
export function emitGeneveOptionAt(p: usize, cls: u32, type: u32, critical: bool, bodyLenBytes: u32): u32 {
  return emitGeneveOption(p, cls, type, critical, bodyLenBytes);
}
export function emitOxideExternalAt(p: usize): u32 { return emitOxideExternal(p); }
export function emitOxideMssAt(p: usize, mss: u32): u32 { return emitOxideMss(p, mss); }
export function emitOxideMulticastAt(p: usize, mode: u32): u32 { return emitOxideMulticast(p, mode); }

// ---- PacketMeta field offsets (generated from meta.ts; META64_ marks u64 fields)
export const META_base: u32 = <u32>offsetof<PacketMeta>("base");
export const META_len: u32 = <u32>offsetof<PacketMeta>("len");
export const META_encap: u32 = <u32>offsetof<PacketMeta>("encap");
export const META_outerL3: u32 = <u32>offsetof<PacketMeta>("outerL3");
export const META_outerL4: u32 = <u32>offsetof<PacketMeta>("outerL4");
export const META_geneve: u32 = <u32>offsetof<PacketMeta>("geneve");
export const META64_outerEthDst: u32 = <u32>offsetof<PacketMeta>("outerEthDst");
export const META64_outerEthSrc: u32 = <u32>offsetof<PacketMeta>("outerEthSrc");
export const META64_outerSrcHi: u32 = <u32>offsetof<PacketMeta>("outerSrcHi");
export const META64_outerSrcLo: u32 = <u32>offsetof<PacketMeta>("outerSrcLo");
export const META64_outerDstHi: u32 = <u32>offsetof<PacketMeta>("outerDstHi");
export const META64_outerDstLo: u32 = <u32>offsetof<PacketMeta>("outerDstLo");
export const META_outerHopLimit: u32 = <u32>offsetof<PacketMeta>("outerHopLimit");
export const META_outerUdpSrc: u32 = <u32>offsetof<PacketMeta>("outerUdpSrc");
export const META_vni: u32 = <u32>offsetof<PacketMeta>("vni");
export const META_geneveOptLen: u32 = <u32>offsetof<PacketMeta>("geneveOptLen");
export const META_geneveFlags: u32 = <u32>offsetof<PacketMeta>("geneveFlags");
export const META_oxideOptions: u32 = <u32>offsetof<PacketMeta>("oxideOptions");
export const META_oxideMss: u32 = <u32>offsetof<PacketMeta>("oxideMss");
export const META_l2: u32 = <u32>offsetof<PacketMeta>("l2");
export const META64_ethDst: u32 = <u32>offsetof<PacketMeta>("ethDst");
export const META64_ethSrc: u32 = <u32>offsetof<PacketMeta>("ethSrc");
export const META_vlan: u32 = <u32>offsetof<PacketMeta>("vlan");
export const META_etherType: u32 = <u32>offsetof<PacketMeta>("etherType");
export const META_l3: u32 = <u32>offsetof<PacketMeta>("l3");
export const META_l3Kind: u32 = <u32>offsetof<PacketMeta>("l3Kind");
export const META_l3HdrLen: u32 = <u32>offsetof<PacketMeta>("l3HdrLen");
export const META_l3PayloadLen: u32 = <u32>offsetof<PacketMeta>("l3PayloadLen");
export const META64_srcHi: u32 = <u32>offsetof<PacketMeta>("srcHi");
export const META64_srcLo: u32 = <u32>offsetof<PacketMeta>("srcLo");
export const META64_dstHi: u32 = <u32>offsetof<PacketMeta>("dstHi");
export const META64_dstLo: u32 = <u32>offsetof<PacketMeta>("dstLo");
export const META_ttl: u32 = <u32>offsetof<PacketMeta>("ttl");
export const META_proto: u32 = <u32>offsetof<PacketMeta>("proto");
export const META_tos: u32 = <u32>offsetof<PacketMeta>("tos");
export const META_flowLabel: u32 = <u32>offsetof<PacketMeta>("flowLabel");
export const META_fragOffset: u32 = <u32>offsetof<PacketMeta>("fragOffset");
export const META_moreFragments: u32 = <u32>offsetof<PacketMeta>("moreFragments");
export const META_ipv6ExtMask: u32 = <u32>offsetof<PacketMeta>("ipv6ExtMask");
export const META_arpOp: u32 = <u32>offsetof<PacketMeta>("arpOp");
export const META64_arpSha: u32 = <u32>offsetof<PacketMeta>("arpSha");
export const META_arpSpa: u32 = <u32>offsetof<PacketMeta>("arpSpa");
export const META64_arpTha: u32 = <u32>offsetof<PacketMeta>("arpTha");
export const META_arpTpa: u32 = <u32>offsetof<PacketMeta>("arpTpa");
export const META_l4: u32 = <u32>offsetof<PacketMeta>("l4");
export const META_l4HdrLen: u32 = <u32>offsetof<PacketMeta>("l4HdrLen");
export const META_srcPort: u32 = <u32>offsetof<PacketMeta>("srcPort");
export const META_dstPort: u32 = <u32>offsetof<PacketMeta>("dstPort");
export const META_tcpFlags: u32 = <u32>offsetof<PacketMeta>("tcpFlags");
export const META_tcpSeq: u32 = <u32>offsetof<PacketMeta>("tcpSeq");
export const META_tcpAck: u32 = <u32>offsetof<PacketMeta>("tcpAck");
export const META_tcpWindow: u32 = <u32>offsetof<PacketMeta>("tcpWindow");
export const META_icmpType: u32 = <u32>offsetof<PacketMeta>("icmpType");
export const META_icmpCode: u32 = <u32>offsetof<PacketMeta>("icmpCode");
export const META_icmpId: u32 = <u32>offsetof<PacketMeta>("icmpId");
export const META_icmpSeq: u32 = <u32>offsetof<PacketMeta>("icmpSeq");
export const META_payload: u32 = <u32>offsetof<PacketMeta>("payload");
export const META_payloadLen: u32 = <u32>offsetof<PacketMeta>("payloadLen");
