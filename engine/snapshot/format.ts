// The numbers of the snapshot format (docs/snapshot-format.md) that its
// writer (snapshot.ts), reader (read.ts) and checks (check.ts) share.

import { crc32cUpdate } from "./crc32c";

export const SNAP_MAGIC: u32 = 0x53504f57; // "WOPS"
export const SNAP_VERSION: u32 = 2;
// Version 1 (before OPTE's TCP states): read, its TCP states translated, when
// its counters have the layout of the last version-1 build (16 port counters,
// 58 reasons); other version-1 layouts are refused.
export const V1_PORT_COUNTERS: u32 = 16;
export const V1_REASONS: u32 = 58;
export const SNAP_HEADER: u32 = 48;
export const FLAG_INCREMENTAL: u32 = 1;

// flow entry byte 0
export const F_ORIGIN_OUT: u32 = 1;
export const F_V4: u32 = 2;
export const F_OTHER_SHIFT: u32 = 2;   // 2 bits: 0 reverse, 1 source replaced, 2 destination replaced, 3 full key
export const F_NAT: u32 = 16;
export const F_OTHER_INDEXED: u32 = 32;
export const F_ALL: u32 = 63;

// flow entry byte 2: TCP tracking flags
export const T_GUEST_SEQ: u32 = 1; // the guest's last sequence number follows the NAT binding

/**
 * The smallest flow entry: flags, TCP state, TCP flags, class, layer bits,
 * proto+VNI, two ports, two IPv4 addresses, age, idle and four one-byte
 * varints. A header claiming more flows than the body's bytes can hold at
 * this size is refused before any flow is read.
 */
export const MIN_FLOW_ENTRY: u32 = 1 + 1 + 1 + 1 + 4 + 4 + 2 + 2 + 4 + 4 + 4 + 4 + 4;
/** A deletion entry: direction and a whole key. */
export const DELETION_ENTRY: u32 = 41;

/** CRC-32C of the header's first 44 bytes (all but the checksum) and the body. */
export function snapCrc(base: usize, bodyLen: usize): u32 {
  return crc32cUpdate(crc32cUpdate(0, base, 44), base + SNAP_HEADER, bodyLen);
}
