// Network-order loads and stores over raw linear memory.
//
// Every header module reads and writes packet bytes through these helpers so
// that byte order is handled in exactly one place. Wasm is little-endian;
// the wire is big-endian (RFC 1700), hence the bswaps.


@inline export function ld8(p: usize): u32 { return <u32>load<u8>(p); }
@inline export function st8(p: usize, v: u32): void { store<u8>(p, <u8>v); }

@inline export function ld16(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p)); }
@inline export function st16(p: usize, v: u32): void { store<u16>(p, bswap<u16>(<u16>v)); }

@inline export function ld32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }
@inline export function st32(p: usize, v: u32): void { store<u32>(p, bswap<u32>(v)); }

@inline export function ld64(p: usize): u64 { return bswap<u64>(load<u64>(p)); }
@inline export function st64(p: usize, v: u64): void { store<u64>(p, bswap<u64>(v)); }

/** A 48-bit MAC address as the low 48 bits of a u64 (first octet most significant). */
@inline export function ldMac(p: usize): u64 {
  return (<u64>ld16(p) << 32) | <u64>ld32(p + 2);
}
@inline export function stMac(p: usize, mac: u64): void {
  st16(p, <u32>(mac >> 32));
  st32(p + 2, <u32>mac);
}

/**
 * IP addresses are held as 128-bit numbers in two u64 halves, most
 * significant first. IPv4 addresses use the IPv4-mapped form ::ffff:a.b.c.d
 * (RFC 4291 §2.5.5.2) so one comparison and prefix path serves both families.
 */
export const V4_MAPPED_HI: u64 = 0;
export const V4_MAPPED_LO_TAG: u64 = 0x0000ffff_00000000;

@inline export function v4ToLo(v4: u32): u64 { return V4_MAPPED_LO_TAG | <u64>v4; }
@inline export function isV4Mapped(hi: u64, lo: u64): bool {
  return hi == 0 && (lo >> 32) == 0x0000ffff;
}

/** Copy `len` bytes; regions may overlap. */
@inline export function copyBytes(dst: usize, src: usize, len: usize): void {
  memory.copy(dst, src, len);
}
@inline export function zeroBytes(dst: usize, len: usize): void {
  memory.fill(dst, 0, len);
}

/**
 * Bytes available from `off` up to `end`, or 0 when `off` is already past it.
 * Parsers compare this against a header length instead of computing
 * `off + n`, which could wrap for hostile offsets.
 */
@inline export function room(end: u32, off: u32): u32 {
  return off >= end ? 0 : end - off;
}
