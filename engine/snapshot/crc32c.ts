// CRC-32C (Castagnoli, RFC 3720 appendix B.4): the snapshot checksum.

const table: usize = memory.data(1024);
let ready = false;

function init(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82f63b78 ^ (c >> 1) : c >> 1;
    store<u32>(table + (<usize>n << 2), c);
  }
  ready = true;
}

export function crc32c(p: usize, len: usize): u32 {
  if (!ready) init();
  let c: u32 = 0xffffffff;
  for (let i: usize = 0; i < len; i++) {
    c = load<u32>(table + (<usize>((c ^ <u32>load<u8>(p + i)) & 0xff) << 2)) ^ (c >> 8);
  }
  return c ^ 0xffffffff;
}
