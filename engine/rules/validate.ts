// Validation of rule-program bytes before the engine keeps any of them: a
// rule's header, predicates and action parameters are checked against the
// format version of the layer that carries it (docs/rule-program.md), so
// the evaluator (predicate.ts) can read them without bounds checks.

import { Reason } from "../../abi/reason";
import { hairpinParamsVersion } from "../hairpin/index";
import {
  ENCAP_FLAGS_V1, ENCAP_FLAGS_V2, RULE_HDR_SIZE, PRED_HDR_SIZE, ActionKind, RuleDir, SetOp, fieldKind, valueSize,
  ENCAP_PARAMS_SIZE, Field, FIRST_V3_FIELD, RANGE_VALUE_SIZE,
} from "./format";

// Rule header field offsets.
export const RH_SIZE: usize = 0;     // u16
export const RH_DIR: usize = 2;      // u8
export const RH_PREDS: usize = 3;    // u8
export const RH_PRIORITY: usize = 4; // u16
export const RH_ACTION: usize = 6;   // u8
export const RH_REASON: usize = 7;   // u8
export const RH_ID: usize = 8;       // u32
export const RH_ACTION_LEN: usize = 12; // u16

function validAction(a: u32, version: u32): bool {
  return a >= <u32>ActionKind.Allow && a <= (version >= 2 ? <u32>ActionKind.ToHost : <u32>ActionKind.Nat11Dst);
}
export function validDefault(a: u32): bool {
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
export function validateRule(rule: usize, avail: u32, version: u32): i32 {
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
  if (action == ActionKind.Hairpin && hairpinParamsVersion(load<u32>(q), q + 4, alen - 4) > version) return -Reason.BadVersion;
  return <i32>size;
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
