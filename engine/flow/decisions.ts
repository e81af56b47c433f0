// What open flows keep of the stateful layers' decisions when the port's
// rules change.
//
// A flow's reply passes a stateful layer on the decision the layer made for
// the flow's first direction (its layer bits), without the layer's rules. A
// rule change must not leave that door open: OPTE clears a layer's flow
// table when its rules are set (Layer::set_rules), so after a firewall change
// the next packet of an open flow, in either direction, meets the new rules
// in its own direction (uft_lft_invalidation_in: the reply of a connection
// the new rules deny outbound is dropped by the inbound default). The same
// happens here, per layer:
//
// - a layer whose program bytes did not change keeps its decisions;
// - a changed layer forgets its plain allows (the firewall's state): the
//   flow's next packet from its first direction records them again if the new
//   rules still allow it; until then its replies meet the rules of their own
//   direction;
// - NAT decisions stay (they hold a binding, and OPTE keeps NAT entries,
//   marked for re-checking, across NAT rule changes): the next packet of the
//   flow's first direction re-decides them with the binding it has.
//
// Decisions are stored by layer position, so a whole new program (layers
// added, removed or reordered) carries each layer's decisions to its new
// position by name.

import { Port } from "../port";
import { recordAt } from "./table";
import { R_FLAGS, RF_LIVE, R_LAYER_BITS, R_DIRTY, LayerBit } from "./record";

/** Per new layer: where its decisions come from (an old layer index, or NO_SOURCE) and whether that layer changed. */
export const NO_SOURCE: u32 = 0xff;
const MAX_DECISION_LAYERS: u32 = 8; // 4 bits each in a u32

const srcOf: usize = memory.data(<i32>MAX_DECISION_LAYERS);
const changedOf: usize = memory.data(<i32>MAX_DECISION_LAYERS);

/** Start a remap that leaves every layer's decisions where they are. */
export function decisionsBegin(): void {
  for (let i: u32 = 0; i < MAX_DECISION_LAYERS; i++) store<u8>(srcOf + i, <u8>i);
  memory.fill(changedOf, 0, MAX_DECISION_LAYERS);
}

/**
 * New layer `to` takes the decisions of old layer `from` (NO_SOURCE: none,
 * a layer that is new or gone); `changed`: its rules are not the same.
 */
export function decisionsFrom(to: u32, from: u32, changed: bool): void {
  if (to >= MAX_DECISION_LAYERS) return;
  store<u8>(srcOf + to, <u8>(from < MAX_DECISION_LAYERS ? from : NO_SOURCE));
  store<u8>(changedOf + to, changed ? 1 : 0);
}

/** Does the remap leave every flow's decisions as they are? */
function identity(): bool {
  for (let i: u32 = 0; i < MAX_DECISION_LAYERS; i++) {
    if (<u32>load<u8>(srcOf + i) != i || load<u8>(changedOf + i) != 0) return false;
  }
  return true;
}

@inline function remapBits(all: u32): u32 {
  let out: u32 = 0;
  for (let i: u32 = 0; i < MAX_DECISION_LAYERS; i++) {
    const from = <u32>load<u8>(srcOf + i);
    if (from == NO_SOURCE) continue;
    let bits = (all >> (from << 2)) & 0xf;
    if (load<u8>(changedOf + i) != 0 && (bits & (LayerBit.SrcNat | LayerBit.DstNat)) == 0) bits = 0;
    out |= bits << (i << 2);
  }
  return out;
}

/** Apply the remap to every live flow of `p` (O(flows), at rule-change time only). */
export function decisionsApply(p: Port): void {
  if (identity()) return;
  const t = p.flows;
  for (let i: u32 = 0; i < t.neverUsed; i++) {
    const rec = recordAt(t, i);
    if ((<u32>load<u8>(rec + R_FLAGS) & RF_LIVE) == 0) continue;
    const old = load<u32>(rec + R_LAYER_BITS);
    const now = remapBits(old);
    if (now == old) continue;
    store<u32>(rec + R_LAYER_BITS, now);
    store<u32>(rec + R_DIRTY, p.dirtyGen); // incremental snapshots carry the change
  }
}
