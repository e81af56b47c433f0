// The subtrees a rule-index lookup (tree.ts) has still to search, smallest
// key first: a binary heap of (key, node) in static memory. The search always
// goes on where the smallest key not yet ruled out is, so it stops as soon as
// the best match found beats them all. Full, it refuses (the caller searches
// the subtree at once instead).
export const QUEUE_CAP: u32 = 256;
const queue: usize = memory.data(<i32>(QUEUE_CAP << 4), 8);
export let queued: u32 = 0;
export function queueClear(): void { queued = 0; }

@inline export function qKey(i: u32): u64 { return load<u64>(queue + (<usize>i << 4)); }

export function enqueue(node: u32, key: u64): bool {
  if (queued == QUEUE_CAP) return false;
  let i = queued++;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (qKey(parent) <= key) break;
    memory.copy(queue + (<usize>i << 4), queue + (<usize>parent << 4), 16);
    i = parent;
  }
  store<u64>(queue + (<usize>i << 4), key);
  store<u32>(queue + (<usize>i << 4) + 8, node);
  return true;
}

export function dequeue(): u32 {
  const top = load<u32>(queue + 8);
  queued--;
  const lastKey = qKey(queued), lastNode = load<u32>(queue + (<usize>queued << 4) + 8);
  let i: u32 = 0;
  while (true) {
    let c = i * 2 + 1;
    if (c >= queued) break;
    if (c + 1 < queued && qKey(c + 1) < qKey(c)) c++;
    if (qKey(c) >= lastKey) break;
    memory.copy(queue + (<usize>i << 4), queue + (<usize>c << 4), 16);
    i = c;
  }
  store<u64>(queue + (<usize>i << 4), lastKey);
  store<u32>(queue + (<usize>i << 4) + 8, lastNode);
  return top;
}

