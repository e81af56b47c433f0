// Residuals: the predicates of a rule that its boxes (boxes.ts) do not say —
// VNI, Geneve options, meta registers, mapping tables, ICMP types, a second
// predicate on an indexed field, negations. Rules share them: every "from
// this VPC" rule of a firewall has the same VNI and External-option
// predicates, whatever its ports. So a layer interns each distinct residual
// once, and a lookup evaluates each at most once per packet, remembering the
// answer (`memo`, stamped with a per-lookup generation): a packet that is not
// from the VPC fails that residual once, not once per rule.
//
// Id 0 is the empty residual, which always holds.

import { PacketMeta } from "../packet/meta";
import { predicatesHold } from "./predicate";
import { RULE_HDR_SIZE, PRED_HDR_SIZE, fieldKind, valueSize } from "./format";
import { RH_PREDS } from "./validate";
import { isCaptured } from "./boxes";

// An interned residual.
const R_BYTES: usize = 0;   // usize its predicates, as encoded in the rule
const R_LEN: usize = 4;     // u32
const R_PREDS: usize = 8;   // u32 predicate count
const R_REFS: usize = 12;   // u32 rules holding it (0: free, R_NEXT chains free ids)
const R_HASH: usize = 16;   // u32
const R_NEXT: usize = 20;   // u32 next id in its hash bucket (or free chain)
const R_SIZE: usize = 24;
const NIL: u32 = 0;

@unmanaged
export class Residuals {
  items: usize;
  cap: u32;       // ids below cap exist (0 never used)
  free: u32;      // chain of free ids
  buckets: usize; // u32 first id per bucket
  nbuckets: u32;  // a power of two
  used: u32;
  memo: usize;    // u32 per id: generation << 1 | holds
  gen: u32;
}

@inline function item(rs: Residuals, id: u32): usize { return rs.items + <usize>id * R_SIZE; }

export function residualsNew(): Residuals {
  const rs = changetype<Residuals>(heap.alloc(offsetof<Residuals>()));
  memory.fill(changetype<usize>(rs), 0, offsetof<Residuals>());
  rs.cap = 16;
  rs.items = heap.alloc(<usize>rs.cap * R_SIZE);
  memory.fill(rs.items, 0, <usize>rs.cap * R_SIZE);
  for (let i: u32 = rs.cap - 1; i >= 1; i--) store<u32>(item(rs, i) + R_NEXT, i + 1 < rs.cap ? i + 1 : NIL);
  rs.free = 1;
  rs.nbuckets = 16;
  rs.buckets = heap.alloc(<usize>rs.nbuckets << 2);
  memory.fill(rs.buckets, 0, <usize>rs.nbuckets << 2);
  rs.memo = heap.alloc(<usize>rs.cap << 2);
  memory.fill(rs.memo, 0, <usize>rs.cap << 2);
  rs.gen = 1;
  return rs;
}

export function residualsFree(rs: Residuals): void {
  for (let i: u32 = 1; i < rs.cap; i++) if (load<u32>(item(rs, i) + R_REFS) != 0) heap.free(load<usize>(item(rs, i) + R_BYTES));
  heap.free(rs.items);
  heap.free(rs.buckets);
  heap.free(rs.memo);
  heap.free(changetype<usize>(rs));
}

function grow(rs: Residuals): void {
  const old = rs.cap, cap = old * 2;
  rs.items = heap.realloc(rs.items, <usize>cap * R_SIZE);
  memory.fill(item(rs, old), 0, <usize>(cap - old) * R_SIZE);
  for (let i = old; i < cap; i++) store<u32>(item(rs, i) + R_NEXT, i + 1 < cap ? i + 1 : rs.free);
  rs.free = old;
  rs.memo = heap.realloc(rs.memo, <usize>cap << 2);
  memory.fill(rs.memo + (<usize>old << 2), 0, <usize>(cap - old) << 2);
  rs.cap = cap;
  // more buckets, rehashed
  heap.free(rs.buckets);
  rs.nbuckets = cap;
  rs.buckets = heap.alloc(<usize>cap << 2);
  memory.fill(rs.buckets, 0, <usize>cap << 2);
  for (let i: u32 = 1; i < old; i++) {
    const it = item(rs, i);
    if (load<u32>(it + R_REFS) == 0) continue;
    const b = rs.buckets + (<usize>(load<u32>(it + R_HASH) & (cap - 1)) << 2);
    store<u32>(it + R_NEXT, load<u32>(b));
    store<u32>(b, i);
  }
}

function hashBytes(p: usize, len: u32): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i: u32 = 0; i < len; i++) h = (h ^ <u32>load<u8>(p + i)) * 0x01000193;
  return h;
}

/**
 * The residual of `rule` (after boxesOf(rule): its predicates the boxes did
 * not capture), interned; the rule holds a reference until residualRelease.
 */
export function residualOf(rs: Residuals, rule: usize): u32 {
  const n = <u32>load<u8>(rule + RH_PREDS);
  // the residual predicates, copied out in order
  let q = rule + RULE_HDR_SIZE;
  let len: u32 = 0, preds: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const size = <u32>PRED_HDR_SIZE + <u32>load<u16>(q + 2) * valueSize(fieldKind(<u32>load<u8>(q)));
    if (!isCaptured(q)) { len += size; preds++; }
    q += size;
  }
  if (preds == 0) return 0;
  const bytes = heap.alloc(len);
  q = rule + RULE_HDR_SIZE;
  let off: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const size = <u32>PRED_HDR_SIZE + <u32>load<u16>(q + 2) * valueSize(fieldKind(<u32>load<u8>(q)));
    if (!isCaptured(q)) { memory.copy(bytes + off, q, size); off += size; }
    q += size;
  }
  const h = hashBytes(bytes, len);
  let id = load<u32>(rs.buckets + (<usize>(h & (rs.nbuckets - 1)) << 2));
  while (id != NIL) {
    const it = item(rs, id);
    if (load<u32>(it + R_HASH) == h && load<u32>(it + R_LEN) == len && memory.compare(load<usize>(it + R_BYTES), bytes, len) == 0) {
      heap.free(bytes);
      store<u32>(it + R_REFS, load<u32>(it + R_REFS) + 1);
      return id;
    }
    id = load<u32>(it + R_NEXT);
  }
  if (rs.free == NIL) grow(rs);
  id = rs.free;
  const it = item(rs, id);
  rs.free = load<u32>(it + R_NEXT);
  store<usize>(it + R_BYTES, bytes);
  store<u32>(it + R_LEN, len);
  store<u32>(it + R_PREDS, preds);
  store<u32>(it + R_REFS, 1);
  store<u32>(it + R_HASH, h);
  const b = rs.buckets + (<usize>(h & (rs.nbuckets - 1)) << 2);
  store<u32>(it + R_NEXT, load<u32>(b));
  store<u32>(b, id);
  store<u32>(rs.memo + (<usize>id << 2), 0);
  rs.used++;
  return id;
}

/** A rule no longer holds residual `id`. */
export function residualRelease(rs: Residuals, id: u32): void {
  if (id == 0) return;
  const it = item(rs, id);
  const refs = load<u32>(it + R_REFS) - 1;
  store<u32>(it + R_REFS, refs);
  if (refs != 0) return;
  // unlink from its bucket, then free
  let at = rs.buckets + (<usize>(load<u32>(it + R_HASH) & (rs.nbuckets - 1)) << 2);
  while (load<u32>(at) != id) at = item(rs, load<u32>(at)) + R_NEXT;
  store<u32>(at, load<u32>(it + R_NEXT));
  heap.free(load<usize>(it + R_BYTES));
  store<u32>(it + R_NEXT, rs.free);
  rs.free = id;
  rs.used--;
}

/** A new packet: forget the answers of the last one. */
export function residualsBegin(rs: Residuals): void {
  rs.gen++;
  if (rs.gen == 0x80000000) { memory.fill(rs.memo, 0, <usize>rs.cap << 2); rs.gen = 1; }
}

/** Does residual `id` hold for the packet (evaluated once per packet)? */
export function residualHolds(rs: Residuals, id: u32, m: PacketMeta): bool {
  if (id == 0) return true;
  const memo = rs.memo + (<usize>id << 2);
  const v = load<u32>(memo);
  if ((v >> 1) == rs.gen) return (v & 1) != 0;
  const it = item(rs, id);
  const holds = predicatesHold(m, load<usize>(it + R_BYTES), load<u32>(it + R_PREDS));
  store<u32>(memo, (rs.gen << 1) | (holds ? 1 : 0));
  return holds;
}
