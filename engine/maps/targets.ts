// Encapsulation targets: where a Geneve packet for an inner address goes.
//
// One engine-wide store of entries, grouped into numbered tables: a VPC's
// virtual-to-physical mappings (V2P: guest IP → sled underlay address and
// guest MAC), the boundary-services endpoint, or the gateway host's NAT
// ingress table (external IP + port range → sled, VNI, guest MAC). Entries
// are found by (table, VNI, IP) through a hash and then by port range.
//
// A flow caches the index of its entry together with the entry's generation.
// Changing or removing an entry bumps the generation, so every flow using it
// is re-evaluated on its next packet: moving a guest re-steers established
// flows at once (OPTE issue #221), instead of waiting for them to expire.

import { Reason } from "../../abi/reason";

// Entries are 80 bytes, laid out in abi/maps.ts (hosts dump them).
export { ENTRY_SIZE, E_ENCAP_VNI, E_UNDERLAY_HI, E_UNDERLAY_LO, E_MAC, E_HITS } from "../../abi/maps";
import {
  ENTRY_SIZE, E_USED, E_GEN, E_TABLE, E_KEY_VNI, E_NEXT, E_KEY_HI, E_KEY_LO, E_PORT_LO, E_PORT_HI,
  E_ENCAP_VNI, E_UNDERLAY_HI, E_UNDERLAY_LO, E_MAC, E_HITS,
} from "../../abi/maps";

const NIL: u32 = 0xffffffff;
/** What targetFind returns when no entry matches. */
export const NO_TARGET: u32 = NIL;
export const MAX_ENTRIES: u32 = (1 << 20) - 1; // index + 1 must fit the 20-bit reference
const GEN_MASK: u32 = 0xfff;

let entries: usize = 0;
let capacity: u32 = 0;
let used: u32 = 0;       // entries handed out at least once
let freeHead: u32 = NIL;
let live: u32 = 0;
let buckets: usize = 0;  // u32 heads
let bucketMask: u32 = 0;

@inline export function entryAt(i: u32): usize { return entries + <usize>i * ENTRY_SIZE; }
export function targetsLive(): u32 { return live; }
export function targetsBase(): usize { return entries; }
export function targetsCapacity(): u32 { return used; }

function bucketOf(table: u32, vni: u32, hi: u64, lo: u64): u32 {
  let h: u64 = (<u64>table << 32) ^ <u64>vni ^ 0x9e3779b97f4a7c15;
  h = (h ^ hi) * 0xff51afd7ed558ccd;
  h = (h ^ lo) * 0xc4ceb9fe1a85ec53;
  h ^= h >> 33;
  return <u32>h & bucketMask;
}

function grow(): bool {
  if (capacity >= MAX_ENTRIES) return false;
  const newCap: u32 = capacity == 0 ? 1024 : min(capacity * 2, MAX_ENTRIES);
  const mem = heap.alloc(<usize>newCap * ENTRY_SIZE);
  if (entries != 0) {
    memory.copy(mem, entries, <usize>capacity * ENTRY_SIZE);
    heap.free(entries);
  }
  entries = mem;
  capacity = newCap;
  // Rehash into a bucket array twice the entry capacity.
  if (buckets != 0) heap.free(buckets);
  const nb = newCap * 2;
  buckets = heap.alloc(<usize>nb << 2);
  memory.fill(buckets, 0xff, <usize>nb << 2);
  bucketMask = nb - 1;
  for (let i: u32 = 0; i < used; i++) {
    const e = entryAt(i);
    if (load<u8>(e + E_USED) == 0) continue;
    const b = bucketOf(load<u32>(e + E_TABLE), load<u32>(e + E_KEY_VNI), load<u64>(e + E_KEY_HI), load<u64>(e + E_KEY_LO));
    store<u32>(e + E_NEXT, load<u32>(buckets + (<usize>b << 2)));
    store<u32>(buckets + (<usize>b << 2), i);
  }
  return true;
}

/** Find the entry for (table, vni, ip) whose port range holds `port`; NIL if none. */
export function targetFind(table: u32, vni: u32, hi: u64, lo: u64, port: u32): u32 {
  if (capacity == 0) return NIL;
  let i = load<u32>(buckets + (<usize>bucketOf(table, vni, hi, lo) << 2));
  while (i != NIL) {
    const e = entryAt(i);
    if (load<u32>(e + E_TABLE) == table && load<u32>(e + E_KEY_VNI) == vni &&
        load<u64>(e + E_KEY_HI) == hi && load<u64>(e + E_KEY_LO) == lo &&
        port >= <u32>load<u16>(e + E_PORT_LO) && port <= <u32>load<u16>(e + E_PORT_HI)) {
      return i;
    }
    i = load<u32>(e + E_NEXT);
  }
  return NIL;
}

/** Find by exact range start (for replace/remove). */
function findExact(table: u32, vni: u32, hi: u64, lo: u64, portLo: u32): u32 {
  if (capacity == 0) return NIL;
  let i = load<u32>(buckets + (<usize>bucketOf(table, vni, hi, lo) << 2));
  while (i != NIL) {
    const e = entryAt(i);
    if (load<u32>(e + E_TABLE) == table && load<u32>(e + E_KEY_VNI) == vni &&
        load<u64>(e + E_KEY_HI) == hi && load<u64>(e + E_KEY_LO) == lo &&
        <u32>load<u16>(e + E_PORT_LO) == portLo) return i;
    i = load<u32>(e + E_NEXT);
  }
  return NIL;
}

/** True when [lo, hi] overlaps another range of the same key (other than `except`). */
function overlaps(table: u32, vni: u32, khi: u64, klo: u64, lo: u32, hi: u32, except: u32): bool {
  let i = load<u32>(buckets + (<usize>bucketOf(table, vni, khi, klo) << 2));
  while (i != NIL) {
    const e = entryAt(i);
    if (i != except && load<u32>(e + E_TABLE) == table && load<u32>(e + E_KEY_VNI) == vni &&
        load<u64>(e + E_KEY_HI) == khi && load<u64>(e + E_KEY_LO) == klo &&
        lo <= <u32>load<u16>(e + E_PORT_HI) && hi >= <u32>load<u16>(e + E_PORT_LO)) return true;
    i = load<u32>(e + E_NEXT);
  }
  return false;
}

/**
 * Add or replace the entry keyed by (table, vni, ip, portLo). Returns the
 * entry index, or -Reason: BadLength for an empty range, FlowTableFull when
 * the store is full, NoEncapTarget when the range overlaps another entry.
 */
export function targetSet(table: u32, vni: u32, khi: u64, klo: u64, portLo: u32, portHi: u32,
                          encapVni: u32, uhi: u64, ulo: u64, mac: u64): i32 {
  if (portLo > portHi || portHi > 0xffff || encapVni > 0xffffff || vni > 0xffffff) return -Reason.BadArgument;
  if (capacity == 0 && !grow()) return -Reason.FlowTableFull;
  let i = findExact(table, vni, khi, klo, portLo);
  if (overlaps(table, vni, khi, klo, portLo, portHi, i)) return -Reason.NoEncapTarget;
  if (i == NIL) {
    if (freeHead == NIL && used == capacity && !grow()) return -Reason.FlowTableFull;
    if (freeHead != NIL) {
      i = freeHead;
      freeHead = load<u32>(entryAt(i) + E_NEXT);
    } else {
      i = used++;
      store<u16>(entryAt(i) + E_GEN, 0);
    }
    const e = entryAt(i);
    const gen = load<u16>(e + E_GEN);
    memory.fill(e, 0, ENTRY_SIZE);
    store<u16>(e + E_GEN, gen);
    store<u8>(e + E_USED, 1);
    store<u32>(e + E_TABLE, table);
    store<u32>(e + E_KEY_VNI, vni);
    store<u64>(e + E_KEY_HI, khi);
    store<u64>(e + E_KEY_LO, klo);
    const b = buckets + (<usize>bucketOf(table, vni, khi, klo) << 2);
    store<u32>(e + E_NEXT, load<u32>(b));
    store<u32>(b, i);
    live++;
  }
  const e = entryAt(i);
  const same = <u32>load<u16>(e + E_PORT_HI) == portHi && load<u32>(e + E_ENCAP_VNI) == encapVni &&
    load<u64>(e + E_UNDERLAY_HI) == uhi && load<u64>(e + E_UNDERLAY_LO) == ulo && load<u64>(e + E_MAC) == mac;
  store<u16>(e + E_PORT_LO, <u16>portLo);
  store<u16>(e + E_PORT_HI, <u16>portHi);
  store<u32>(e + E_ENCAP_VNI, encapVni);
  store<u64>(e + E_UNDERLAY_HI, uhi);
  store<u64>(e + E_UNDERLAY_LO, ulo);
  store<u64>(e + E_MAC, mac);
  // Identical re-add is a no-op for cached flows; any change re-steers them.
  if (!same) store<u16>(e + E_GEN, <u16>((<u32>load<u16>(e + E_GEN) + 1) & GEN_MASK));
  return <i32>i;
}

/** Remove an entry; returns false when it does not exist. */
export function targetRemove(table: u32, vni: u32, khi: u64, klo: u64, portLo: u32): bool {
  const i = findExact(table, vni, khi, klo, portLo);
  if (i == NIL) return false;
  const b = buckets + (<usize>bucketOf(table, vni, khi, klo) << 2);
  // unlink from the chain
  let prev: u32 = NIL;
  let j = load<u32>(b);
  while (j != i) { prev = j; j = load<u32>(entryAt(j) + E_NEXT); }
  const next = load<u32>(entryAt(i) + E_NEXT);
  if (prev == NIL) store<u32>(b, next); else store<u32>(entryAt(prev) + E_NEXT, next);
  const e = entryAt(i);
  store<u8>(e + E_USED, 0);
  store<u16>(e + E_GEN, <u16>((<u32>load<u16>(e + E_GEN) + 1) & GEN_MASK));
  store<u32>(e + E_NEXT, freeHead);
  freeHead = i;
  live--;
  return true;
}

/** Remove every entry of a table; returns how many. */
export function targetClearTable(table: u32): u32 {
  let n: u32 = 0;
  for (let i: u32 = 0; i < used; i++) {
    const e = entryAt(i);
    if (load<u8>(e + E_USED) != 0 && load<u32>(e + E_TABLE) == table) {
      if (targetRemove(table, load<u32>(e + E_KEY_VNI), load<u64>(e + E_KEY_HI), load<u64>(e + E_KEY_LO), <u32>load<u16>(e + E_PORT_LO))) n++;
    }
  }
  return n;
}

/** A flow's reference to an entry: index and generation in one u32. 0 = none. */
@inline export function targetRef(i: u32): u32 {
  return ((<u32>load<u16>(entryAt(i) + E_GEN) & GEN_MASK) << 20) | (i + 1);
}

/** The entry a reference names if it is still current, else 0. */
@inline export function targetDeref(ref: u32): usize {
  const i = (ref & 0xfffff) - 1;
  if (ref == 0 || i >= used) return 0;
  const e = entryAt(i);
  if (load<u8>(e + E_USED) == 0) return 0;
  if (((<u32>load<u16>(e + E_GEN) & GEN_MASK)) != (ref >> 20)) return 0;
  return e;
}
