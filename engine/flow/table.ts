// The flow table of one port: a fixed arena of flow records plus two
// open-addressing indexes (one per direction) that map a key hash to a record.
//
// Capacity is fixed when the port is created (RFD 63 "Limits and State": state
// must be bounded). A full table refuses new flows (the caller counts
// Reason.FlowTableFull) while existing flows keep working.
//
// Index slots are u32: the top 11 bits are a tag taken from the key hash (most
// probes of foreign slots end without touching a record) and the low 21 bits
// are record index + 1 (0 = empty). Linear probing, load factor ≤ 1/2,
// deletion by backward shift, so there are no tombstones to age out.

import { KEY_SIZE, keyEquals, keyHash } from "./key";
import { REC_SIZE, R_FLAGS, keyOff, Dir, RF_KEY_IN, RF_KEY_OUT, RF_LIVE } from "./record";

const IDX_BITS: u32 = 21;
const IDX_MASK: u32 = (1 << IDX_BITS) - 1;
export const MAX_FLOWS: u32 = IDX_MASK - 1;
const NIL: u32 = 0xffffffff;

@unmanaged
export class FlowTable {
  records: usize;    // capacity * REC_SIZE bytes
  capacity: u32;
  live: u32;
  freeHead: u32;     // free list threaded through the first u32 of free records
  neverUsed: u32;    // records [neverUsed, capacity) have never been handed out
  idxOut: usize;     // u32 slots
  idxIn: usize;
  mask: u32;         // slots - 1 (same size for both indexes)
  sweepCursor: u32;  // next record index the expiry sweep looks at
}

function nextPow2(v: u32): u32 {
  let p: u32 = 1;
  while (p < v) p <<= 1;
  return p;
}

/** Allocate a flow table for `capacity` flows; returns 0 when memory is short or capacity is out of range. */
export function flowTableNew(capacity: u32): FlowTable | null {
  if (capacity == 0 || capacity > MAX_FLOWS) return null;
  const t = changetype<FlowTable>(heap.alloc(offsetof<FlowTable>()));
  const slots = nextPow2(capacity * 2);
  t.records = heap.alloc(<usize>capacity * REC_SIZE);
  t.idxOut = heap.alloc(<usize>slots << 2);
  t.idxIn = heap.alloc(<usize>slots << 2);
  t.capacity = capacity;
  t.mask = slots - 1;
  flowTableClear(t);
  return t;
}

export function flowTableFree(t: FlowTable): void {
  heap.free(t.records);
  heap.free(t.idxOut);
  heap.free(t.idxIn);
  heap.free(changetype<usize>(t));
}

/** Forget every flow (records are not zeroed; they are rebuilt on allocation). */
export function flowTableClear(t: FlowTable): void {
  memory.fill(t.idxOut, 0, (<usize>t.mask + 1) << 2);
  memory.fill(t.idxIn, 0, (<usize>t.mask + 1) << 2);
  t.live = 0;
  t.freeHead = NIL;
  t.neverUsed = 0;
  t.sweepCursor = 0;
}

@inline export function recordAt(t: FlowTable, idx: u32): usize {
  return t.records + <usize>idx * REC_SIZE;
}
@inline export function recordIndex(t: FlowTable, rec: usize): u32 {
  return <u32>((rec - t.records) / REC_SIZE);
}

/** A zeroed record, or 0 when the table is full. */
export function recordAlloc(t: FlowTable): usize {
  let idx: u32;
  if (t.freeHead != NIL) {
    idx = t.freeHead;
    t.freeHead = load<u32>(recordAt(t, idx));
  } else if (t.neverUsed < t.capacity) {
    idx = t.neverUsed++;
  } else {
    return 0;
  }
  const rec = recordAt(t, idx);
  memory.fill(rec, 0, REC_SIZE);
  store<u8>(rec + R_FLAGS, <u8>RF_LIVE);
  t.live++;
  return rec;
}

/** Return a record to the free list. Its index slots must already be removed. */
export function recordRelease(t: FlowTable, rec: usize): void {
  store<u32>(rec, t.freeHead);
  store<u8>(rec + R_FLAGS, 0);
  t.freeHead = recordIndex(t, rec);
  t.live--;
}

@inline function indexOf(t: FlowTable, dir: u32): usize {
  return dir == Dir.Out ? t.idxOut : t.idxIn;
}

/** Find the record whose `dir` key equals the key at `k` (hash `h`); 0 if none. */
export function flowLookup(t: FlowTable, dir: u32, k: usize, h: u32): usize {
  const idx = indexOf(t, dir);
  const tag = h >> IDX_BITS;
  const kOff = keyOff(dir);
  let i = h & t.mask;
  while (true) {
    const slot = load<u32>(idx + (<usize>i << 2));
    if (slot == 0) return 0;
    if ((slot >> IDX_BITS) == tag) {
      const rec = recordAt(t, (slot & IDX_MASK) - 1);
      if (keyEquals(rec + kOff, k)) return rec;
    }
    i = (i + 1) & t.mask;
  }
  return 0;
}

/**
 * Index `rec` under its `dir` key (already written into the record). Returns
 * false when an equal key is already indexed (caller decides what that means).
 */
export function flowIndexInsert(t: FlowTable, dir: u32, rec: usize): bool {
  const kOff = keyOff(dir);
  const h = keyHash(rec + kOff);
  const idx = indexOf(t, dir);
  const tag = h >> IDX_BITS;
  let i = h & t.mask;
  while (true) {
    const p = idx + (<usize>i << 2);
    const slot = load<u32>(p);
    if (slot == 0) {
      store<u32>(p, (tag << IDX_BITS) | (recordIndex(t, rec) + 1));
      store<u8>(rec + R_FLAGS, load<u8>(rec + R_FLAGS) | <u8>(dir == Dir.Out ? RF_KEY_OUT : RF_KEY_IN));
      return true;
    }
    if ((slot >> IDX_BITS) == tag && keyEquals(recordAt(t, (slot & IDX_MASK) - 1) + kOff, rec + kOff)) {
      return false;
    }
    i = (i + 1) & t.mask;
  }
  return false;
}

/** Remove `rec`'s `dir` key from the index (no-op if not indexed). Backward-shift deletion. */
export function flowIndexRemove(t: FlowTable, dir: u32, rec: usize): void {
  const flag: u8 = <u8>(dir == Dir.Out ? RF_KEY_OUT : RF_KEY_IN);
  const flags = load<u8>(rec + R_FLAGS);
  if ((flags & flag) == 0) return;
  store<u8>(rec + R_FLAGS, flags & ~flag);
  const idx = indexOf(t, dir);
  const want = recordIndex(t, rec) + 1;
  const kOff = keyOff(dir);
  const h = keyHash(rec + kOff); // the key is unchanged since it was indexed
  let i = h & t.mask;
  // find the slot
  while (true) {
    const slot = load<u32>(idx + (<usize>i << 2));
    if (slot == 0) return; // not found: nothing to do
    if ((slot & IDX_MASK) == want) break;
    i = (i + 1) & t.mask;
  }
  // shift following entries back while they are displaced past the hole
  let hole = i;
  let j = (i + 1) & t.mask;
  while (true) {
    const slot = load<u32>(idx + (<usize>j << 2));
    if (slot == 0) break;
    const home = keyHash(recordAt(t, (slot & IDX_MASK) - 1) + kOff) & t.mask;
    // entry at j may move to hole if its home is not in (hole, j] cyclically
    const dist = (j - home) & t.mask;
    const gap = (j - hole) & t.mask;
    if (dist >= gap) {
      store<u32>(idx + (<usize>hole << 2), slot);
      hole = j;
    }
    j = (j + 1) & t.mask;
  }
  store<u32>(idx + (<usize>hole << 2), 0);
}

/** Remove a record entirely: both index entries, then the record itself. */
export function flowRemove(t: FlowTable, rec: usize): void {
  flowIndexRemove(t, Dir.Out, rec);
  flowIndexRemove(t, Dir.In, rec);
  recordRelease(t, rec);
}

/** Bytes of memory the table holds per flow slot (records + both indexes). */
export function flowTableBytesPerFlow(t: FlowTable): u32 {
  const total = <u64>t.capacity * REC_SIZE + ((<u64>t.mask + 1) << 3);
  return <u32>(total / t.capacity);
}

export const KEY_BYTES = KEY_SIZE;
