// The rule index of one direction of a layer: a decision tree over the boxes
// of boxes.ts (HyperSplit's binary splits on one dimension at a time), in
// which every entry lives in exactly one place. A node splits its entries at
// a value of one dimension: the entries whose box lies at or below it go
// left, above it right, and those that straddle it stay in the node's own
// subtree (`mid`, built the same way over the other dimensions) instead of
// being copied to both sides. So memory is linear in the rules, a rule is
// added or removed by walking one path, and a lookup follows one path per
// tree it meets, checking at most a leaf's handful of entries on each.
//
// First match by (priority, order) is kept exactly: every entry carries its
// rule's order key, leaves keep entries in key order, every node knows the
// smallest key below it, and a lookup keeps the best key found so far,
// skipping any subtree and leaf tail that cannot beat it. A candidate
// decides only when all its rule's predicates hold (predicate.ts).
//
// Memory is laid out for the lookup: nodes are 32 bytes in one array per
// tree, numbered in the order a build visits them (a path down tends to stay
// in few cache lines), and a leaf keeps copies of its entries' keys and
// boxes side by side, so checking a leaf reads one run of memory instead of
// an entry scattered somewhere per candidate.

import { PacketMeta } from "../packet/meta";
import { predicatesHold } from "./predicate";
import { RULE_HDR_SIZE } from "./format";
import { RH_PREDS } from "./validate";
import { Residuals, residualHolds } from "./residual";
import { chooseSplit, splitDimension, splitValue } from "./split";
import { queueClear, queued, qKey, enqueue, dequeue } from "./queue";
import {
  E_KEY, E_SLOT, E_EXACT, E_RESIDUAL, E_BOX, ENTRY_SIZE, point, boxLo, boxHi,
  D_SRC_HI, D_SRC_LO, D_DST_HI, D_DST_LO, D_PROTO, D_SPORT, D_DPORT,
} from "./boxes";

export const MAX_KEY: u64 = 0xffffffffffffffff;
export const NO_SLOT: u32 = 0xffffffff;

// A rule slot (layer.ts keeps the table): where the rule's bytes are.
export const S_RULE: usize = 0;  // usize
export const SLOT_SIZE: usize = 40;

/** One direction's index: its nodes and where the root is. */
@unmanaged
export class Tree {
  nodes: usize;   // NODE_SIZE per node
  cap: u32;
  next: u32;      // nodes [0, next) were handed out
  free: u32;      // chain of free nodes through N_LEFT
  root: u32;
}

// Nodes. A leaf keeps its items where an internal node keeps its split.
const N_MIN: usize = 0;      // u64 the smallest key of any entry below (MAX_KEY: none)
const N_THR: usize = 8;      // u64 split value: a point at or below it goes left
const N_LIST: usize = 8;     // usize leaf: ITEM_SIZE per entry, in key order
const N_COUNT: usize = 12;   // u32 leaf: items
const N_DIM: usize = 16;     // u32 split dimension, LEAF for a leaf
const N_LEFT: usize = 20;    // u32 node
const N_RIGHT: usize = 24;   // u32 node
const N_MID: usize = 28;     // u32 node: the entries straddling the split (NIL: none)
const N_CAP: usize = 20;     // u32 leaf: items the list has room for
const N_SPLIT_AT: usize = 24; // u32 leaf: longer than this and it is split when an entry is added
const NODE_SIZE: usize = 32;
const LEAF: u32 = 0xff;
const NIL: u32 = 0xffffffff;
const BINTH: u32 = 8;        // a leaf of this many entries or fewer is not split

// Leaf items: an entry's key, slot and box, copied next to its neighbours'.
const I_KEY: usize = 0;      // u64
const I_SLOT: usize = 8;     // u32
const I_RES: usize = 12;     // u32 residual id, I_EXACT set when the box says the rest (boxes.ts)
const I_ENTRY: usize = 16;   // u32 entry id (to find it when it is removed)
const I_SMALL: usize = 20;   // u32 × 6: protocol, source port, destination port (lo, hi)
const I_WIDE: usize = 48;    // u64 × 8: source hi, source lo, destination hi, destination lo (lo, hi)
const ITEM_SIZE: usize = 112;
const I_EXACT: u32 = 0x80000000;

@inline function entry(pool: usize, id: u32): usize { return pool + <usize>id * ENTRY_SIZE; }
@inline function nodeAt(t: Tree, n: u32): usize { return t.nodes + <usize>n * NODE_SIZE; }
@inline function itemAt(list: usize, i: u32): usize { return list + <usize>i * ITEM_SIZE; }

function newNode(t: Tree): u32 {
  let n = t.free;
  if (n != NIL) t.free = load<u32>(nodeAt(t, n) + N_LEFT);
  else {
    if (t.next == t.cap) {
      t.cap *= 2;
      t.nodes = heap.realloc(t.nodes, <usize>t.cap * NODE_SIZE);
    }
    n = t.next++;
  }
  memory.fill(nodeAt(t, n), 0, NODE_SIZE);
  return n;
}

function freeNode(t: Tree, n: u32): void {
  store<u32>(nodeAt(t, n) + N_LEFT, t.free);
  t.free = n;
}

function setItem(it: usize, pool: usize, id: u32): void {
  const e = entry(pool, id);
  store<u64>(it + I_KEY, load<u64>(e + E_KEY));
  store<u32>(it + I_SLOT, load<u32>(e + E_SLOT));
  store<u32>(it + I_RES, load<u32>(e + E_RESIDUAL) | (load<u8>(e + E_EXACT) != 0 ? I_EXACT : 0));
  store<u32>(it + I_ENTRY, id);
  for (let d: u32 = 0; d < 3; d++) {
    store<u32>(it + I_SMALL + (<usize>d << 3), <u32>boxLo(e, D_PROTO + d));
    store<u32>(it + I_SMALL + (<usize>d << 3) + 4, <u32>boxHi(e, D_PROTO + d));
  }
  memory.copy(it + I_WIDE, e + E_BOX, 64); // D_SRC_HI … D_DST_LO come first in an entry's box
}

// ---- lookup ---------------------------------------------------------------

/** The best match so far: lookups lower it, the caller resets it. */
export let bestKey: u64 = MAX_KEY;
export let bestSlot: u32 = NO_SLOT;
export function resetBest(): void { bestKey = MAX_KEY; bestSlot = NO_SLOT; }

@inline function inWide(it: usize, d: u32): bool {
  const v = load<u64>(point + (<usize>d << 3));
  return v >= load<u64>(it + I_WIDE + (<usize>d << 4)) && v <= load<u64>(it + I_WIDE + (<usize>d << 4) + 8);
}
@inline function inSmall(it: usize, d: u32): bool {
  const v = <u32>load<u64>(point + (<usize>d << 3));
  const k = <usize>(d - D_PROTO) << 3;
  return v >= load<u32>(it + I_SMALL + k) && v <= load<u32>(it + I_SMALL + k + 4);
}

// The most selective dimensions first (destinations and ports of policy rules).
@inline function inItem(it: usize): bool {
  return inWide(it, D_DST_LO) && inSmall(it, D_DPORT) && inSmall(it, D_PROTO) && inWide(it, D_SRC_LO) &&
    inSmall(it, D_SPORT) && inWide(it, D_DST_HI) && inWide(it, D_SRC_HI);
}

function scanLeaf(node: usize, slots: usize, rs: Residuals, m: PacketMeta): void {
  const list = load<usize>(node + N_LIST);
  const n = load<u32>(node + N_COUNT);
  for (let i: u32 = 0; i < n; i++) {
    const it = itemAt(list, i);
    const k = load<u64>(it + I_KEY);
    if (k >= bestKey) return;
    if (!inItem(it)) continue;
    const slot = load<u32>(it + I_SLOT);
    const res = load<u32>(it + I_RES);
    let holds: bool;
    if ((res & I_EXACT) != 0) holds = residualHolds(rs, res & ~I_EXACT, m);
    else {
      const rule = load<usize>(slots + <usize>slot * SLOT_SIZE + S_RULE);
      holds = predicatesHold(m, rule + RULE_HDR_SIZE, <u32>load<u8>(rule + RH_PREDS));
    }
    if (holds) {
      bestKey = k;
      bestSlot = slot;
      return;
    }
  }
}

/** Search below node `n` for a rule matching the packet at `point`, lowering bestKey/bestSlot. */
function search(t: Tree, n: u32, slots: usize, rs: Residuals, m: PacketMeta): void {
  const nodes = t.nodes;
  while (true) {
    const node = nodes + <usize>n * NODE_SIZE;
    const min = load<u64>(node + N_MIN);
    if (min >= bestKey) return;
    // a subtree waiting in the queue may hold smaller keys: leave this one for later
    if (queued != 0 && qKey(0) < min && enqueue(n, min)) return;
    const dim = load<u32>(node + N_DIM);
    if (dim == LEAF) { scanLeaf(node, slots, rs, m); return; }
    const next = load<u32>(node + (load<u64>(point + (<usize>dim << 3)) <= load<u64>(node + N_THR) ? N_LEFT : N_RIGHT));
    const mid = load<u32>(node + N_MID);
    if (mid == NIL) { n = next; continue; }
    // go on with the side of smaller keys, queue the other
    const midMin = load<u64>(nodes + <usize>mid * NODE_SIZE + N_MIN), nextMin = load<u64>(nodes + <usize>next * NODE_SIZE + N_MIN);
    let later = mid, lk = midMin;
    if (midMin < nextMin) { later = next; lk = nextMin; n = mid; } else n = next;
    if (lk < bestKey && !enqueue(later, lk)) search(t, later, slots, rs, m);
  }
}

/** Lower bestKey/bestSlot to the first rule of this tree that matches the packet at `point`. */
export function treeLookup(t: Tree, slots: usize, rs: Residuals, m: PacketMeta): void {
  queueClear();
  search(t, t.root, slots, rs, m);
  while (queued != 0 && qKey(0) < bestKey) search(t, dequeue(), slots, rs, m);
  queueClear();
}

// ---- building ---------------------------------------------------------------

@inline function keyOf(pool: usize, id: u32): u64 { return load<u64>(entry(pool, id) + E_KEY); }

function siftDown(pool: usize, ids: usize, root: u32, end: u32): void {
  while (true) {
    let child = root * 2 + 1;
    if (child >= end) return;
    if (child + 1 < end && keyOf(pool, load<u32>(ids + (<usize>(child + 1) << 2))) > keyOf(pool, load<u32>(ids + (<usize>child << 2)))) child++;
    const rv = load<u32>(ids + (<usize>root << 2)), cv = load<u32>(ids + (<usize>child << 2));
    if (keyOf(pool, rv) >= keyOf(pool, cv)) return;
    store<u32>(ids + (<usize>root << 2), cv);
    store<u32>(ids + (<usize>child << 2), rv);
    root = child;
  }
}

/** Order ids[0..n) by their entries' keys (heap sort: no allocation, no recursion). */
function sortByKey(pool: usize, ids: usize, n: u32): void {
  if (n < 2) return;
  for (let i = <i32>(n >> 1) - 1; i >= 0; i--) siftDown(pool, ids, <u32>i, n);
  for (let end = n - 1; end > 0; end--) {
    const t = load<u32>(ids);
    store<u32>(ids, load<u32>(ids + (<usize>end << 2)));
    store<u32>(ids + (<usize>end << 2), t);
    siftDown(pool, ids, 0, end);
  }
}

/** Make node `n` a leaf of the entries ids[0..n) (reorders ids). */
function makeLeaf(t: Tree, pool: usize, node: u32, ids: usize, n: u32): void {
  sortByKey(pool, ids, n);
  const cap = max<u32>(n, 4);
  const list = heap.alloc(<usize>cap * ITEM_SIZE);
  for (let i: u32 = 0; i < n; i++) setItem(itemAt(list, i), pool, load<u32>(ids + (<usize>i << 2)));
  const p = nodeAt(t, node);
  store<u32>(p + N_DIM, LEAF);
  store<usize>(p + N_LIST, list);
  store<u32>(p + N_COUNT, n);
  store<u32>(p + N_CAP, cap);
  store<u32>(p + N_SPLIT_AT, max<u32>(n, BINTH) * 2);
  store<u64>(p + N_MIN, n != 0 ? load<u64>(list + I_KEY) : MAX_KEY);
}

@inline function side(e: usize, d: u32, t: u64): u32 {
  return boxHi(e, d) <= t ? 0 : boxLo(e, d) > t ? 2 : 1;
}

/** A subtree over the entries ids[0..n) (reorders ids); returns its root. */
function build(t: Tree, pool: usize, ids: usize, n: u32): u32 {
  const node = newNode(t);
  if (n <= BINTH || !chooseSplit(pool, ids, n)) { makeLeaf(t, pool, node, ids, n); return node; }
  const d = splitDimension(), thr = splitValue();
  // three-way partition: [left | mid | right]
  let a: u32 = 0, i: u32 = 0, b: u32 = n;
  while (i < b) {
    const id = load<u32>(ids + (<usize>i << 2));
    const s = side(entry(pool, id), d, thr);
    if (s == 0) {
      store<u32>(ids + (<usize>i << 2), load<u32>(ids + (<usize>a << 2)));
      store<u32>(ids + (<usize>a << 2), id);
      a++; i++;
    } else if (s == 2) {
      b--;
      store<u32>(ids + (<usize>i << 2), load<u32>(ids + (<usize>b << 2)));
      store<u32>(ids + (<usize>b << 2), id);
    } else i++;
  }
  // children after their parent, the straddlers last (nodes may move as the array grows)
  const left = build(t, pool, ids, a);
  const right = build(t, pool, ids + (<usize>b << 2), n - b);
  const mid = b > a ? build(t, pool, ids + (<usize>a << 2), b - a) : NIL;
  const p = nodeAt(t, node);
  store<u32>(p + N_DIM, d);
  store<u64>(p + N_THR, thr);
  store<u32>(p + N_LEFT, left);
  store<u32>(p + N_RIGHT, right);
  store<u32>(p + N_MID, mid);
  let mk = min(load<u64>(nodeAt(t, left) + N_MIN), load<u64>(nodeAt(t, right) + N_MIN));
  if (mid != NIL) mk = min(mk, load<u64>(nodeAt(t, mid) + N_MIN));
  store<u64>(p + N_MIN, mk);
  return node;
}

/** A tree over the entries ids[0..n) (reorders ids). */
export function treeBuild(pool: usize, ids: usize, n: u32): Tree {
  const t = changetype<Tree>(heap.alloc(offsetof<Tree>()));
  t.cap = max<u32>(n / 2, 16);
  t.nodes = heap.alloc(<usize>t.cap * NODE_SIZE);
  t.next = 0;
  t.free = NIL;
  t.root = build(t, pool, ids, n);
  return t;
}

function freeLists(t: Tree, n: u32): void {
  const p = nodeAt(t, n);
  if (load<u32>(p + N_DIM) == LEAF) { heap.free(load<usize>(p + N_LIST)); return; }
  freeLists(t, load<u32>(p + N_LEFT));
  freeLists(t, load<u32>(p + N_RIGHT));
  if (load<u32>(p + N_MID) != NIL) freeLists(t, load<u32>(p + N_MID));
}

export function treeFree(t: Tree | null): void {
  if (t == null) return;
  freeLists(t, t.root);
  heap.free(t.nodes);
  heap.free(changetype<usize>(t));
}

// ---- changes ------------------------------------------------------------------

/** Split leaf `n`, which grew past its limit, in place; a leaf of identical boxes stays a (longer) leaf. */
function splitLeaf(t: Tree, pool: usize, n: u32): void {
  const p = nodeAt(t, n);
  const count = load<u32>(p + N_COUNT);
  const list = load<usize>(p + N_LIST);
  const ids = heap.alloc(<usize>count << 2);
  for (let i: u32 = 0; i < count; i++) store<u32>(ids + (<usize>i << 2), load<u32>(itemAt(list, i) + I_ENTRY));
  heap.free(list);
  const built = build(t, pool, ids, count);
  heap.free(ids);
  memory.copy(nodeAt(t, n), nodeAt(t, built), NODE_SIZE);
  freeNode(t, built);
  if (load<u32>(nodeAt(t, n) + N_DIM) == LEAF) store<u32>(nodeAt(t, n) + N_SPLIT_AT, count * 2);
}

/** Add entry `id` to the tree. */
export function treeInsert(pool: usize, t: Tree, id: u32): void {
  const e = entry(pool, id);
  const key = load<u64>(e + E_KEY);
  let n = t.root;
  while (true) {
    const p = nodeAt(t, n);
    if (key < load<u64>(p + N_MIN)) store<u64>(p + N_MIN, key);
    const d = load<u32>(p + N_DIM);
    if (d == LEAF) break;
    const s = side(e, d, load<u64>(p + N_THR));
    if (s == 1) {
      let mid = load<u32>(p + N_MID);
      if (mid == NIL) {
        mid = newNode(t); // may move the nodes
        makeLeaf(t, pool, mid, 0, 0);
        store<u64>(nodeAt(t, mid) + N_MIN, key);
        store<u32>(nodeAt(t, n) + N_MID, mid);
      }
      n = mid;
    } else n = load<u32>(p + (s == 0 ? N_LEFT : N_RIGHT));
  }
  const p = nodeAt(t, n);
  let count = load<u32>(p + N_COUNT);
  let list = load<usize>(p + N_LIST);
  if (count == load<u32>(p + N_CAP)) {
    const cap = count * 2;
    list = heap.realloc(list, <usize>cap * ITEM_SIZE);
    store<usize>(p + N_LIST, list);
    store<u32>(p + N_CAP, cap);
  }
  let at = count;
  while (at > 0 && load<u64>(itemAt(list, at - 1) + I_KEY) > key) at--;
  memory.copy(itemAt(list, at + 1), itemAt(list, at), <usize>(count - at) * ITEM_SIZE);
  setItem(itemAt(list, at), pool, id);
  count++;
  store<u32>(p + N_COUNT, count);
  if (count > load<u32>(p + N_SPLIT_AT)) splitLeaf(t, pool, n);
}

function remove(t: Tree, pool: usize, n: u32, id: u32): void {
  const e = entry(pool, id);
  const p = nodeAt(t, n);
  const d = load<u32>(p + N_DIM);
  if (d == LEAF) {
    const list = load<usize>(p + N_LIST);
    const count = load<u32>(p + N_COUNT);
    let left = count;
    for (let i: u32 = 0; i < count; i++) {
      if (load<u32>(itemAt(list, i) + I_ENTRY) != id) continue;
      memory.copy(itemAt(list, i), itemAt(list, i + 1), <usize>(count - i - 1) * ITEM_SIZE);
      left = count - 1;
      store<u32>(p + N_COUNT, left);
      break;
    }
    store<u64>(p + N_MIN, left != 0 ? load<u64>(list + I_KEY) : MAX_KEY);
    return;
  }
  const s = side(e, d, load<u64>(p + N_THR));
  const child = load<u32>(p + (s == 0 ? N_LEFT : s == 2 ? N_RIGHT : N_MID));
  if (child != NIL) remove(t, pool, child, id);
  const mid = load<u32>(p + N_MID);
  let mk = min(load<u64>(nodeAt(t, load<u32>(p + N_LEFT)) + N_MIN), load<u64>(nodeAt(t, load<u32>(p + N_RIGHT)) + N_MIN));
  if (mid != NIL) mk = min(mk, load<u64>(nodeAt(t, mid) + N_MIN));
  store<u64>(p + N_MIN, mk);
}

/** Remove entry `id` from the tree (found by the path its box takes). */
export function treeRemove(pool: usize, t: Tree, id: u32): void { remove(t, pool, t.root, id); }
