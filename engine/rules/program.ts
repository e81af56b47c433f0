// Loading rule programs into a port: a whole port program (all layers, in
// order) or one layer replaced by name. Loading is all-or-nothing: every
// layer is validated before the port changes, so a bad program leaves the
// port exactly as it was. Any change bumps the port's epoch, so cached flows
// are re-evaluated on their next packet, and a layer whose rules changed
// forgets the allows it gave open flows (flow/decisions.ts), as OPTE clears
// a layer's flow table when its rules are set.

import { Reason } from "../../abi/reason";
import { Port, portLayer, bumpEpoch } from "../port";
import { Layer, layerLoad, layerFree, layerNamePtr, layerIsStateful, layerBlobOf, statefulAction } from "./layer";
import { PORT_PROGRAM_MAGIC, PROGRAM_VERSION, OLDEST_PROGRAM_VERSION, MAX_LAYERS, LAYER_NAME_LEN, MAX_RULES_PER_LAYER, LAYER_EDIT_MAGIC, EditOp } from "./format";
import { validateRule, RH_SIZE, RH_ACTION } from "./validate";
import { insertRule, removeRule } from "./edit";
import { decisionsBegin, decisionsFrom, decisionsApply, NO_SOURCE } from "../flow/decisions";

const err: usize = memory.data(4);
const MAX_STATEFUL_LAYERS: u32 = 8;
const staged: usize = memory.data(<i32>(MAX_LAYERS << 2));

/** Replace all layers of `p` with the port program at `src`. Returns 0 or a Reason. */
export function loadPortProgram(p: Port, src: usize, len: u32): u32 {
  if (len < 8) return Reason.Truncated;
  if (load<u32>(src) != PORT_PROGRAM_MAGIC) return Reason.BadVersion;
  const version = <u32>load<u16>(src + 4);
  if (version < OLDEST_PROGRAM_VERSION || version > PROGRAM_VERSION) return Reason.BadVersion;
  const n = <u32>load<u16>(src + 6);
  if (n > MAX_LAYERS) return Reason.BadLength;
  let off: u32 = 8;
  let loaded: u32 = 0;
  let failure: u32 = 0;
  for (; loaded < n; loaded++) {
    if (off + 4 > len) { failure = Reason.Truncated; break; }
    const llen = load<u32>(src + off);
    off += 4;
    if (llen > len - off) { failure = Reason.Truncated; break; }
    const l = layerLoad(src + off, llen, err);
    if (l == 0) { failure = load<u32>(err); break; }
    store<usize>(staged + (<usize>loaded << 2), l);
    off += llen;
  }
  if (failure == 0 && off != len) failure = Reason.BadLength;
  // a flow keeps 4 bits of decisions for each of the first 8 layers only
  for (let i: u32 = MAX_STATEFUL_LAYERS; failure == 0 && i < loaded; i++) {
    if (layerIsStateful(changetype<Layer>(load<usize>(staged + (<usize>i << 2))))) failure = Reason.BadLength;
  }
  if (failure != 0) {
    for (let i: u32 = 0; i < loaded; i++) layerFree(changetype<Layer>(load<usize>(staged + (<usize>i << 2))));
    return failure;
  }
  // each new layer takes the decisions of the old layer of its name
  decisionsBegin();
  for (let i: u32 = 0; i < max<u32>(n, p.layerCount); i++) {
    let from = NO_SOURCE;
    let changed = false;
    if (i < n) {
      const nl = changetype<Layer>(load<usize>(staged + (<usize>i << 2)));
      for (let j: u32 = 0; j < p.layerCount; j++) {
        const ol = portLayer(p, j);
        if (!sameName(layerNamePtr(ol), layerNamePtr(nl))) continue;
        from = j;
        changed = !sameRules(ol, nl);
        break;
      }
    }
    decisionsFrom(i, from, changed);
  }
  decisionsApply(p);
  for (let i: u32 = 0; i < p.layerCount; i++) layerFree(portLayer(p, i));
  for (let i: u32 = 0; i < n; i++) store<usize>(p.layers + (<usize>i << 2), load<usize>(staged + (<usize>i << 2)));
  p.layerCount = n;
  bumpEpoch(p);
  return 0;
}

/** Same layer program bytes: same rules, defaults and name. */
function sameRules(a: Layer, b: Layer): bool {
  const ab = layerBlobOf(a), bb = layerBlobOf(b);
  return a.blobLen == b.blobLen && memory.compare(ab, bb, a.blobLen) == 0;
}

function sameName(a: usize, b: usize): bool {
  for (let i: u32 = 0; i < LAYER_NAME_LEN; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

/** Replace the layer whose name matches the layer program at `src`. */
export function replaceLayer(p: Port, src: usize, len: u32): u32 {
  const l = layerLoad(src, len, err);
  if (l == 0) return load<u32>(err);
  const nl = changetype<Layer>(l);
  for (let i: u32 = 0; i < p.layerCount; i++) {
    const old = portLayer(p, i);
    if (sameName(layerNamePtr(old), layerNamePtr(nl))) {
      if (i >= MAX_STATEFUL_LAYERS && layerIsStateful(nl)) { layerFree(nl); return Reason.BadLength; }
      decisionsBegin();
      decisionsFrom(i, i, !sameRules(old, nl));
      decisionsApply(p);
      store<usize>(p.layers + (<usize>i << 2), l);
      layerFree(old);
      bumpEpoch(p);
      return 0;
    }
  }
  layerFree(nl);
  return Reason.NoSuchLayer;
}

/**
 * Edit layer `li` of `p` by the edit at `src` (docs/rule-program.md: rules
 * inserted at and removed from positions, in turn), without rebuilding the
 * rest of the layer. All or nothing: every step is checked before the first
 * is made. The layer's rules changed, so it forgets the allows it gave open
 * flows and the epoch moves on, as when the whole layer is replaced; the
 * hit counts of the rules it keeps go on counting.
 */
export function editLayer(p: Port, li: u32, src: usize, len: u32): u32 {
  if (li >= p.layerCount) return Reason.NoSuchLayer;
  const l = portLayer(p, li);
  if (len < 8) return Reason.Truncated;
  if (load<u32>(src) != LAYER_EDIT_MAGIC) return Reason.BadVersion;
  const ops = <u32>load<u16>(src + 4);
  // check every step against the layer as the steps before it leave it
  let count = l.ruleCount;
  let off: u32 = 8;
  for (let i: u32 = 0; i < ops; i++) {
    if (off + 8 > len) return Reason.Truncated;
    const op = <u32>load<u8>(src + off);
    const pos = load<u32>(src + off + 4);
    off += 8;
    if (op == EditOp.Insert) {
      if (pos > count) return Reason.BadArgument;
      if (count >= MAX_RULES_PER_LAYER) return Reason.BadLength;
      const r = validateRule(src + off, len - off, l.version);
      if (r < 0) return <u32>(-r);
      if (li >= MAX_STATEFUL_LAYERS && statefulAction(<u32>load<u8>(src + off + RH_ACTION))) return Reason.BadLength;
      off += <u32>r;
      count++;
    } else if (op == EditOp.Remove) {
      if (pos >= count) return Reason.BadArgument;
      count--;
    } else return Reason.BadVersion;
  }
  if (off != len) return Reason.BadLength;
  if (ops == 0) return 0;
  off = 8;
  for (let i: u32 = 0; i < ops; i++) {
    const op = <u32>load<u8>(src + off);
    const pos = load<u32>(src + off + 4);
    off += 8;
    if (op == EditOp.Insert) {
      insertRule(l, pos, src + off);
      off += <u32>load<u16>(src + off + RH_SIZE);
    } else removeRule(l, pos);
  }
  decisionsBegin();
  decisionsFrom(li, li, true);
  decisionsApply(p);
  bumpEpoch(p);
  return 0;
}
