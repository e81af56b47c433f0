// CRC-32C (Castagnoli, RFC 3720 appendix B.4): the snapshot checksum.
// Slicing-by-8 (eight 256-entry tables, 8 KiB): eight bytes per step, so a
// 1M-flow snapshot's checksum stays a small part of the export.

const tables: usize = memory.data(8 * 1024, 4);
let ready = false;

function init(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82f63b78 ^ (c >> 1) : c >> 1;
    store<u32>(tables + (<usize>n << 2), c);
  }
  for (let t: usize = 1; t < 8; t++) {
    for (let n: usize = 0; n < 256; n++) {
      const prev = load<u32>(tables + ((t - 1) << 10) + (n << 2));
      store<u32>(tables + (t << 10) + (n << 2), load<u32>(tables + (<usize>(prev & 0xff) << 2)) ^ (prev >> 8));
    }
  }
  ready = true;
}

@inline function T(t: usize, b: u32): u32 { return load<u32>(tables + (t << 10) + (<usize>(b & 0xff) << 2)); }

/** Continue a CRC-32C over `len` bytes at `p` (start with crc = 0). */
export function crc32cUpdate(crc: u32, p: usize, len: usize): u32 {
  if (!ready) init();
  let c: u32 = ~crc;
  const end = p + len;
  while (p + 8 <= end) {
    const lo = load<u32>(p) ^ c;
    const hi = load<u32>(p + 4);
    c = T(7, lo) ^ T(6, lo >> 8) ^ T(5, lo >> 16) ^ T(4, lo >> 24) ^
        T(3, hi) ^ T(2, hi >> 8) ^ T(1, hi >> 16) ^ T(0, hi >> 24);
    p += 8;
  }
  while (p < end) { c = T(0, c ^ <u32>load<u8>(p)) ^ (c >> 8); p++; }
  return ~c;
}

export function crc32c(p: usize, len: usize): u32 { return crc32cUpdate(0, p, len); }
