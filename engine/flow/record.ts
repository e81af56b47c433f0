// The flow record: all state the engine keeps for one flow, both directions.
//
// OPTE keeps a unified flow table per direction plus a flow table per
// stateful layer. wopte keeps one 232-byte record per flow instead: both
// directions' keys and composed transformations, counters, TCP state and the
// decisions of stateful layers (firewall allow, NAT binding). One allocation,
// one snapshot entry, and a rule change can re-evaluate the transformations
// while keeping the NAT binding. The layout is in abi/record.ts (hosts
// decode records for dumps): keys, transformations, counters, times, TCP
// state, flags, stateful-layer bits, the SNAT binding and the allowing rule.
// Each transformation carries the epoch it was composed at (xform.ts). Key
// hashes are not stored: the index keeps a tag of each, and what needs a
// whole hash (removal from the index, the slow path's hash for rules)
// recomputes it from the key, which saves 8 bytes a flow.

export {
  REC_SIZE, R_KEY_OUT, R_KEY_IN, R_X_OUT, R_X_IN, R_PKTS_OUT, R_BYTES_OUT, R_PKTS_IN, R_BYTES_IN,
  R_CREATED, R_LAST_SEEN, R_DIRTY, R_TCP, R_FLAGS, R_ORIGIN, R_METER, R_LAYER_BITS, R_NAT_POOL,
  R_NAT_PORT, R_GUEST_SEQ, R_ALLOW, RF_KEY_OUT, RF_KEY_IN, RF_LIVE, RF_GUEST_SEQ, NO_NAT_POOL, LayerBit,
} from "../../abi/record";
export { Dir } from "../../abi/batch";
import {
  R_KEY_OUT, R_KEY_IN, R_X_OUT, R_X_IN, R_PKTS_OUT, R_PKTS_IN, R_LAYER_BITS, ALLOW_DEFAULT_RULE, ALLOW_NO_RULE,
} from "../../abi/record";
import { Dir, DEFAULT_RULE, NO_RULE, NO_LAYER } from "../../abi/batch";

/** Offsets of a direction's key, transformation and counters inside a record. */
@inline export function keyOff(dir: u32): usize { return dir == Dir.Out ? R_KEY_OUT : R_KEY_IN; }
@inline export function xOff(dir: u32): usize { return dir == Dir.Out ? R_X_OUT : R_X_IN; }
@inline export function pktsOff(dir: u32): usize { return dir == Dir.Out ? R_PKTS_OUT : R_PKTS_IN; }
@inline export function otherDir(dir: u32): u32 { return dir == Dir.Out ? Dir.In : Dir.Out; }

@inline export function layerBits(rec: usize, layer: u32): u32 {
  return (load<u32>(rec + R_LAYER_BITS) >> (layer << 2)) & 0xf;
}
@inline export function setLayerBits(rec: usize, layer: u32, bits: u32): void {
  const all = load<u32>(rec + R_LAYER_BITS);
  const shift = layer << 2;
  store<u32>(rec + R_LAYER_BITS, (all & ~(<u32>0xf << shift)) | ((bits & 0xf) << shift));
}

// The rule that allowed a flow: the first StatefulAllow decision of its
// origin direction's walk (a firewall rule, or a layer's default). Kept so
// every packet of the flow, fast path and replies included, can say which
// rule let it through, and flow logs can name it. A zeroed record reads as
// none, so restored and fresh records need no setup. Rule ids are u24 here;
// the engine's two special ids keep their meaning (0xfffffe default, 0xffffff none).
export const ALLOW_NONE: u32 = 0;

@inline export function allowPack(layer: u32, rule: u32): u32 {
  return ((layer + 1) & 0xff) | ((rule & 0xffffff) << 8);
}
@inline export function allowLayer(v: u32): u32 {
  return (v & 0xff) == 0 ? NO_LAYER : (v & 0xff) - 1;
}
@inline export function allowRule(v: u32): u32 {
  const r = v >>> 8;
  return (v & 0xff) == 0 || r == ALLOW_NO_RULE ? NO_RULE : r == ALLOW_DEFAULT_RULE ? DEFAULT_RULE : r;
}
