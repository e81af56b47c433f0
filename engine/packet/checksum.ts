// Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//
// Sums are accumulated over little-endian loaded 16-bit words: the one's
// complement sum is byte-order independent (RFC 1071 §2(B)), so we only swap
// once, at the end, when the folded sum is written back.

/** One's complement sum of `len` bytes at `p`, added to `acc` (not folded). */
export function sumBytes(p: usize, len: usize, acc: u64): u64 {
  let sum = acc;
  let i: usize = 0;
  // 8 bytes at a time into a 64-bit accumulator; carries are folded at the end.
  while (i + 8 <= len) {
    const w = load<u64>(p + i);
    sum += (w & 0xffffffff) + (w >> 32);
    i += 8;
  }
  while (i + 2 <= len) {
    sum += <u64>load<u16>(p + i);
    i += 2;
  }
  if (i < len) sum += <u64>load<u8>(p + i); // odd trailing byte is the high octet on the wire
  return sum;
}

/** Fold a wide sum to 16 bits (still in the little-endian word domain). */
@inline export function fold(sum: u64): u32 {
  let s = sum;
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return <u32>s;
}

/** Final checksum value in network order, ready for st16(). */
@inline export function finish(sum: u64): u32 {
  return bswap<u16>(<u16>(~fold(sum) & 0xffff));
}

/** Sum of a 16-bit value given in network order (as read by ld16). */
@inline export function sumWord(v: u32): u64 { return <u64>bswap<u16>(<u16>v); }

/** Sum of a 32-bit value given in network order. */
@inline export function sumWord32(v: u32): u64 {
  return <u64>bswap<u16>(<u16>(v >> 16)) + <u64>bswap<u16>(<u16>v);
}

/** Sum of a 128-bit address held as (hi, lo) numbers. */
@inline export function sumAddr(hi: u64, lo: u64): u64 {
  return sumWord32(<u32>(hi >> 32)) + sumWord32(<u32>hi) +
         sumWord32(<u32>(lo >> 32)) + sumWord32(<u32>lo);
}

/**
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). `delta` is the precomputed
 * ~m + m' for all rewritten words (see `deltaOf`), so a cached flow applies
 * a constant adjustment without re-reading the old values.
 * `csumNet` is the checksum as read with ld16 (network order value).
 */
@inline export function applyDelta(csumNet: u32, delta: u64): u32 {
  const hcLe = <u64>bswap<u16>(<u16>csumNet);
  const s = (~hcLe & 0xffff) + delta;
  return bswap<u16>(<u16>(~fold(s) & 0xffff));
}

/** Accumulate the delta for replacing 16-bit word `oldV` by `newV` (both network order values). */
@inline export function delta16(oldV: u32, newV: u32): u64 {
  return <u64>(~bswap<u16>(<u16>oldV) & 0xffff) + <u64>bswap<u16>(<u16>newV);
}
@inline export function delta32(oldV: u32, newV: u32): u64 {
  return delta16(oldV >> 16, newV >> 16) + delta16(oldV & 0xffff, newV & 0xffff);
}
export function deltaAddr(oHi: u64, oLo: u64, nHi: u64, nLo: u64): u64 {
  return delta32(<u32>(oHi >> 32), <u32>(nHi >> 32)) + delta32(<u32>oHi, <u32>nHi) +
         delta32(<u32>(oLo >> 32), <u32>(nLo >> 32)) + delta32(<u32>oLo, <u32>nLo);
}
/** Fold a delta to 16 bits so it can be stored compactly (still valid for applyDelta). */
@inline export function foldDelta(delta: u64): u32 { return fold(delta); }
