// The batch ABI: hosts write frames into an engine-owned batch area, fill one
// descriptor per frame and make one call per batch (docs/abi.md). No
// per-packet JS↔WASM crossing, no per-packet allocation.
//
// The descriptor (32 bytes) is laid out in abi/batch.ts.

import { Reason } from "../abi/reason";
import { portAt, countDrop } from "./port";
import { processFrame, lastReason, decidedLayer, decidedRule, lastHash } from "./pipeline";
import {
  DESC_SIZE, D_PTR, D_LEN, D_CAP, D_HEADROOM, D_PORT, D_DIR, D_VERDICT, D_REASON, D_LAYER, D_RULE, D_OUT_PTR, D_OUT_LEN, D_HASH,
  Dir, Verdict, NO_LAYER, NO_RULE,
} from "../abi/batch";
import { outFrame } from "./flow/apply";
import { PacketMeta } from "./packet/meta";
import { parseFrame } from "./packet/parse";
import { findOxideOption, setOxideMulticastMode, OXIDE_OPT_MULTICAST, Replication } from "./packet/geneve";

export { DESC_SIZE } from "../abi/batch";
export const MAX_AREAS: u32 = 64;

// Registered batch areas: [start, end) pairs. Frames must lie inside one.
const areas: usize = memory.data(<i32>(MAX_AREAS * 8));
let areaCount: u32 = 0;

/** Allocate a batch area of `bytes`; returns its address (0 on failure). */
export function batchAreaNew(bytes: u32): usize {
  if (areaCount >= MAX_AREAS || bytes == 0) return 0;
  const a = heap.alloc(<usize>bytes);
  memory.fill(a, 0, bytes);
  store<u32>(areas + (<usize>areaCount << 3), <u32>a);
  store<u32>(areas + (<usize>areaCount << 3) + 4, <u32>(a + bytes));
  areaCount++;
  return a;
}

@inline function inArea(lo: usize, hi: usize): bool {
  if (hi < lo) return false; // the range wrapped around the address space
  for (let i: u32 = 0; i < areaCount; i++) {
    const s = <usize>load<u32>(areas + (<usize>i << 3));
    const e = <usize>load<u32>(areas + (<usize>i << 3) + 4);
    if (lo >= s && hi <= e) return true;
  }
  return false;
}

/** Process `count` descriptors at `descs` with the host's clock `nowMs`. Returns the frames not dropped. */
export function processBatch(descs: usize, count: u32, nowMs: f64): u32 {
  let passed: u32 = 0;
  if (<u64>count * DESC_SIZE > <u64>0xffffffff || !inArea(descs, descs + <usize>count * DESC_SIZE)) return 0;
  for (let i: u32 = 0; i < count; i++) {
    const d = descs + <usize>i * DESC_SIZE;
    const ptr = <usize>load<u32>(d + D_PTR);
    const len = <u32>load<u16>(d + D_LEN);
    const cap = <u32>load<u16>(d + D_CAP);
    const headroom = <u32>load<u16>(d + D_HEADROOM);
    const portId = <u32>load<u16>(d + D_PORT);
    const dir = <u32>load<u8>(d + D_DIR);
    let verdict: u32 = Verdict.Drop;
    let reason: u32 = 0;
    let layer: u32 = NO_LAYER;
    let rule: u32 = NO_RULE;
    let hash: u32 = 0;
    const p = portAt(portId);
    if (p == null) {
      reason = Reason.NoPort;
    } else if ((dir != Dir.In && dir != Dir.Out) || cap < len || !inArea(ptr - headroom, ptr + cap)) {
      reason = Reason.BadDescriptor;
      countDrop(p, reason);
    } else {
      verdict = processFrame(p, dir, ptr, len, cap, headroom, nowMs);
      // a drop's reason; a hairpin sent in place of the frame (too big) says why too
      reason = lastReason;
      layer = decidedLayer;
      rule = decidedRule;
      hash = lastHash;
    }
    store<u8>(d + D_VERDICT, <u8>verdict);
    store<u8>(d + D_REASON, <u8>reason);
    store<u8>(d + D_LAYER, <u8>layer);
    store<u32>(d + D_RULE, rule);
    if (verdict != Verdict.Drop) {
      store<u32>(d + D_OUT_PTR, load<u32>(outFrame));
      store<u16>(d + D_OUT_LEN, <u16>load<u32>(outFrame, 4));
      passed++;
    } else {
      store<u32>(d + D_OUT_PTR, 0);
      store<u16>(d + D_OUT_LEN, 0);
    }
    store<u32>(d + D_HASH, hash);
  }
  return passed;
}

// Scratch for the calls below, apart from the datapath's.
const replMeta = changetype<PacketMeta>(memory.data(512, 16));

/**
 * Set the replication mode (0 External, 1 Underlay, 2 Both) of the Oxide
 * Multicast option in the underlay frame at [ptr, ptr + len), an output of
 * processBatch in a batch area. The sled sends one copy of a guest's group
 * frame per multicast forwarding next hop, each telling the switches where to
 * replicate it (OPTE: xde's per-next-hop rewrite). Returns 0 or a Reason:
 * BadDescriptor (outside every batch area), BadArgument (mode 3, Reserved,
 * or more), the parser's reason for a frame that is not Geneve, BadGeneve when it
 * carries no Multicast option.
 */
export function underlaySetReplication(ptr: usize, len: u32, mode: u32): u32 {
  if (len == 0 || !inArea(ptr, ptr + len)) return Reason.BadDescriptor;
  if (mode >= <u32>Replication.Reserved) return Reason.BadArgument;
  const bad = parseFrame(replMeta, ptr, len, true);
  if (bad != 0) return <u32>bad;
  const body = findOxideOption(replMeta, OXIDE_OPT_MULTICAST);
  if (body == 0) return Reason.BadGeneve;
  setOxideMulticastMode(body, mode);
  return 0;
}
