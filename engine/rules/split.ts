// Choosing where a node of the rule index (tree.ts) splits its entries: for
// each dimension, the median upper end and the median lower end of the
// entries' boxes are the candidates (HyperSplit's endpoint splits, found by
// selection rather than sorting so building stays O(n) per level), and the
// candidate leaving the fewest entries for a lookup below wins: the larger
// side plus the straddlers, which every lookup through the node meets.

import { ENTRY_SIZE, DIMS, boxLo, boxHi } from "./boxes";

const MAX_KEY: u64 = 0xffffffffffffffff;

@inline function entry(pool: usize, id: u32): usize { return pool + <usize>id * ENTRY_SIZE; }

let scratch: usize = 0;     // u64 values for choosing splits
let scratchCap: u32 = 0;

function ensureScratch(n: u32): void {
  if (n <= scratchCap) return;
  if (scratch != 0) heap.free(scratch);
  scratchCap = max<u32>(n, 1024);
  scratch = heap.alloc(<usize>scratchCap << 3);
}

@inline function at64(a: usize, i: i32): u64 { return load<u64>(a + (<usize>i << 3)); }
@inline function swap64(a: usize, i: i32, j: i32): void {
  const t = at64(a, i);
  store<u64>(a + (<usize>i << 3), at64(a, j));
  store<u64>(a + (<usize>j << 3), t);
}

/** The k-th smallest of a[0..n) (quickselect, three-way so equal values cost nothing; reorders a). */
function select(a: usize, n: u32, k: u32): u64 {
  let left: i32 = 0, right: i32 = <i32>n - 1;
  const want = <i32>k;
  while (left < right) {
    const pivot = at64(a, left + ((right - left) >> 1));
    // [left, lt) < pivot, [lt, i) == pivot, (gt, right] > pivot
    let lt = left, i = left, gt = right;
    while (i <= gt) {
      const v = at64(a, i);
      if (v < pivot) { swap64(a, lt, i); lt++; i++; }
      else if (v > pivot) { swap64(a, i, gt); gt--; }
      else i++;
    }
    if (want < lt) right = lt - 1;
    else if (want > gt) left = gt + 1;
    else return pivot;
  }
  return at64(a, want);
}

let splitDim: u32 = 0, splitThr: u64 = 0;
/** The split chooseSplit chose. */
export function splitDimension(): u32 { return splitDim; }
export function splitValue(): u64 { return splitThr; }

/** Cost of splitting ids at t in dimension d: the most entries a lookup may meet below (max(L, R) + M). */
function splitCost(pool: usize, ids: usize, n: u32, d: u32, t: u64): u32 {
  let l: u32 = 0, r: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const e = entry(pool, load<u32>(ids + (<usize>i << 2)));
    if (boxHi(e, d) <= t) l++;
    else if (boxLo(e, d) > t) r++;
  }
  const mid = n - l - r;
  if (max(max(l, r), mid) >= n) return 0xffffffff; // no part smaller than the whole: no progress
  return max(l, r) + mid;
}

/** Choose splitDim/splitThr for ids; false when no split makes progress. */
export function chooseSplit(pool: usize, ids: usize, n: u32): bool {
  ensureScratch(n);
  let best: u32 = 0xffffffff;
  for (let d: u32 = 0; d < DIMS; d++) {
    // candidates: the median upper end (split just after it) and the median lower end (just before it)
    for (let c: u32 = 0; c < 2; c++) {
      for (let i: u32 = 0; i < n; i++) {
        const e = entry(pool, load<u32>(ids + (<usize>i << 2)));
        store<u64>(scratch + (<usize>i << 3), c == 0 ? boxHi(e, d) : boxLo(e, d));
      }
      let t = select(scratch, n, n >> 1);
      if (c == 1) { if (t == 0) continue; t--; }
      if (t == MAX_KEY) continue;
      const cost = splitCost(pool, ids, n, d, t);
      if (cost < best) { best = cost; splitDim = d; splitThr = t; }
    }
  }
  return best != 0xffffffff;
}

