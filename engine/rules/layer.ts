// A layer: an ordered list of rules plus a default action per direction
// (OPTE's Layer; RFD 63 "a series of per-guest virtual NIC layers").
//
// The first rule by (priority, position) whose predicates all hold decides;
// if none does, the layer's default action for the direction. Each rule has
// a slot (its bytes, order key and hit count) that stays the same while
// rules are added and removed around it (edit.ts); the program bytes as the
// host loaded or edited them are rebuilt from the slots when asked for.
//
// Two ways to find the first match, deciding alike: the rule index of each
// direction (tree.ts), used by the datapath, and a scan of the direction's
// rules in order, kept as the reference the index is tested and measured
// against (`ruleScan`).

import { Reason } from "../../abi/reason";
import { PacketMeta } from "../packet/meta";
import { LAYER_MAGIC, PROGRAM_VERSION, OLDEST_PROGRAM_VERSION, LAYER_HDR_SIZE, MAX_RULES_PER_LAYER, ActionKind, RuleDir } from "./format";
import { RH_SIZE, RH_DIR, RH_PREDS, RH_PRIORITY, RH_ACTION, validateRule, validDefault } from "./validate";
import { E_KEY, E_SLOT, E_NEXT, E_DIR, E_EXACT, E_RESIDUAL, E_BOX, ENTRY_SIZE, NO_ENTRY, DIMS, boxesOf, boxesExact, boxAt, BOX_LO, BOX_HI, setPoint } from "./boxes";
import { ruleClasses, scanMatch, S_CLASSES } from "./scan";
import { Residuals, residualsNew, residualsFree, residualOf, residualRelease, residualsBegin } from "./residual";
import { Tree, treeBuild, treeFree, treeLookup, resetBest, bestSlot, NO_SLOT, S_RULE, SLOT_SIZE } from "./tree";

export { RH_SIZE, RH_DIR, RH_PREDS, RH_PRIORITY, RH_ACTION, RH_REASON, RH_ID, RH_ACTION_LEN, ruleParams } from "./validate";
export { NO_SLOT, S_RULE } from "./tree";

@unmanaged
export class Layer {
  version: u32;
  defaultIn: u32;
  defaultOut: u32;
  ruleCount: u32;
  header: usize;      // the layer's header bytes as loaded (LAYER_HDR_SIZE)
  blob: usize;        // the program bytes, rules in order; stale while `dirty` (layerBlobOf)
  blobLen: u32;
  dirty: u32;
  ruleBytes: u32;     // the rules' bytes, all told
  slots: usize;       // SLOT_SIZE per slot
  slotCap: u32;
  freeSlot: u32;      // chain of free slots through S_NEXT_FREE
  order: usize;       // u32 slot per position, program order
  scanIn: usize;      // u32 slots of the inbound rules in evaluation order (the reference scan)
  countIn: u32;
  scanOut: usize;
  countOut: u32;
  pool: usize;        // ENTRY_SIZE per entry: the boxes of the rules (boxes.ts)
  entryCap: u32;
  freeEntry: u32;     // chain of free entries through E_NEXT
  treeIn: usize;      // the rule index of each direction (tree.ts)
  treeOut: usize;
  residuals: Residuals; // what rules say beyond their boxes (residual.ts)
  hitsView: usize;    // u64 hits by position, filled by layerHitsOf
  hitsIn: u64;        // packets this layer evaluated (slow path)
  hitsOut: u64;
  defaultHitsIn: u64;
  defaultHitsOut: u64;
  denies: u64;
}

// Slot fields after S_RULE (tree.ts).
export const S_OWNED: usize = 4;    // u8 1: the rule's bytes are its own allocation, not in `blob`

export const S_KEY: usize = 8;      // u64 order key: priority << 48 | sequence (edit.ts keeps sequences in position order)
export const S_HITS: usize = 16;    // u64 packets the rule decided
export const S_ENTRIES: usize = 24; // u32 the rule's first entry
export const S_NEXT_FREE: usize = 28; // u32 (a free slot)
export const S_RESIDUAL: usize = 32;  // u32 the rule's residual (residual.ts)

/** The first sequence of program position i: room for 2^32 - 1 insertions between neighbours. */
@inline export function seqOf(position: u32): u64 { return <u64>(position + 1) << 32; }
export const SEQ_END: u64 = <u64>1 << 48;

@inline export function slotAt(l: Layer, slot: u32): usize { return l.slots + <usize>slot * SLOT_SIZE; }
@inline export function slotRule(l: Layer, slot: u32): usize { return load<usize>(slotAt(l, slot) + S_RULE); }
@inline export function orderAt(l: Layer, pos: u32): u32 { return load<u32>(l.order + (<usize>pos << 2)); }

// ---- the reference scan ----------------------------------------------------

/** Match by scanning each direction's rules in order instead of the index (reference, diagnostics). */
export let ruleScan: bool = false;
export function setRuleScan(on: bool): void { ruleScan = on; }

/** The reference: the first rule in evaluation order whose predicates hold, or NO_SLOT. */
export function layerMatchScan(l: Layer, dir: u32, m: PacketMeta): u32 {
  return dir == RuleDir.In ? scanMatch(l.scanIn, l.countIn, l.slots, m) : scanMatch(l.scanOut, l.countOut, l.slots, m);
}

/** The slot of the first matching rule for `dir` (1 in, 2 out), or NO_SLOT for "use the default". */
export function layerMatch(l: Layer, dir: u32, m: PacketMeta): u32 {
  if (ruleScan) return layerMatchScan(l, dir, m);
  setPoint(m);
  resetBest();
  residualsBegin(l.residuals);
  treeLookup(changetype<Tree>(dir == RuleDir.In ? l.treeIn : l.treeOut), l.slots, l.residuals, m);
  return bestSlot;
}

/** Count a packet the rule in `slot` decided. */
@inline export function slotHit(l: Layer, slot: u32): void {
  const h = slotAt(l, slot) + S_HITS;
  store<u64>(h, load<u64>(h) + 1);
}

// ---- slots, entries and the per-direction lists ------------------------------

/** Grow the slot table and the lists that hold slots to `cap` slots. */
@inline function grow(p: usize, size: usize): usize { return p == 0 ? heap.alloc(size) : heap.realloc(p, size); }

export function growSlots(l: Layer, cap: u32): void {
  l.slots = grow(l.slots, <usize>cap * SLOT_SIZE);
  l.order = grow(l.order, <usize>cap << 2);
  l.scanIn = grow(l.scanIn, <usize>cap << 2);
  l.scanOut = grow(l.scanOut, <usize>cap << 2);
  l.hitsView = grow(l.hitsView, <usize>cap << 3);
  for (let i = l.slotCap; i < cap; i++) {
    store<u32>(slotAt(l, i) + S_NEXT_FREE, i + 1 < cap ? i + 1 : l.freeSlot);
  }
  l.freeSlot = l.slotCap;
  l.slotCap = cap;
}

/** A free slot for the rule at `rule` with order key `key`. */
export function takeSlot(l: Layer, rule: usize, owned: bool, key: u64): u32 {
  if (l.freeSlot == NO_SLOT) growSlots(l, l.slotCap * 2);
  const slot = l.freeSlot;
  const s = slotAt(l, slot);
  l.freeSlot = load<u32>(s + S_NEXT_FREE);
  memory.fill(s, 0, SLOT_SIZE);
  store<usize>(s + S_RULE, rule);
  store<u8>(s + S_OWNED, owned ? 1 : 0);
  store<u8>(s + S_CLASSES, <u8>ruleClasses(rule));
  store<u64>(s + S_KEY, key);
  store<u32>(s + S_ENTRIES, NO_ENTRY);
  return slot;
}

export function releaseSlot(l: Layer, slot: u32): void {
  const s = slotAt(l, slot);
  if (load<u8>(s + S_OWNED) != 0) heap.free(load<usize>(s + S_RULE));
  store<usize>(s + S_RULE, 0);
  store<u32>(s + S_NEXT_FREE, l.freeSlot);
  l.freeSlot = slot;
}

function takeEntry(l: Layer): u32 {
  if (l.freeEntry == NO_ENTRY) {
    const cap: u32 = l.entryCap == 0 ? 64 : l.entryCap * 2;
    l.pool = grow(l.pool, <usize>cap * ENTRY_SIZE);
    for (let i = l.entryCap; i < cap; i++) store<u32>(l.pool + <usize>i * ENTRY_SIZE + E_NEXT, i + 1 < cap ? i + 1 : NO_ENTRY);
    l.freeEntry = l.entryCap;
    l.entryCap = cap;
  }
  const id = l.freeEntry;
  l.freeEntry = load<u32>(l.pool + <usize>id * ENTRY_SIZE + E_NEXT);
  return id;
}

/** Make the entries (boxes) of the rule in `slot`, one per box and direction; returns how many. */
export function addEntries(l: Layer, slot: u32): u32 {
  const s = slotAt(l, slot);
  const rule = load<usize>(s + S_RULE);
  const dirs = <u32>load<u8>(rule + RH_DIR);
  const boxes = boxesOf(rule);
  const exact: u32 = boxesExact() ? 1 : 0;
  const residual = residualOf(l.residuals, rule);
  store<u32>(s + S_RESIDUAL, residual);
  let made: u32 = 0;
  for (let k: u32 = 0; k < boxes; k++) {
    if (!boxAt(k)) continue;
    for (let dir: u32 = RuleDir.In; dir <= <u32>RuleDir.Out; dir++) {
      if ((dirs & dir) == 0) continue;
      const id = takeEntry(l);
      const e = l.pool + <usize>id * ENTRY_SIZE;
      store<u64>(e + E_KEY, load<u64>(s + S_KEY));
      store<u32>(e + E_SLOT, slot);
      store<u8>(e + E_DIR, <u8>dir);
      store<u8>(e + E_EXACT, <u8>exact);
      store<u32>(e + E_RESIDUAL, residual);
      for (let d: u32 = 0; d < DIMS; d++) {
        store<u64>(e + E_BOX + (<usize>d << 4), load<u64>(BOX_LO + (<usize>d << 3)));
        store<u64>(e + E_BOX + (<usize>d << 4) + 8, load<u64>(BOX_HI + (<usize>d << 3)));
      }
      store<u32>(e + E_NEXT, load<u32>(s + S_ENTRIES));
      store<u32>(s + S_ENTRIES, id);
      made++;
    }
  }
  return made;
}

/** Return the entries of `slot` to the free chain (after they left their trees). */
export function dropEntries(l: Layer, slot: u32): void {
  const s = slotAt(l, slot);
  residualRelease(l.residuals, load<u32>(s + S_RESIDUAL));
  store<u32>(s + S_RESIDUAL, 0);
  let id = load<u32>(s + S_ENTRIES);
  while (id != NO_ENTRY) {
    const e = l.pool + <usize>id * ENTRY_SIZE;
    const next = load<u32>(e + E_NEXT);
    store<u32>(e + E_NEXT, l.freeEntry);
    l.freeEntry = id;
    id = next;
  }
  store<u32>(s + S_ENTRIES, NO_ENTRY);
}

// Sort slot lists by key (heap sort).
@inline function keyAt(l: Layer, list: usize, i: u32): u64 { return load<u64>(slotAt(l, load<u32>(list + (<usize>i << 2))) + S_KEY); }
function siftDown(l: Layer, list: usize, root: u32, end: u32): void {
  while (true) {
    let child = root * 2 + 1;
    if (child >= end) return;
    if (child + 1 < end && keyAt(l, list, child + 1) > keyAt(l, list, child)) child++;
    if (keyAt(l, list, root) >= keyAt(l, list, child)) return;
    const t = load<u32>(list + (<usize>root << 2));
    store<u32>(list + (<usize>root << 2), load<u32>(list + (<usize>child << 2)));
    store<u32>(list + (<usize>child << 2), t);
    root = child;
  }
}
function sortSlots(l: Layer, list: usize, n: u32): void {
  if (n < 2) return;
  for (let i = <i32>(n >> 1) - 1; i >= 0; i--) siftDown(l, list, <u32>i, n);
  for (let end = n - 1; end > 0; end--) {
    const t = load<u32>(list);
    store<u32>(list, load<u32>(list + (<usize>end << 2)));
    store<u32>(list + (<usize>end << 2), t);
    siftDown(l, list, 0, end);
  }
}

/**
 * (Re)build both directions' scan lists and rule index from the slots in
 * `order` (load time, and after sequences are renumbered).
 */
export function buildIndex(l: Layer): void {
  treeFree(changetype<Tree>(l.treeIn));
  treeFree(changetype<Tree>(l.treeOut));
  let nIn: u32 = 0, nOut: u32 = 0, entries: u32 = 0;
  for (let pos: u32 = 0; pos < l.ruleCount; pos++) {
    const slot = orderAt(l, pos);
    const dirs = <u32>load<u8>(slotRule(l, slot) + RH_DIR);
    if ((dirs & RuleDir.In) != 0) { store<u32>(l.scanIn + (<usize>nIn << 2), slot); nIn++; }
    if ((dirs & RuleDir.Out) != 0) { store<u32>(l.scanOut + (<usize>nOut << 2), slot); nOut++; }
    let id = load<u32>(slotAt(l, slot) + S_ENTRIES);
    while (id != NO_ENTRY) { entries++; id = load<u32>(l.pool + <usize>id * ENTRY_SIZE + E_NEXT); }
  }
  sortSlots(l, l.scanIn, nIn);
  sortSlots(l, l.scanOut, nOut);
  l.countIn = nIn;
  l.countOut = nOut;
  // the entries of each direction, then a tree over them
  const ids = heap.alloc(<usize>max<u32>(entries, 1) << 2);
  for (let dir: u32 = RuleDir.In; dir <= <u32>RuleDir.Out; dir++) {
    let n: u32 = 0;
    for (let pos: u32 = 0; pos < l.ruleCount; pos++) {
      let id = load<u32>(slotAt(l, orderAt(l, pos)) + S_ENTRIES);
      while (id != NO_ENTRY) {
        const e = l.pool + <usize>id * ENTRY_SIZE;
        if (load<u8>(e + E_DIR) == dir) { store<u32>(ids + (<usize>n << 2), id); n++; }
        id = load<u32>(e + E_NEXT);
      }
    }
    const root = changetype<usize>(treeBuild(l.pool, ids, n));
    if (dir == RuleDir.In) l.treeIn = root; else l.treeOut = root;
  }
  heap.free(ids);
}

// ---- loading -------------------------------------------------------------------

/**
 * Validate a layer program at `src` (`len` bytes) and build a Layer from a
 * private copy of it. Returns the Layer pointer, or 0 with the Reason written
 * to `errOut`.
 */
export function layerLoad(src: usize, len: u32, errOut: usize): usize {
  store<u32>(errOut, 0);
  if (len < LAYER_HDR_SIZE) { store<u32>(errOut, Reason.Truncated); return 0; }
  if (load<u32>(src) != LAYER_MAGIC) { store<u32>(errOut, Reason.BadVersion); return 0; }
  const version = <u32>load<u16>(src + 4);
  if (version < OLDEST_PROGRAM_VERSION || version > PROGRAM_VERSION) { store<u32>(errOut, Reason.BadVersion); return 0; }
  const defIn = <u32>load<u8>(src + 24), defOut = <u32>load<u8>(src + 25);
  if (!validDefault(defIn) || !validDefault(defOut)) { store<u32>(errOut, Reason.BadVersion); return 0; }
  const count = load<u32>(src + 28);
  if (count > MAX_RULES_PER_LAYER) { store<u32>(errOut, Reason.BadLength); return 0; }
  // validate every rule before allocating anything
  let off: u32 = LAYER_HDR_SIZE;
  for (let i: u32 = 0; i < count; i++) {
    const r = validateRule(src + off, len - off, version);
    if (r < 0) { store<u32>(errOut, <u32>(-r)); return 0; }
    off += <u32>r;
  }
  if (off != len) { store<u32>(errOut, Reason.BadLength); return 0; }

  const l = changetype<Layer>(heap.alloc(offsetof<Layer>()));
  memory.fill(changetype<usize>(l), 0, offsetof<Layer>());
  l.version = version;
  l.defaultIn = defIn;
  l.defaultOut = defOut;
  l.header = heap.alloc(LAYER_HDR_SIZE);
  memory.copy(l.header, src, LAYER_HDR_SIZE);
  l.blob = heap.alloc(len);
  memory.copy(l.blob, src, len);
  l.blobLen = len;
  l.ruleBytes = len - LAYER_HDR_SIZE;
  l.freeEntry = NO_ENTRY;
  l.freeSlot = NO_SLOT;
  l.residuals = residualsNew();
  growSlots(l, max<u32>(count, 4));
  off = LAYER_HDR_SIZE;
  for (let i: u32 = 0; i < count; i++) {
    const rule = l.blob + off;
    const slot = takeSlot(l, rule, false, (<u64>load<u16>(rule + RH_PRIORITY) << 48) | seqOf(i));
    store<u32>(l.order + (<usize>i << 2), slot);
    addEntries(l, slot);
    off += <u32>load<u16>(rule + RH_SIZE);
  }
  l.ruleCount = count;
  buildIndex(l);
  return changetype<usize>(l);
}

export function layerFree(l: Layer): void {
  for (let pos: u32 = 0; pos < l.ruleCount; pos++) {
    const s = slotAt(l, orderAt(l, pos));
    if (load<u8>(s + S_OWNED) != 0) heap.free(load<usize>(s + S_RULE));
  }
  treeFree(changetype<Tree>(l.treeIn));
  treeFree(changetype<Tree>(l.treeOut));
  heap.free(l.header);
  heap.free(l.blob);
  heap.free(l.slots);
  heap.free(l.order);
  heap.free(l.scanIn);
  heap.free(l.scanOut);
  heap.free(l.hitsView);
  if (l.pool != 0) heap.free(l.pool);
  residualsFree(l.residuals);
  heap.free(changetype<usize>(l));
}

// ---- what hosts read -----------------------------------------------------------

/** The layer's program bytes, rules in order (rebuilt after edits; rule slots then point into it). */
export function layerBlobOf(l: Layer): usize {
  if (l.dirty == 0) return l.blob;
  const len = LAYER_HDR_SIZE + l.ruleBytes;
  const blob = heap.alloc(len);
  memory.copy(blob, l.header, LAYER_HDR_SIZE);
  store<u32>(blob + 28, l.ruleCount);
  let off: u32 = LAYER_HDR_SIZE;
  for (let pos: u32 = 0; pos < l.ruleCount; pos++) {
    const s = slotAt(l, orderAt(l, pos));
    const rule = load<usize>(s + S_RULE);
    const size = <u32>load<u16>(rule + RH_SIZE);
    memory.copy(blob + off, rule, size);
    if (load<u8>(s + S_OWNED) != 0) heap.free(rule);
    store<usize>(s + S_RULE, blob + off);
    store<u8>(s + S_OWNED, 0);
    off += size;
  }
  heap.free(l.blob);
  l.blob = blob;
  l.blobLen = len;
  l.dirty = 0;
  return blob;
}

/** u64 hit counts by position, filled now. */
export function layerHitsOf(l: Layer): usize {
  for (let pos: u32 = 0; pos < l.ruleCount; pos++) {
    store<u64>(l.hitsView + (<usize>pos << 3), load<u64>(slotAt(l, orderAt(l, pos)) + S_HITS));
  }
  return l.hitsView;
}

/** The position of the rule in `slot` (a linear search: tests and dumps only). */
export function slotPosition(l: Layer, slot: u32): u32 {
  for (let pos: u32 = 0; pos < l.ruleCount; pos++) if (orderAt(l, pos) == slot) return pos;
  return NO_SLOT;
}

/** The layer's name (16 bytes, NUL padded) starts here. */
export function layerNamePtr(l: Layer): usize { return l.header + 8; }

@inline export function statefulAction(a: u32): bool {
  return a == ActionKind.StatefulAllow || a == ActionKind.Snat || a == ActionKind.Nat11Src || a == ActionKind.Nat11Dst;
}

/** Does the layer record decisions in flows (a stateful default or rule)? */
export function layerIsStateful(l: Layer): bool {
  if (statefulAction(l.defaultIn) || statefulAction(l.defaultOut)) return true;
  for (let pos: u32 = 0; pos < l.ruleCount; pos++) {
    if (statefulAction(<u32>load<u8>(slotRule(l, orderAt(l, pos)) + RH_ACTION))) return true;
  }
  return false;
}
