// The flow key: what identifies one direction of a flow in the flow table.
//
// 40 bytes: source and destination address (128-bit, IPv4-mapped for v4),
// source and destination port (ICMP echo: the identifier in both), IP
// protocol and the 24-bit VNI. Keys are built into static scratch space from
// a parsed packet and compared/hashed as five u64 words.

import { PacketMeta } from "../packet/meta";

export { KEY_SIZE, K_SRC_HI, K_SRC_LO, K_DST_HI, K_DST_LO, K_SPORT, K_DPORT, K_PROTO_VNI } from "../../abi/record";
import { K_SRC_HI, K_SRC_LO, K_DST_HI, K_DST_LO, K_SPORT, K_DPORT, K_PROTO_VNI } from "../../abi/record";

/** Fill the key at `k` from a parsed packet (fields of the inner packet). */
export function keyFromMeta(k: usize, m: PacketMeta, vni: u32): void {
  store<u64>(k + K_SRC_HI, m.srcHi);
  store<u64>(k + K_SRC_LO, m.srcLo);
  store<u64>(k + K_DST_HI, m.dstHi);
  store<u64>(k + K_DST_LO, m.dstLo);
  // Parsers set ports only for TCP, UDP and ICMP echo; otherwise they stay 0.
  store<u16>(k + K_SPORT, <u16>m.srcPort);
  store<u16>(k + K_DPORT, <u16>m.dstPort);
  store<u32>(k + K_PROTO_VNI, (m.proto & 0xff) | (vni << 8));
}

/** Write the key of the opposite direction of `k` into `out`. */
export function keyReverse(out: usize, k: usize): void {
  const sh = load<u64>(k + K_SRC_HI), sl = load<u64>(k + K_SRC_LO);
  store<u64>(out + K_SRC_HI, load<u64>(k + K_DST_HI));
  store<u64>(out + K_SRC_LO, load<u64>(k + K_DST_LO));
  store<u64>(out + K_DST_HI, sh);
  store<u64>(out + K_DST_LO, sl);
  const sp = load<u16>(k + K_SPORT);
  store<u16>(out + K_SPORT, load<u16>(k + K_DPORT));
  store<u16>(out + K_DPORT, sp);
  store<u32>(out + K_PROTO_VNI, load<u32>(k + K_PROTO_VNI));
}

@inline export function keyEquals(a: usize, b: usize): bool {
  return load<u64>(a) == load<u64>(b) &&
    load<u64>(a, 8) == load<u64>(b, 8) &&
    load<u64>(a, 16) == load<u64>(b, 16) &&
    load<u64>(a, 24) == load<u64>(b, 24) &&
    load<u64>(a, 32) == load<u64>(b, 32);
}

@inline export function keyCopy(dst: usize, src: usize): void {
  store<u64>(dst, load<u64>(src));
  store<u64>(dst, load<u64>(src, 8), 8);
  store<u64>(dst, load<u64>(src, 16), 16);
  store<u64>(dst, load<u64>(src, 24), 24);
  store<u64>(dst, load<u64>(src, 32), 32);
}

@inline function mix(h: u64, w: u64): u64 {
  h ^= w;
  h *= 0x9e3779b97f4a7c15;
  return h ^ (h >> 29);
}

/**
 * 32-bit hash of a key. Never 0 (0 marks an empty slot elsewhere). The same
 * hash feeds the outer UDP source port, so ECMP spreads flows (RFC 8926 §3.3).
 */
export function keyHash(k: usize): u32 {
  let h: u64 = 0x243f6a8885a308d3;
  h = mix(h, load<u64>(k));
  h = mix(h, load<u64>(k, 8));
  h = mix(h, load<u64>(k, 16));
  h = mix(h, load<u64>(k, 24));
  h = mix(h, load<u64>(k, 32));
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 32;
  const r = <u32>h;
  return r == 0 ? 1 : r;
}

@inline export function keyProto(k: usize): u32 { return load<u32>(k + K_PROTO_VNI) & 0xff; }
@inline export function keyVni(k: usize): u32 { return load<u32>(k + K_PROTO_VNI) >> 8; }
