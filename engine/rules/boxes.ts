// What the rule index (tree.ts) knows of a rule: boxes in a 7-dimensional
// space of header values, one box per combination of the values of its
// source/destination prefix, protocol and port predicates, each a superset of
// the packets the rule matches. A packet is a point in that space; a rule can
// only match a packet whose point lies in one of its boxes, and the index
// finds those rules without looking at the others. Everything else a rule
// says (VNI, meta registers, ICMP type, negations, mapping tables…) the
// index ignores: a candidate's predicates are evaluated in full
// (predicate.ts), so the index never changes what a rule means.
//
// Addresses are 128-bit numbers (IPv4 mapped, bytes.ts) split in two u64
// dimensions: a prefix is a box in them (a range of the high half, or one
// high half and a range of the low half). A field the packet lacks takes a
// value outside every box a non-negated predicate on it gives (protocol 256
// for non-IP frames, port 65536 without ports), as the predicate would fail.

import { PacketMeta, L3, NONE } from "../packet/meta";
import { ld64 } from "../packet/bytes";
import { Field, fieldKind, valueSize, PRED_HDR_SIZE, PRED_NEGATE, RULE_HDR_SIZE, PREFIX_VALUE_SIZE } from "./format";
import { RH_PREDS } from "./validate";

// Dimensions of the space, in the order the entry stores them.
export const D_SRC_HI: u32 = 0, D_SRC_LO: u32 = 1, D_DST_HI: u32 = 2, D_DST_LO: u32 = 3;
export const D_PROTO: u32 = 4, D_SPORT: u32 = 5, D_DPORT: u32 = 6;
export const DIMS: u32 = 7;
export const NO_PROTO: u64 = 256;   // a frame without an IP header
export const NO_PORT: u64 = 65536;  // a packet without ports (or ICMP echo identifiers)
const ALL: u64 = 0xffffffffffffffff;

// An entry: one box of one rule, in the layer's entry pool (ids are stable
// across pool growth). E_NEXT chains a rule's entries (or free entries).
export const E_KEY: usize = 0;    // u64 the rule's order key: priority << 48 | sequence
export const E_SLOT: usize = 8;   // u32 the rule's slot
export const E_NEXT: usize = 12;  // u32 next entry of the same rule, NO_ENTRY at the end
export const E_DIR: usize = 16;   // u8 the tree it is in (1 in, 2 out)
export const E_EXACT: usize = 17; // u8 1: inside the box, the rule matches when its residual holds (boxesExact)
export const E_RESIDUAL: usize = 20; // u32 the rule's residual (residual.ts)
export const E_BOX: usize = 24;   // DIMS × (lo u64, hi u64)
export const ENTRY_SIZE: usize = 24 + 16 * 7;
export const NO_ENTRY: u32 = 0xffffffff;

@inline export function boxLo(e: usize, d: u32): u64 { return load<u64>(e + E_BOX + (<usize>d << 4)); }
@inline export function boxHi(e: usize, d: u32): u64 { return load<u64>(e + E_BOX + (<usize>d << 4) + 8); }

/** The point of the packet being matched (DIMS u64 values). */
export const point: usize = memory.data(<i32>(DIMS << 3), 8);

@inline export function hasPorts(m: PacketMeta): bool {
  return m.l4 != NONE && (m.proto == 6 || m.proto == 17 || ((m.proto == 1 || m.proto == 58) && m.icmpId != NONE));
}

/** Fill `point` from the packet, as predicate.ts reads the same fields. */
export function setPoint(m: PacketMeta): void {
  const ip = m.l3Kind == L3.Ipv4 || m.l3Kind == L3.Ipv6;
  store<u64>(point, ip ? m.srcHi : 0, <usize>D_SRC_HI << 3);
  store<u64>(point, ip ? m.srcLo : 0, <usize>D_SRC_LO << 3);
  store<u64>(point, ip ? m.dstHi : 0, <usize>D_DST_HI << 3);
  store<u64>(point, ip ? m.dstLo : 0, <usize>D_DST_LO << 3);
  store<u64>(point, ip ? <u64>m.proto : NO_PROTO, <usize>D_PROTO << 3);
  const ports = hasPorts(m);
  store<u64>(point, ports ? <u64>m.srcPort : NO_PORT, <usize>D_SPORT << 3);
  store<u64>(point, ports ? <u64>m.dstPort : NO_PORT, <usize>D_DPORT << 3);
}

// ---- a rule's boxes ----------------------------------------------------------

// The indexed fields of the rule being expanded: per field, the first
// non-negated predicate's values (a later predicate on the same field only
// narrows what the rule matches, so ignoring it keeps the boxes supersets).
const F_SRC: u32 = 0, F_DST: u32 = 1, F_PROTO: u32 = 2, F_SPORT: u32 = 3, F_DPORT: u32 = 4, FIELDS: u32 = 5;
const MAX_BOXES: u32 = 32;  // more combinations than this and the widest field is bounded by one range
let exact = false;          // the boxes say exactly what the captured predicates say (none was bounded)
let ipOnly = false;         // the rule has an address predicate
const fieldVals: usize = memory.data(<i32>(FIELDS << 2));   // value pointer per field (0: unconstrained)
const fieldCount: usize = memory.data(<i32>(FIELDS << 2));  // values per field (1 when bounded)
const fieldBound: usize = memory.data(<i32>(FIELDS << 2));  // 1: use the bounding range of all values
const lo: usize = memory.data(<i32>(DIMS << 3), 8);       // the box being built
const hi: usize = memory.data(<i32>(DIMS << 3), 8);

@inline function setDim(d: u32, a: u64, b: u64): void {
  store<u64>(lo + (<usize>d << 3), a);
  store<u64>(hi + (<usize>d << 3), b);
}

/** The (hi, lo) dimension ranges of the prefix at v (16 bytes network order, then its length). */
function prefixBox(v: usize, dHi: u32, dLo: u32): void {
  const len = <u32>load<u8>(v + 16);
  const phi = ld64(v), plo = ld64(v + 8);
  if (len == 0) { setDim(dHi, 0, ALL); setDim(dLo, 0, ALL); return; }
  if (len <= 64) {
    const mask: u64 = len == 64 ? ALL : ~(ALL >> len);
    setDim(dHi, phi & mask, (phi & mask) | ~mask);
    setDim(dLo, 0, ALL);
    return;
  }
  const l2 = len - 64;
  const mask: u64 = l2 >= 64 ? ALL : ~(ALL >> l2);
  setDim(dHi, phi, phi);
  setDim(dLo, plo & mask, (plo & mask) | ~mask);
}

/** Range value j of a numeric field, clipped to [0, top]; false when it holds no value there. */
function rangeAt(vals: usize, j: u32, top: u64, d: u32): bool {
  const a = <u64>load<u32>(vals + (<usize>j << 3)), b = <u64>load<u32>(vals + (<usize>j << 3) + 4);
  if (a > b || a > top) return false;
  setDim(d, a, b > top ? top : b);
  return true;
}

const FIELD_DIM_TOP: StaticArray<u64> = [0, 0, 255, 65535, 65535];
const FIELD_DIM: StaticArray<u32> = [D_SRC_HI, D_DST_HI, D_PROTO, D_SPORT, D_DPORT];

/** Set the box's dimensions of field f to value j, or to the bounding range of all values. */
function fieldBox(f: u32, j: u32): bool {
  const vals = load<usize>(fieldVals + (<usize>f << 2));
  const d = unchecked(FIELD_DIM[f]);
  if (vals == 0) {
    if (f <= F_DST) { setDim(d, 0, ALL); setDim(d + 1, 0, ALL); }
    else setDim(d, 0, f == F_PROTO ? (ipOnly ? NO_PROTO - 1 : NO_PROTO) : NO_PORT);
    return true;
  }
  const n = load<u32>(fieldCount + (<usize>f << 2));
  if (load<u32>(fieldBound + (<usize>f << 2)) == 0) {
    if (f <= F_DST) { prefixBox(vals + <usize>j * PREFIX_VALUE_SIZE, d, d + 1); return true; }
    return rangeAt(vals, j, unchecked(FIELD_DIM_TOP[f]), d);
  }
  // bounded: the smallest range covering every value (per dimension)
  let a0: u64 = ALL, b0: u64 = 0, a1: u64 = ALL, b1: u64 = 0;
  let any = false;
  for (let k: u32 = 0; k < n; k++) {
    if (f <= F_DST) prefixBox(vals + <usize>k * PREFIX_VALUE_SIZE, d, d + 1);
    else if (!rangeAt(vals, k, unchecked(FIELD_DIM_TOP[f]), d)) continue;
    any = true;
    a0 = min(a0, load<u64>(lo + (<usize>d << 3))); b0 = max(b0, load<u64>(hi + (<usize>d << 3)));
    if (f <= F_DST) { a1 = min(a1, load<u64>(lo + (<usize>(d + 1) << 3))); b1 = max(b1, load<u64>(hi + (<usize>(d + 1) << 3))); }
  }
  if (!any) return false;
  setDim(d, a0, b0);
  if (f <= F_DST) setDim(d + 1, a1, b1);
  return true;
}

/** Read the indexed fields of `rule`; returns how many boxes it expands to. */
function readFields(rule: usize): u32 {
  memory.fill(fieldVals, 0, FIELDS << 2);
  memory.fill(fieldBound, 0, FIELDS << 2);
  let q = rule + RULE_HDR_SIZE;
  const n = <u32>load<u8>(rule + RH_PREDS);
  exact = true;
  for (let i: u32 = 0; i < n; i++) {
    const f = <u32>load<u8>(q);
    const cnt = <u32>load<u16>(q + 2);
    let which: i32 = -1;
    switch (f) {
      case Field.SrcIp: which = F_SRC; break;
      case Field.DstIp: which = F_DST; break;
      case Field.Proto: which = F_PROTO; break;
      case Field.SrcPort: which = F_SPORT; break;
      case Field.DstPort: which = F_DPORT; break;
    }
    // anything else is the rule's residual (residual.ts)
    if (which >= 0 && (<u32>load<u8>(q + 1) & PRED_NEGATE) == 0 && load<usize>(fieldVals + (<usize>which << 2)) == 0) {
      store<usize>(fieldVals + (<usize>which << 2), q + PRED_HDR_SIZE);
      store<u32>(fieldCount + (<usize>which << 2), cnt);
    }
    q += <usize>PRED_HDR_SIZE + <usize>cnt * <usize>valueSize(fieldKind(f));
  }
  // an address predicate only holds for IP packets: so protocol ≤ 255, which keeps non-IP frames out
  ipOnly = load<usize>(fieldVals + (<usize>F_SRC << 2)) != 0 || load<usize>(fieldVals + (<usize>F_DST << 2)) != 0;
  let total: u32 = 1;
  while (true) {
    total = 1;
    let widest: u32 = 0, most: u32 = 1;
    for (let f: u32 = 0; f < FIELDS; f++) {
      if (load<usize>(fieldVals + (<usize>f << 2)) == 0 || load<u32>(fieldBound + (<usize>f << 2)) != 0) continue;
      const c = load<u32>(fieldCount + (<usize>f << 2));
      total *= c;
      if (c > most) { most = c; widest = f; }
      if (total > MAX_BOXES) break;
    }
    if (total <= MAX_BOXES) return total;
    store<u32>(fieldBound + (<usize>widest << 2), 1);
    exact = false;
  }
  return total;
}

/**
 * The boxes of a rule: `boxesOf(rule)` reads its predicates and says how many
 * combinations there are; `boxAt(k)` fills BOX_LO / BOX_HI (DIMS u64 each)
 * with combination k, or returns false when one of its values can hold no
 * packet (a protocol above 255, say). A rule whose every box is empty can
 * never match and needs no entry.
 */
export function boxesOf(rule: usize): u32 { return readFields(rule); }
/**
 * After boxesOf: a packet in one of the boxes meets all the predicates the
 * boxes captured (none had to be bounded), so only the rest (the residual)
 * is left to evaluate.
 */
export function boxesExact(): bool { return exact; }

/** After boxesOf: is the predicate at `q` one the boxes say (not part of the residual)? */
export function isCaptured(q: usize): bool {
  const v = q + PRED_HDR_SIZE;
  for (let f: u32 = 0; f < FIELDS; f++) if (load<usize>(fieldVals + (<usize>f << 2)) == v) return true;
  return false;
}
export const BOX_LO = lo;
export const BOX_HI = hi;

export function boxAt(k: u32): bool {
  let rest = k;
  for (let f: u32 = 0; f < FIELDS; f++) {
    const bounded = load<u32>(fieldBound + (<usize>f << 2)) != 0 || load<usize>(fieldVals + (<usize>f << 2)) == 0;
    const c = bounded ? 1 : load<u32>(fieldCount + (<usize>f << 2));
    if (!fieldBox(f, rest % c)) return false;
    rest /= c;
  }
  return true;
}
