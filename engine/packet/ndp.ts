// Neighbor Discovery options (RFC 4861 §4.6): the TLVs carried after the
// fixed part of NS/NA/RS/RA messages. Lengths are in units of 8 octets and a
// zero length is invalid (§4.6: "nodes MUST silently discard").

import { ld16, st8, st16, st32, st64, stMac } from "./bytes";

export const enum NdpOption {
  SourceLinkLayer = 1,
  TargetLinkLayer = 2,
  PrefixInfo = 3,
  Mtu = 5,
}

/** Walk the options at `p` (`len` bytes): true when every TLV is well formed and they fill `len` exactly. */
export function ndpOptionsValid(p: usize, len: u32): bool {
  let off: u32 = 0;
  let count: u32 = 0;
  while (off < len) {
    if (off + 2 > len) return false;
    const olen = <u32>load<u8>(p + off + 1) << 3;
    if (olen == 0 || olen > len - off) return false;
    off += olen;
    if (++count > 64) return false;
  }
  return true;
}

/** Offset of the first option of `type` in a validated option area, or -1. */
export function findNdpOption(p: usize, len: u32, type: u32): i32 {
  let off: u32 = 0;
  while (off + 2 <= len) {
    const olen = <u32>load<u8>(p + off + 1) << 3;
    if (olen == 0 || olen > len - off) return -1;
    if (<u32>load<u8>(p + off) == type) return <i32>off;
    off += olen;
  }
  return -1;
}

/** Source/Target Link-Layer Address option for Ethernet (§4.6.1), 8 bytes. */
export function emitLinkLayerOption(p: usize, type: u32, mac: u64): u32 {
  st8(p, type);
  st8(p + 1, 1);
  stMac(p + 2, mac);
  return 8;
}

/** MTU option (§4.6.4), 8 bytes. */
export function emitMtuOption(p: usize, mtu: u32): u32 {
  st8(p, NdpOption.Mtu);
  st8(p + 1, 1);
  st16(p + 2, 0);
  st32(p + 4, mtu);
  return 8;
}

/** Prefix Information option (§4.6.2), 32 bytes. `flags`: L = 0x80, A = 0x40. */
export function emitPrefixOption(p: usize, prefixLen: u32, flags: u32, valid: u32, preferred: u32,
                                 hi: u64, lo: u64): u32 {
  st8(p, NdpOption.PrefixInfo);
  st8(p + 1, 4);
  st8(p + 2, prefixLen);
  st8(p + 3, flags & 0xc0);
  st32(p + 4, valid);
  st32(p + 8, preferred);
  st32(p + 12, 0);
  st64(p + 16, hi);
  st64(p + 24, lo);
  return 32;
}

/** Option length helper for callers reading an option found by `findNdpOption`. */
@inline export function ndpOptionLen(p: usize): u32 { return <u32>load<u8>(p + 1) << 3; }
// ld16 re-export keeps the header view self-contained for callers parsing option bodies.
export { ld16 };
