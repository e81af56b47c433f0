// Loading rule programs into a port: a whole port program (all layers, in
// order) or one layer replaced by name. Loading is all-or-nothing: every
// layer is validated before the port changes, so a bad program leaves the
// port exactly as it was. Any change bumps the port's epoch, so cached flows
// are re-evaluated on their next packet, and a layer whose rules changed
// forgets the allows it gave open flows (flow/decisions.ts), as OPTE clears
// a layer's flow table when its rules are set.

import { Reason } from "../../abi/reason";
import { Port, portLayer } from "../port";
import { Layer, layerLoad, layerFree, layerNamePtr, layerIsStateful } from "./layer";
import { PORT_PROGRAM_MAGIC, PROGRAM_VERSION, OLDEST_PROGRAM_VERSION, MAX_LAYERS, LAYER_NAME_LEN } from "./format";
import { bumpEpoch } from "../flow/epoch";
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
  return a.blobLen == b.blobLen && memory.compare(a.blob, b.blob, a.blobLen) == 0;
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
  return Reason.NoPort;
}
