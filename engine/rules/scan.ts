// The reference match: a layer direction's rules scanned in evaluation order,
// the first whose predicates hold deciding (what the engine did before the
// rule index; tests hold the index to it and the bench measures against it).
// Rules whose protocol predicate excludes the packet's protocol class are
// skipped without evaluating them.

import { PacketMeta, L3 } from "../packet/meta";
import { predicatesHold } from "./predicate";
import { RULE_HDR_SIZE, PRED_HDR_SIZE, fieldKind, valueSize, Field } from "./format";
import { RH_PREDS } from "./validate";
import { NO_SLOT, S_RULE, SLOT_SIZE } from "./tree";

export const S_CLASSES: usize = 5;  // u8 slot field: protocol classes the rule can match

// The scan skips rules that cannot match the packet's protocol class.
const C_TCP: u32 = 0, C_UDP: u32 = 1, C_ICMP: u32 = 2, C_ICMP6: u32 = 3, C_OTHER_IP: u32 = 4, C_NON_IP: u32 = 5;
const ALL_CLASSES: u32 = 0x3f;

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
export function ruleClasses(rule: usize): u32 {
  let q = rule + RULE_HDR_SIZE;
  const n = <u32>load<u8>(rule + RH_PREDS);
  let classes: u32 = ALL_CLASSES;
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

/** The first slot of `list` (n slots in evaluation order) whose rule's predicates hold, or NO_SLOT. */
export function scanMatch(list: usize, n: u32, slots: usize, m: PacketMeta): u32 {
  const bit: u32 = 1 << protoClass(m);
  for (let i: u32 = 0; i < n; i++) {
    const slot = load<u32>(list + (<usize>i << 2));
    const s = slots + <usize>slot * SLOT_SIZE;
    if ((<u32>load<u8>(s + S_CLASSES) & bit) == 0) continue;
    const rule = load<usize>(s + S_RULE);
    if (predicatesHold(m, rule + RULE_HDR_SIZE, <u32>load<u8>(rule + RH_PREDS))) return slot;
  }
  return NO_SLOT;
}

