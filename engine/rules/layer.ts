// A layer: an ordered list of rules plus a default action per direction
// (OPTE's Layer; RFD 63 "a series of per-guest virtual NIC layers").
//
// The engine keeps the validated program bytes and, per direction, the rule
// offsets sorted by (priority, position). The first rule whose predicates all
// hold decides; if none does, the layer's default action for the direction.

import { Reason } from "../../abi/reason";
import { PacketMeta, L3 } from "../packet/meta";
import { predicatesHold } from "./predicate";
import {
  LAYER_MAGIC, PROGRAM_VERSION, OLDEST_PROGRAM_VERSION, ENCAP_FLAGS_V1, ENCAP_FLAGS_V2, LAYER_HDR_SIZE, RULE_HDR_SIZE, PRED_HDR_SIZE,
  MAX_RULES_PER_LAYER, ActionKind, RuleDir, SetOp, fieldKind, valueSize, ENCAP_PARAMS_SIZE, Field,
  FIRST_V3_FIELD, RANGE_VALUE_SIZE,
} from "./format";

@unmanaged
export class Layer {
  blob: usize;        // copy of the layer bytes (rules are evaluated in place)
  blobLen: u32;
  ruleCount: u32;
  defaultIn: u32;
  defaultOut: u32;
  sortedIn: usize;    // u32 rule offsets into blob, in evaluation order
  countIn: u32;
  sortedOut: usize;
  countOut: u32;
  bucketsIn: usize;   // per protocol class: u32 rule offsets in evaluation order (PROTO_CLASSES × ruleCount)
  bucketsOut: usize;
  bucketCounts: usize; // u32 × PROTO_CLASSES × 2 (in, then out)
  ruleHits: usize;    // u64 hits per rule, by position in the program
  ruleOffsets: usize; // u32 offset of each rule by position
  hitsIn: u64;        // packets this layer evaluated (slow path)
  hitsOut: u64;
  defaultHitsIn: u64;
  defaultHitsOut: u64;
  denies: u64;
}

// Rule header field offsets.
export const RH_SIZE: usize = 0;     // u16
export const RH_DIR: usize = 2;      // u8
export const RH_PREDS: usize = 3;    // u8
export const RH_PRIORITY: usize = 4; // u16
export const RH_ACTION: usize = 6;   // u8
export const RH_REASON: usize = 7;   // u8
export const RH_ID: usize = 8;       // u32
export const RH_ACTION_LEN: usize = 12; // u16

// A packet only needs the rules that could match its protocol: each
// direction's rules are also kept in one list per protocol class, in the same
// order. A rule with no (non-negated) protocol predicate is in every list.
export const PROTO_CLASSES: u32 = 6;
const C_TCP: u32 = 0, C_UDP: u32 = 1, C_ICMP: u32 = 2, C_ICMP6: u32 = 3, C_OTHER_IP: u32 = 4, C_NON_IP: u32 = 5;

@inline function protoClass(m: PacketMeta): u32 {
  if (m.l3Kind != L3.Ipv4 && m.l3Kind != L3.Ipv6) return C_NON_IP;
  switch (m.proto) {
    case 6: return C_TCP;
    case 17: return C_UDP;
    case 1: return C_ICMP;
    case 58: return C_ICMP6;
  }
  return C_OTHER_IP;
}

@inline function within(lo: u32, hi: u32, v: u32): bool { return lo <= v && v <= hi; }

/** Bit per protocol class the rule can match. */
function ruleClasses(rule: usize): u32 {
  let q = rule + RULE_HDR_SIZE;
  const n = <u32>load<u8>(rule + RH_PREDS);
  let classes: u32 = (1 << PROTO_CLASSES) - 1;
  for (let i: u32 = 0; i < n; i++) {
    const f = <u32>load<u8>(q);
    const negate = (<u32>load<u8>(q + 1) & 1) != 0;
    const cnt = <u32>load<u16>(q + 2);
    if (f == <u32>Field.Proto && !negate) {
      let c: u32 = 0;
      for (let j: u32 = 0; j < cnt; j++) {
        const lo = load<u32>(q + PRED_HDR_SIZE + (<usize>j << 3)), hi = load<u32>(q + PRED_HDR_SIZE + (<usize>j << 3) + 4);
        const tcp = within(lo, hi, 6), udp = within(lo, hi, 17), icmp = within(lo, hi, 1), icmp6 = within(lo, hi, 58);
        if (tcp) c |= 1 << C_TCP;
        if (udp) c |= 1 << C_UDP;
        if (icmp) c |= 1 << C_ICMP;
        if (icmp6) c |= 1 << C_ICMP6;
        // any value in the range other than the four above
        const named: u32 = (tcp ? 1 : 0) + (udp ? 1 : 0) + (icmp ? 1 : 0) + (icmp6 ? 1 : 0);
        if (hi >= lo && hi - lo + 1 > named) c |= 1 << C_OTHER_IP;
      }
      classes &= c; // a protocol predicate never matches a non-IP frame
    }
    q += <usize>PRED_HDR_SIZE + <usize>cnt * <usize>valueSize(fieldKind(f));
  }
  return classes;
}

/** Offset of a rule's action parameters (after its predicates). */
export function ruleParams(rule: usize): usize {
  let q = rule + RULE_HDR_SIZE;
  const n = <u32>load<u8>(rule + RH_PREDS);
  for (let i: u32 = 0; i < n; i++) {
    const cnt = <u32>load<u16>(q + 2);
    q += <usize>PRED_HDR_SIZE + <usize>cnt * <usize>valueSize(fieldKind(<u32>load<u8>(q)));
  }
  return q;
}

function validAction(a: u32, version: u32): bool {
  return a >= <u32>ActionKind.Allow && a <= (version >= 2 ? <u32>ActionKind.ToHost : <u32>ActionKind.Nat11Dst);
}
function validDefault(a: u32): bool {
  return a == ActionKind.Allow || a == ActionKind.Deny || a == ActionKind.StatefulAllow;
}

function validSetOps(p: usize, len: u32): bool {
  let off: u32 = 0;
  while (off < len) {
    if (off + 4 > len) return false;
    const op = <u32>load<u8>(p + off);
    const vlen = <u32>load<u8>(p + off + 1);
    let want: u32;
    switch (op) {
      case SetOp.EthSrc: case SetOp.EthDst: want = 8; break;
      case SetOp.IpSrc: case SetOp.IpDst: want = 16; break;
      case SetOp.Sport: case SetOp.Dport: case SetOp.Meta0: case SetOp.Meta1:
      case SetOp.Meta2: case SetOp.Meta3: case SetOp.Meter: want = 4; break;
      case SetOp.TtlDec: want = 0; break;
      default: return false;
    }
    if (vlen != want) return false;
    off += 4 + ((vlen + 3) & ~3);
    if (off > len) return false;
  }
  return true;
}

function validParams(action: u32, p: usize, len: u32, version: u32): bool {
  switch (action) {
    case ActionKind.Allow: case ActionKind.Deny: case ActionKind.StatefulAllow: case ActionKind.Decap:
    case ActionKind.ToHost:
      return len == 0;
    case ActionKind.Modify: return validSetOps(p, len);
    case ActionKind.Hairpin: return len >= 4;
    case ActionKind.Encap:
      return len == ENCAP_PARAMS_SIZE && (load<u32>(p) & ~(version >= 2 ? ENCAP_FLAGS_V2 : ENCAP_FLAGS_V1)) == 0;
    case ActionKind.Snat: return len == 4;
    case ActionKind.Nat11Src: case ActionKind.Nat11Dst: return len == 16;
  }
  return false;
}

/** Check one rule at `rule` with `avail` bytes left; returns its size or -Reason. */
function validateRule(rule: usize, avail: u32, version: u32): i32 {
  if (avail < RULE_HDR_SIZE) return -Reason.Truncated;
  const size = <u32>load<u16>(rule + RH_SIZE);
  if (size < RULE_HDR_SIZE || (size & 3) != 0) return -Reason.BadHeaderLength;
  if (size > avail) return -Reason.Truncated;
  const dir = <u32>load<u8>(rule + RH_DIR);
  if (dir < <u32>RuleDir.In || dir > <u32>RuleDir.Both) return -Reason.BadVersion;
  const action = <u32>load<u8>(rule + RH_ACTION);
  if (!validAction(action, version)) return -Reason.BadVersion;
  const reason = <u32>load<u8>(rule + RH_REASON);
  if (reason >= <u32>Reason.Count) return -Reason.BadVersion;
  const end = rule + size;
  let q = rule + RULE_HDR_SIZE;
  const n = <u32>load<u8>(rule + RH_PREDS);
  for (let i: u32 = 0; i < n; i++) {
    if (q + PRED_HDR_SIZE > end) return -Reason.Truncated;
    const f = <u32>load<u8>(q);
    const kind = fieldKind(f);
    if (kind == 0 || (f >= FIRST_V3_FIELD && version < 3)) return -Reason.BadVersion;
    const cnt = <u32>load<u16>(q + 2);
    if (cnt == 0) return -Reason.BadLength;
    if (f == Field.DstMapped && q + PRED_HDR_SIZE + <usize>cnt * RANGE_VALUE_SIZE <= end) {
      // each value names one table: a range would make one predicate a table scan
      for (let j: u32 = 0; j < cnt; j++) {
        const v = q + PRED_HDR_SIZE + (<usize>j << 3);
        if (load<u32>(v) != load<u32>(v + 4)) return -Reason.BadLength;
      }
    }
    q += <usize>PRED_HDR_SIZE + <usize>cnt * <usize>valueSize(kind);
    if (q > end) return -Reason.Truncated;
  }
  const alen = <u32>load<u16>(rule + RH_ACTION_LEN);
  if (q + alen > end) return -Reason.Truncated;
  if (!validParams(action, q, alen, version)) return -Reason.BadLength;
  return <i32>size;
}

// Sort keys (priority << 48 | position << 32 | offset) ascending: heap sort, no allocation.
function siftDown(a: usize, start: u32, end: u32): void {
  let root = start;
  while (true) {
    let child = root * 2 + 1;
    if (child >= end) return;
    if (child + 1 < end && load<u64>(a + (<usize>(child + 1) << 3)) > load<u64>(a + (<usize>child << 3))) child++;
    const rv = load<u64>(a + (<usize>root << 3));
    const cv = load<u64>(a + (<usize>child << 3));
    if (rv >= cv) return;
    store<u64>(a + (<usize>root << 3), cv);
    store<u64>(a + (<usize>child << 3), rv);
    root = child;
  }
}
function sortKeys(a: usize, n: u32): void {
  if (n < 2) return;
  for (let i = <i32>(n / 2) - 1; i >= 0; i--) siftDown(a, <u32>i, n);
  for (let end = n - 1; end > 0; end--) {
    const t = load<u64>(a);
    store<u64>(a, load<u64>(a + (<usize>end << 3)));
    store<u64>(a + (<usize>end << 3), t);
    siftDown(a, 0, end);
  }
}

/**
 * Validate a layer program at `src` (`len` bytes) and build a Layer from a
 * private copy of it. Returns the Layer pointer, or -Reason (as a negative
 * number cast to usize is avoided: the reason is written to `errOut`).
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
  l.blob = heap.alloc(len);
  memory.copy(l.blob, src, len);
  l.blobLen = len;
  l.ruleCount = count;
  l.defaultIn = defIn;
  l.defaultOut = defOut;
  const n = max<u32>(count, 1);
  l.ruleHits = heap.alloc(<usize>n << 3);
  memory.fill(l.ruleHits, 0, <usize>n << 3);
  l.ruleOffsets = heap.alloc(<usize>n << 2);
  l.sortedIn = heap.alloc(<usize>n << 2);
  l.sortedOut = heap.alloc(<usize>n << 2);
  l.bucketsIn = heap.alloc(<usize>n * PROTO_CLASSES << 2);
  l.bucketsOut = heap.alloc(<usize>n * PROTO_CLASSES << 2);
  l.bucketCounts = heap.alloc(<usize>PROTO_CLASSES * 2 << 2);
  const keys = heap.alloc(<usize>n << 3);
  // collect and sort each direction
  for (let pass: u32 = 0; pass < 2; pass++) {
    const want: u32 = pass == 0 ? RuleDir.In : RuleDir.Out;
    let k: u32 = 0;
    off = LAYER_HDR_SIZE;
    for (let i: u32 = 0; i < count; i++) {
      const rule = l.blob + off;
      if (pass == 0) store<u32>(l.ruleOffsets + (<usize>i << 2), off);
      if ((<u32>load<u8>(rule + RH_DIR) & want) != 0) {
        store<u64>(keys + (<usize>k << 3), (<u64>load<u16>(rule + RH_PRIORITY) << 48) | (<u64>i << 32) | <u64>off);
        k++;
      }
      off += <u32>load<u16>(rule + RH_SIZE);
    }
    sortKeys(keys, k);
    const dst = pass == 0 ? l.sortedIn : l.sortedOut;
    for (let j: u32 = 0; j < k; j++) store<u32>(dst + (<usize>j << 2), <u32>load<u64>(keys + (<usize>j << 3)));
    if (pass == 0) l.countIn = k; else l.countOut = k;
    // per protocol class, in the same order
    const buckets = pass == 0 ? l.bucketsIn : l.bucketsOut;
    for (let c: u32 = 0; c < PROTO_CLASSES; c++) {
      let nc: u32 = 0;
      const list = buckets + (<usize>c * <usize>n << 2);
      for (let j: u32 = 0; j < k; j++) {
        const off = load<u32>(dst + (<usize>j << 2));
        if ((ruleClasses(l.blob + off) & (1 << c)) != 0) {
          store<u32>(list + (<usize>nc << 2), off);
          nc++;
        }
      }
      store<u32>(l.bucketCounts + (<usize>(pass * PROTO_CLASSES + c) << 2), nc);
    }
  }
  heap.free(keys);
  return changetype<usize>(l);
}

export function layerFree(l: Layer): void {
  heap.free(l.blob);
  heap.free(l.ruleHits);
  heap.free(l.ruleOffsets);
  heap.free(l.sortedIn);
  heap.free(l.sortedOut);
  heap.free(l.bucketsIn);
  heap.free(l.bucketsOut);
  heap.free(l.bucketCounts);
  heap.free(changetype<usize>(l));
}

/** Position of a rule (index into ruleHits) from its offset. */
export function rulePosition(l: Layer, rule: usize): u32 {
  const off = <u32>(rule - l.blob);
  // rules are few per packet decision on the slow path; binary search the offsets
  let lo: u32 = 0, hi: u32 = l.ruleCount;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const v = load<u32>(l.ruleOffsets + (<usize>mid << 2));
    if (v == off) return mid;
    if (v < off) lo = mid + 1; else hi = mid;
  }
  return 0;
}

/** The first matching rule for `dir` (1 in, 2 out), or 0 for "use the default". */
export function layerMatch(l: Layer, dir: u32, m: PacketMeta): usize {
  const c = protoClass(m);
  const stride = max<u32>(l.ruleCount, 1);
  const list = (dir == RuleDir.In ? l.bucketsIn : l.bucketsOut) + (<usize>c * <usize>stride << 2);
  const n = load<u32>(l.bucketCounts + (<usize>((dir == RuleDir.In ? 0 : PROTO_CLASSES) + c) << 2));
  for (let i: u32 = 0; i < n; i++) {
    const rule = l.blob + <usize>load<u32>(list + (<usize>i << 2));
    if (predicatesHold(m, rule + RULE_HDR_SIZE, <u32>load<u8>(rule + RH_PREDS))) return rule;
  }
  return 0;
}

/** The layer's name (16 bytes, NUL padded) starts here. */
export function layerNamePtr(l: Layer): usize { return l.blob + 8; }

@inline function statefulAction(a: u32): bool {
  return a == ActionKind.StatefulAllow || a == ActionKind.Snat || a == ActionKind.Nat11Src || a == ActionKind.Nat11Dst;
}

/** Does the layer record decisions in flows (a stateful default or rule)? */
export function layerIsStateful(l: Layer): bool {
  if (statefulAction(l.defaultIn) || statefulAction(l.defaultOut)) return true;
  for (let i: u32 = 0; i < l.ruleCount; i++) {
    if (statefulAction(<u32>load<u8>(l.blob + <usize>load<u32>(l.ruleOffsets + (<usize>i << 2)) + RH_ACTION))) return true;
  }
  return false;
}
