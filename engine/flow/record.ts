// The flow record: all state the engine keeps for one flow, both directions.
//
// OPTE keeps a unified flow table per direction plus a flow table per
// stateful layer. wopte keeps one 232-byte record per flow instead: both
// directions' keys and composed transformations, counters, TCP state and the
// decisions of stateful layers (firewall allow, NAT binding). One allocation,
// one snapshot entry, and a rule change can re-evaluate the transformations
// while keeping the NAT binding. Layout (byte offsets):
//
//   0   keyOut   40   the flow as it leaves the guest (guest side → network)
//   40  keyIn    40   the flow as it arrives from the network (after decap)
//   80  xOut     44   composed transformation for the out direction
//   124 xIn      44   composed transformation for the in direction
//   168 pktsOut  u64, 176 bytesOut u64, 184 pktsIn u64, 192 bytesIn u64
//   200 createdSec u32   host clock, seconds
//   204 lastSeenMs u32   host clock, milliseconds (wrap-safe differences)
//   208 dirtyGen u32     snapshot generation of the last change
//   212 tcpState u8 (tcp.ts), 213 flags u8, 214 origin u8 (direction of the first packet), 215 meter u8 (bandwidth class, 0 none)
//   216 layerBits u32    4 bits per layer: stateful decisions (see LayerBit)
//   220 natPool u16, 222 natPort u16 (SNAT binding; natPool 0xffff = none)
//   224 guestSeq u32     TCP: the guest's last sequence number (valid with flag 0x10), to tell an ACK of its FIN
//   228 allow u32        which rule let the flow in: layer index + 1 (u8, 0 none), rule id (u24; see allowPack)
// Each transformation carries the epoch it was composed at (xform.ts). Key
// hashes are not stored: the index keeps a tag of each, and what needs a
// whole hash (removal from the index, the slow path's hash for rules)
// recomputes it from the key, which saves 8 bytes a flow.

export const REC_SIZE: usize = 232;

export const R_KEY_OUT: usize = 0;
export const R_KEY_IN: usize = 40;
export const R_X_OUT: usize = 80;
export const R_X_IN: usize = 124;
export const R_PKTS_OUT: usize = 168;
export const R_BYTES_OUT: usize = 176;
export const R_PKTS_IN: usize = 184;
export const R_BYTES_IN: usize = 192;
export const R_CREATED: usize = 200;
export const R_LAST_SEEN: usize = 204;
export const R_DIRTY: usize = 208;
export const R_TCP: usize = 212;
export const R_FLAGS: usize = 213;
export const R_ORIGIN: usize = 214;
export const R_METER: usize = 215;
export const R_LAYER_BITS: usize = 216;
export const R_NAT_POOL: usize = 220;
export const R_NAT_PORT: usize = 222;
export const R_GUEST_SEQ: usize = 224;
export const R_ALLOW: usize = 228;

// Record flags.
export const RF_KEY_OUT: u32 = 1;   // keyOut is indexed
export const RF_KEY_IN: u32 = 2;    // keyIn is indexed
export const RF_LIVE: u32 = 4;      // record is in use (free records have flags 0)
export const RF_GUEST_SEQ: u32 = 16; // guestSeq holds the guest's last TCP sequence number (tcp.ts)

export const NO_NAT_POOL: u32 = 0xffff;

// Direction of a frame relative to the port: Out = from the guest side, In = from the network side.
export const enum Dir { In = 1, Out = 2 }

/** Offsets of a direction's key, transformation and counters inside a record. */
@inline export function keyOff(dir: u32): usize { return dir == Dir.Out ? R_KEY_OUT : R_KEY_IN; }
@inline export function xOff(dir: u32): usize { return dir == Dir.Out ? R_X_OUT : R_X_IN; }
@inline export function pktsOff(dir: u32): usize { return dir == Dir.Out ? R_PKTS_OUT : R_PKTS_IN; }
@inline export function otherDir(dir: u32): u32 { return dir == Dir.Out ? Dir.In : Dir.Out; }

// Stateful decisions a layer records for a flow (4 bits per layer index).
export const enum LayerBit { Allow = 1, SrcNat = 2, DstNat = 4 }

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
  return (v & 0xff) == 0 ? 0xff : (v & 0xff) - 1;
}
@inline export function allowRule(v: u32): u32 {
  const r = v >>> 8;
  return (v & 0xff) == 0 || r == 0xffffff ? 0xffffffff : r == 0xfffffe ? 0xfffffffe : r;
}
