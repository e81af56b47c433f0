// Adding and removing single rules of a loaded layer without rebuilding it:
// a large policy changes one rule at a time, and a rebuild would cost time
// in proportion to the whole rule set. The rule gets a slot and an order key
// between its neighbours' (priority, then a sequence number that follows the
// program order with room between neighbours), its boxes go into the index
// along one path each (tree.ts), and the reference scan list takes it by
// binary search. Only when two neighbours have no sequence number left
// between them (2^32 insertions at one place) are the sequences renumbered
// and the index rebuilt.

import { RuleDir } from "./format";
import { RH_SIZE, RH_DIR, RH_PRIORITY } from "./validate";
import { E_DIR, E_KEY, E_NEXT, ENTRY_SIZE, NO_ENTRY } from "./boxes";
import { Tree, treeInsert, treeRemove } from "./tree";
import {
  Layer, slotAt, orderAt, takeSlot, releaseSlot, addEntries, dropEntries, buildIndex, seqOf, SEQ_END,
  S_KEY, S_ENTRIES,
} from "./layer";
import { S_RULE } from "./tree";

const SEQ_MASK: u64 = SEQ_END - 1;
const SEQ_STEP: u64 = <u64>1 << 32;

@inline function seqAt(l: Layer, pos: u32): u64 { return load<u64>(slotAt(l, orderAt(l, pos)) + S_KEY) & SEQ_MASK; }

/** Give every rule the sequence of its position again, and rebuild the index (keys changed). */
function renumber(l: Layer): void {
  for (let pos: u32 = 0; pos < l.ruleCount; pos++) {
    const s = slotAt(l, orderAt(l, pos));
    const key = (load<u64>(s + S_KEY) & ~SEQ_MASK) | seqOf(pos);
    store<u64>(s + S_KEY, key);
    let id = load<u32>(s + S_ENTRIES);
    while (id != NO_ENTRY) {
      const e = l.pool + <usize>id * ENTRY_SIZE;
      store<u64>(e + E_KEY, key);
      id = load<u32>(e + E_NEXT);
    }
  }
  buildIndex(l);
}

/** Where a slot of key `key` goes in a scan list (after every smaller key). */
function scanPlace(l: Layer, list: usize, n: u32, key: u64): u32 {
  let lo: u32 = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (load<u64>(slotAt(l, load<u32>(list + (<usize>mid << 2))) + S_KEY) < key) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function scanAdd(l: Layer, dir: u32, slot: u32, key: u64): void {
  const list = dir == RuleDir.In ? l.scanIn : l.scanOut;
  const n = dir == RuleDir.In ? l.countIn : l.countOut;
  const at = scanPlace(l, list, n, key);
  memory.copy(list + (<usize>(at + 1) << 2), list + (<usize>at << 2), <usize>(n - at) << 2);
  store<u32>(list + (<usize>at << 2), slot);
  if (dir == RuleDir.In) l.countIn = n + 1; else l.countOut = n + 1;
}

function scanRemove(l: Layer, dir: u32, key: u64): void {
  const list = dir == RuleDir.In ? l.scanIn : l.scanOut;
  const n = dir == RuleDir.In ? l.countIn : l.countOut;
  const at = scanPlace(l, list, n, key); // keys are unique: the slot itself
  if (at >= n) return;
  memory.copy(list + (<usize>at << 2), list + (<usize>(at + 1) << 2), <usize>(n - at - 1) << 2);
  if (dir == RuleDir.In) l.countIn = n - 1; else l.countOut = n - 1;
}

/** Insert a copy of the (validated) rule at `src` so that it has position `pos`. */
export function insertRule(l: Layer, pos: u32, src: usize): void {
  const size = <u32>load<u16>(src + RH_SIZE);
  const prev: u64 = pos > 0 ? seqAt(l, pos - 1) : 0;
  const next: u64 = pos < l.ruleCount ? seqAt(l, pos) : SEQ_END;
  const room = next - prev >= 2;
  const seq: u64 = !room ? 0 : pos == l.ruleCount ? prev + min((next - prev) >> 1, SEQ_STEP) : prev + ((next - prev) >> 1);
  const key = (<u64>load<u16>(src + RH_PRIORITY) << 48) | seq;
  const rule = heap.alloc(size);
  memory.copy(rule, src, size);
  const slot = takeSlot(l, rule, true, key);
  memory.copy(l.order + (<usize>(pos + 1) << 2), l.order + (<usize>pos << 2), <usize>(l.ruleCount - pos) << 2);
  store<u32>(l.order + (<usize>pos << 2), slot);
  l.ruleCount++;
  l.ruleBytes += size;
  l.dirty = 1;
  addEntries(l, slot);
  if (!room) { renumber(l); return; }
  const dirs = <u32>load<u8>(rule + RH_DIR);
  if ((dirs & RuleDir.In) != 0) scanAdd(l, RuleDir.In, slot, key);
  if ((dirs & RuleDir.Out) != 0) scanAdd(l, RuleDir.Out, slot, key);
  let id = load<u32>(slotAt(l, slot) + S_ENTRIES);
  while (id != NO_ENTRY) {
    const e = l.pool + <usize>id * ENTRY_SIZE;
    treeInsert(l.pool, changetype<Tree>(load<u8>(e + E_DIR) == RuleDir.In ? l.treeIn : l.treeOut), id);
    id = load<u32>(e + E_NEXT);
  }
}

/** Remove the rule at position `pos` (< ruleCount). */
export function removeRule(l: Layer, pos: u32): void {
  const slot = orderAt(l, pos);
  const s = slotAt(l, slot);
  const rule = load<usize>(s + S_RULE);
  const key = load<u64>(s + S_KEY);
  let id = load<u32>(s + S_ENTRIES);
  while (id != NO_ENTRY) {
    const e = l.pool + <usize>id * ENTRY_SIZE;
    treeRemove(l.pool, changetype<Tree>(load<u8>(e + E_DIR) == RuleDir.In ? l.treeIn : l.treeOut), id);
    id = load<u32>(e + E_NEXT);
  }
  dropEntries(l, slot);
  const dirs = <u32>load<u8>(rule + RH_DIR);
  if ((dirs & RuleDir.In) != 0) scanRemove(l, RuleDir.In, key);
  if ((dirs & RuleDir.Out) != 0) scanRemove(l, RuleDir.Out, key);
  memory.copy(l.order + (<usize>pos << 2), l.order + (<usize>(pos + 1) << 2), <usize>(l.ruleCount - pos - 1) << 2);
  l.ruleCount--;
  l.ruleBytes -= <u32>load<u16>(rule + RH_SIZE);
  l.dirty = 1;
  releaseSlot(l, slot);
}
