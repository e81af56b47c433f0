// Rule matching internals exported for vitest: the first matching rule of a
// port's layer for the frame in the scratch buffer, found by the rule index
// or by the reference scan, so tests can hold the two to deciding alike.

import { portAt, portLayer } from "../port";
import { PacketMeta } from "../packet/meta";
import { layerMatch, layerMatchScan, slotPosition, NO_SLOT } from "../rules/layer";
import { setFlowHashForRules, setPortVniForRules, metaRegs } from "../rules/predicate";
import { metaPtr, parseFrameAt } from "./packet";

export const RULE_MATCH_NONE: u32 = 0xffffffff;       // no rule matched: the default decides
export const RULE_MATCH_UNPARSED: u32 = 0xfffffffe;   // the frame did not parse

/**
 * Parse the `len` bytes in the scratch buffer, then find the first rule of
 * layer `li` of port `id` matching it in direction `dir` (1 in, 2 out): by
 * the index (`scan` false) or by scanning the rules in order (`scan` true).
 * `flowHash` and `meta0` are what the pipeline would have set for rules to
 * match. Returns the rule's position in the layer or RULE_MATCH_*.
 */
export function ruleMatchAt(id: u32, li: u32, dir: u32, len: u32, encap: bool, scan: bool, flowHash: u32, meta0: u32): u32 {
  const p = portAt(id);
  if (p == null || li >= p.layerCount) return RULE_MATCH_UNPARSED;
  if (parseFrameAt(len, encap) != 0) return RULE_MATCH_UNPARSED;
  const m = changetype<PacketMeta>(metaPtr());
  setFlowHashForRules(flowHash);
  setPortVniForRules(p.vni);
  memory.fill(metaRegs, 0, 16);
  store<u32>(metaRegs, meta0);
  const l = portLayer(p, li);
  const slot = scan ? layerMatchScan(l, dir, m) : layerMatch(l, dir, m);
  return slot == NO_SLOT ? RULE_MATCH_NONE : slotPosition(l, slot);
}
