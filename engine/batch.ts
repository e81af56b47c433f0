// The batch ABI: hosts write frames into an engine-owned batch area, fill one
// descriptor per frame and make one call per batch (docs/abi.md). No
// per-packet JS↔WASM crossing, no per-packet allocation.
//
// Descriptor (32 bytes, little-endian), host-written fields first:
//   0 ptr u32       absolute address of the frame's first byte
//   4 len u16       frame length
//   6 cap u16       bytes writable from ptr (≥ len; room for a hairpin reply)
//   8 headroom u16  bytes writable in front of ptr (room for encapsulation)
//   10 port u16     port id
//   12 dir u8       1 = in (from the network side), 2 = out (from the guest side)
// engine-written:
//   13 verdict u8   1 pass, 2 drop, 3 hairpin (reply goes back the way it came), 4 to host (frame unchanged)
//   14 reason u8    drop reason (Reason); for a hairpin sent instead of forwarding (TooBig), why; else 0
//   15 layer u8     index of the layer that decided (0xff: none/engine)
//   16 rule u32     id of the rule that decided (0xfffffffe: layer default, 0xffffffff: none)
//   20 outPtr u32   start of the output frame (may be before ptr after encap)
//   24 outLen u16   its length
//   26 reserved u16
//   28 hash u32     flow hash (RSS / ECMP), 0 for frames that are not flows

import { Reason } from "../abi/reason";
import { portAt, countDrop } from "./port";
import { processFrame, Verdict, lastReason, decidedLayer, decidedRule, lastHash } from "./pipeline";
import { outFrame } from "./flow/apply";
import { PacketMeta } from "./packet/meta";
import { parseFrame } from "./packet/parse";
import { findOxideOption, setOxideMulticastMode, OXIDE_OPT_MULTICAST, Replication } from "./packet/geneve";

export const DESC_SIZE: u32 = 32;
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
    const ptr = <usize>load<u32>(d);
    const len = <u32>load<u16>(d + 4);
    const cap = <u32>load<u16>(d + 6);
    const headroom = <u32>load<u16>(d + 8);
    const portId = <u32>load<u16>(d + 10);
    const dir = <u32>load<u8>(d + 12);
    let verdict: u32 = Verdict.Drop;
    let reason: u32 = 0;
    let layer: u32 = 0xff;
    let rule: u32 = 0xffffffff;
    let hash: u32 = 0;
    const p = portAt(portId);
    if (p == null) {
      reason = Reason.NoPort;
    } else if ((dir != 1 && dir != 2) || cap < len || !inArea(ptr - headroom, ptr + cap)) {
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
    store<u8>(d + 13, <u8>verdict);
    store<u8>(d + 14, <u8>reason);
    store<u8>(d + 15, <u8>layer);
    store<u32>(d + 16, rule);
    if (verdict != Verdict.Drop) {
      store<u32>(d + 20, load<u32>(outFrame));
      store<u16>(d + 24, <u16>load<u32>(outFrame, 4));
      passed++;
    } else {
      store<u32>(d + 20, 0);
      store<u16>(d + 24, 0);
    }
    store<u32>(d + 28, hash);
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
 * BadDescriptor (outside every batch area), BadLength (mode 3, Reserved, or
 * more), the parser's reason for a frame that is not Geneve, BadGeneve when it
 * carries no Multicast option.
 */
export function underlaySetReplication(ptr: usize, len: u32, mode: u32): u32 {
  if (len == 0 || !inArea(ptr, ptr + len)) return Reason.BadDescriptor;
  if (mode >= <u32>Replication.Reserved) return Reason.BadLength;
  const bad = parseFrame(replMeta, ptr, len, true);
  if (bad != 0) return <u32>bad;
  const body = findOxideOption(replMeta, OXIDE_OPT_MULTICAST);
  if (body == 0) return Reason.BadGeneve;
  setOxideMulticastMode(body, mode);
  return 0;
}
