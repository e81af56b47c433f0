// The deletion log behind incremental snapshots: a bounded per-port ring of
// the flows removed since the last mark (their origin key and direction), so
// a pre-copy migration's final pass can delete them on the target too. It is
// allocated on the first mark, so only ports being migrated pay for it; when
// it overflows, incremental exports since older marks fail (SnapshotGap) and
// the caller sends a full snapshot instead.

import { keyCopy } from "../flow/key";
import { R_ORIGIN, keyOff } from "../flow/record";

export const DELETION_SIZE: usize = 48; // gen u32, dir u8, pad 3, key 40
export const DELETION_CAPACITY: u32 = 65536;

@unmanaged
export class DeletionLog {
  entries: usize;
  head: u32;       // next slot
  count: u32;      // entries held (≤ capacity)
  oldestGen: u32;  // deletions with gen ≥ this are all still held
}

export function deletionLogNew(gen: u32): DeletionLog {
  const l = changetype<DeletionLog>(heap.alloc(offsetof<DeletionLog>()));
  l.entries = heap.alloc(<usize>DELETION_CAPACITY * DELETION_SIZE);
  l.head = 0; l.count = 0; l.oldestGen = gen;
  return l;
}

export function deletionLogFree(l: DeletionLog): void {
  heap.free(l.entries);
  heap.free(changetype<usize>(l));
}

export function logDeletion(l: DeletionLog, rec: usize, gen: u32): void {
  const e = l.entries + <usize>l.head * DELETION_SIZE;
  if (l.count == DELETION_CAPACITY) {
    // overwrite the oldest: from now on only gens after it are complete
    l.oldestGen = load<u32>(e) + 1;
  } else {
    l.count++;
  }
  const origin = <u32>load<u8>(rec + R_ORIGIN);
  store<u32>(e, gen);
  store<u8>(e + 4, <u8>origin);
  keyCopy(e + 8, rec + keyOff(origin));
  l.head = l.head + 1 == DELETION_CAPACITY ? 0 : l.head + 1;
}

/** Visit deletions with gen ≥ since, oldest first. */
export function deletionAt(l: DeletionLog, i: u32): usize {
  const start = (l.head + DELETION_CAPACITY - l.count) % DELETION_CAPACITY;
  return l.entries + <usize>((start + i) % DELETION_CAPACITY) * DELETION_SIZE;
}

