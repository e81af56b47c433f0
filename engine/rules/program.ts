// Loading rule programs into a port: a whole port program (all layers, in
// order) or one layer replaced by name. Loading is all-or-nothing: every
// layer is validated before the port changes, so a bad program leaves the
// port exactly as it was. Any change bumps the port's epoch, so cached flows
// are re-evaluated on their next packet (as OPTE does).

import { Reason } from "../reason";
import { Port, portLayer } from "../port";
import { Layer, layerLoad, layerFree, layerNamePtr } from "./layer";
import { PORT_PROGRAM_MAGIC, PROGRAM_VERSION, OLDEST_PROGRAM_VERSION, MAX_LAYERS, LAYER_NAME_LEN } from "./format";
import { bumpEpoch } from "../flow/epoch";

const err: usize = memory.data(4);
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
  if (failure != 0) {
    for (let i: u32 = 0; i < loaded; i++) layerFree(changetype<Layer>(load<usize>(staged + (<usize>i << 2))));
    return failure;
  }
  for (let i: u32 = 0; i < p.layerCount; i++) layerFree(portLayer(p, i));
  for (let i: u32 = 0; i < n; i++) store<usize>(p.layers + (<usize>i << 2), load<usize>(staged + (<usize>i << 2)));
  p.layerCount = n;
  bumpEpoch(p);
  return 0;
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
      store<usize>(p.layers + (<usize>i << 2), l);
      layerFree(old);
      bumpEpoch(p);
      return 0;
    }
  }
  layerFree(nl);
  return Reason.NoPort;
}
