// Scratch space for a snapshot's checks (check.ts): the set of (direction,
// key) pairs its flows would index, and per-pool bitmaps of the SNAT ports
// its flows claim and those a restore frees. A flow table indexes each key
// once per direction and a SNAT port serves one flow; a snapshot that breaks
// either would leave a flow unreachable or two flows answering for one port,
// so both are checked before a port changes.
//
// Set slots are u64: the pair's hash (low half) and 1 + the entry (high
// half), where an entry is the flow's byte offset in the snapshot times two
// plus which of its keys (0 origin, 1 the other). Keys are not copied: a
// hash match decodes the other flow again (read.ts) to compare, which keeps
// the scratch at 16-32 bytes a flow.

import { MAX_POOLS } from "../port";

let slots: usize = 0;
let slotsCap: u32 = 0;   // slots allocated
let mask: u32 = 0;

/** Room for `n` pairs at a load factor of at most one half; the set is emptied. */
export function keySetReset(n: u32): void {
  let want: u32 = 16;
  while (want < n * 2 && want < 0x40000000) want <<= 1;
  if (want > slotsCap) {
    if (slots != 0) heap.free(slots);
    slots = heap.alloc(<usize>want << 3);
    slotsCap = want;
  }
  mask = want - 1;
  memory.fill(slots, 0, <usize>want << 3);
}

/** Give the scratch back (a large snapshot's set should not stay allocated). */
export function keySetRelease(): void {
  if (slots != 0 && slotsCap > 4096) { heap.free(slots); slots = 0; slotsCap = 0; }
}

let probe: u32 = 0;

/** Start looking for hash `h`. */
export function keySetFirst(h: u32): void { probe = h & mask; }

/**
 * The next entry with hash `h` along the probe sequence (its 1-based value),
 * or 0 at the empty slot where `h` would go (then keySetPut stores there).
 */
export function keySetNext(h: u32): u32 {
  while (true) {
    const s = load<u64>(slots + (<usize>probe << 3));
    if (s == 0) return 0;
    probe = (probe + 1) & mask;
    if (<u32>s == h) return <u32>(s >> 32);
  }
  return 0;
}

/** Store `entry` (0-based) with hash `h` in the empty slot keySetNext stopped at. */
export function keySetPut(h: u32, entry: u32): void {
  store<u64>(slots + (<usize>probe << 3), (<u64>(entry + 1) << 32) | <u64>h);
}

// ---- SNAT ports: 8 KiB a pool and map (65,536 ports), claimed then freed
const POOL_BYTES: usize = 8192;
let natMaps: usize = 0;

export function natMapsClear(): void {
  if (natMaps == 0) natMaps = heap.alloc(<usize>MAX_POOLS * POOL_BYTES * 2);
  memory.fill(natMaps, 0, <usize>MAX_POOLS * POOL_BYTES * 2);
}

@inline function bitAt(map: u32, pool: u32, port: u32): usize {
  return natMaps + (<usize>map * MAX_POOLS + pool) * POOL_BYTES + (port >> 3);
}
function test(map: u32, pool: u32, port: u32): bool { return (load<u8>(bitAt(map, pool, port)) & (1 << (port & 7))) != 0; }
function set(map: u32, pool: u32, port: u32): void { const a = bitAt(map, pool, port); store<u8>(a, <u32>load<u8>(a) | (<u32>1 << (port & 7))); }

/** Claim a port for a snapshot flow; false if another of its flows claimed it. */
export function natClaimOnce(pool: u32, port: u32): bool {
  if (test(0, pool, port)) return false;
  set(0, pool, port);
  return true;
}
/** A port the restore frees (a flow of the port it deletes or replaces held it). */
export function natNoteFreed(pool: u32, port: u32): void { if (pool < MAX_POOLS) set(1, pool, port & 0xffff); }
export function natFreed(pool: u32, port: u32): bool { return test(1, pool, port); }
