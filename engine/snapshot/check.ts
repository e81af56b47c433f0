// The checks a snapshot passes before a port changes (docs/snapshot-format.md
// "Checks"). A checksum proves the bytes are the ones written, not that they
// mean something a port can hold: two flows sharing a key would leave one
// unreachable, two flows on one SNAT port would answer for each other's
// replies, a flow of another VNI would never match a packet, and a header
// claiming four billion flows would have a restore walk off the end. So
// every restore runs these checks first, and `wopte snapshot verify` runs the
// same ones (portSnapshotCheck against a port, snapshotCheckAlone without
// one: the snapshot's own pools, one VNI for all its flows, the engine's
// largest table).
//
// A failed check records what failed (refusal.ts) and returns its Reason.
// On success the section offsets below tell restore.ts where to read.

import { Reason } from "../../abi/reason";
import { Ctr } from "../../abi/counters";
import { Port, portPool, MAX_POOLS } from "../port";
import { FlowTable, flowLookup, recordAt, MAX_FLOWS } from "../flow/table";
import { R_FLAGS, R_NAT_POOL, R_NAT_PORT, NO_NAT_POOL, Dir, otherDir } from "../flow/record";
import { TCP_STATE_COUNT } from "../flow/tcp";
import { keyHash, keyEquals, keyVni, keyProto } from "../flow/key";
import { METERS_PER_PORT } from "../meter";
import { natIsTaken } from "../nat/pool";
import {
  FLAG_INCREMENTAL, V1_PORT_COUNTERS, V1_REASONS, F_ALL, F_OTHER_SHIFT, F_OTHER_INDEXED, T_GUEST_SEQ, MIN_FLOW_ENTRY, DELETION_ENTRY,
} from "./format";
import {
  checkHeader, truncatedAt, rdPos, rdSeek, rdLeft, rdBad, rdSkip, r16, r32, readFlowInto, fOrigin, rVersion,
  fFlags, fTcp, fTcpFlags, fMeter, fPool, fPort,
} from "./read";
import { refuse, refuseFlow, refuseOther, refuseKey, refuseClear, NO_FLOW } from "./refusal";
import { SnapCheck } from "../../abi/snapshot-check";
import { keySetReset, keySetRelease, keySetFirst, keySetNext, keySetPut, natMapsClear, natClaimOnce, natNoteFreed, natFreed } from "./keyset";

/** Set on a port's records the restore would delete or replace, for the length of the checks. */
export const RF_MARK: u8 = 0x80;

// Where the checked snapshot's sections are (valid after snapshotCheck returned 0).
export let cIncremental = false;
export let cCountersAt: usize = 0;
export let cPortCounters: u32 = 0;
export let cReasons: u32 = 0;
export let cFlowsAt: usize = 0;
export let cFlows: u32 = 0;
export let cDelsAt: usize = 0;
export let cDels: u32 = 0;

// Scratch keys: the flow being checked, and one decoded again to compare.
const OK: usize = memory.data(40, 8);
const XK: usize = memory.data(40, 8);
const OK2: usize = memory.data(40, 8);
const XK2: usize = memory.data(40, 8);
// The pools the snapshot lists: present (u8), first and last port (u32).
const DECLARED: usize = memory.data(<i32>MAX_POOLS, 4);
const POOL_LO: usize = memory.data(<i32>MAX_POOLS * 4, 4);
const POOL_HI: usize = memory.data(<i32>MAX_POOLS * 4, 4);
let src0: usize = 0;
let firstVni: u32 = 0;

/** Check snapshot [src, src+len) against port `p` (null: on its own). 0, or a Reason with the detail recorded. */
export function snapshotCheck(p: Port | null, src: usize, len: u32): u32 {
  refuseClear();
  let e = checkHeader(src, len);
  if (e != 0) return e;
  src0 = src;
  cIncremental = (<u32>load<u16>(src + 6) & FLAG_INCREMENTAL) != 0;
  const hdrFlows = load<u32>(src + 32), hdrDels = load<u32>(src + 36);
  e = checkCounters();
  if (e != 0) return e;
  e = checkPools(p);
  if (e != 0) return e;
  const nflows = r32();
  if (rdBad()) return truncatedAt(src);
  if (nflows != hdrFlows) return refuse(SnapCheck.FlowCount, hdrFlows, nflows);
  // counts that fit: the body's bytes first (the deletion count follows the flows), then the table
  const left = <u64>rdLeft();
  const room = left < 4 ? 0 : (left - 4) / MIN_FLOW_ENTRY;
  if (<u64>nflows > room) return refuse(SnapCheck.FlowsTooMany, nflows, <u32>room, <u32>left);
  const cap = p != null ? p.flows.capacity : MAX_FLOWS;
  if (nflows > cap) return refuse(SnapCheck.TableFull, nflows, cap);
  cFlowsAt = rdPos(); cFlows = nflows;
  for (let i: u32 = 0; i < nflows; i++) {
    e = checkFlow(p, i);
    if (e != 0) return e;
  }
  e = checkDeletions(hdrDels);
  if (e != 0) return e;
  const t: FlowTable | null = p != null && cIncremental ? p.flows : null;
  e = checkUnique(p, t);
  if (t != null) unmark(t);
  keySetRelease();
  return e;
}

/** u64 arithmetic: a count from the file times a size can pass 2^32. */
@inline function fits(count: u32, size: u32): bool { return <u64>count * size <= <u64>rdLeft(); }

function checkCounters(): u32 {
  if (rVersion == 1) {
    const n = r32();
    if (rdBad() || !fits(n, 8)) return truncatedAt(src0);
    // a version-1 build with another counter layout: refused, not misread
    if (n != V1_PORT_COUNTERS + V1_REASONS) return refuse(SnapCheck.CounterLayout, n, NO_FLOW, Ctr.Count, Reason.Count);
    cPortCounters = V1_PORT_COUNTERS; cReasons = V1_REASONS;
  } else {
    cPortCounters = r16(); cReasons = r16();
    if (rdBad() || !fits(cPortCounters + cReasons, 8)) return truncatedAt(src0);
    // counters and reasons are appended, never renumbered: an older build's are a prefix of ours
    if (cPortCounters > <u32>Ctr.Count || cReasons > <u32>Reason.Count) {
      return refuse(SnapCheck.CounterLayout, cPortCounters, cReasons, Ctr.Count, Reason.Count);
    }
  }
  cCountersAt = rdPos();
  rdSkip(<usize>(cPortCounters + cReasons) << 3);
  return 0;
}

function checkPools(p: Port | null): u32 {
  const npools = r32();
  if (rdBad()) return truncatedAt(src0);
  if (npools > MAX_POOLS) return refuse(SnapCheck.PoolCount, npools);
  memory.fill(DECLARED, 0, MAX_POOLS);
  for (let i: u32 = 0; i < npools; i++) {
    const id = r16(), lo = r16(), hi = r16(); r16();
    if (rdBad() || !fits(1, 16)) return truncatedAt(src0);
    const ehi = load<u64>(rdPos()), elo = load<u64>(rdPos() + 8);
    rdSkip(16);
    if (id >= MAX_POOLS || load<u8>(DECLARED + id) != 0) return refuse(SnapCheck.PoolId, id);
    if (lo > hi) return refuse(SnapCheck.PoolRange, id, lo, hi);
    if (p != null) {
      const np = portPool(p, id);
      if (np == null || np.portLo != lo || np.portHi != hi || np.extHi != ehi || np.extLo != elo) {
        return refuse(SnapCheck.PoolMismatch, id, lo, hi, np == null ? 0 : 1);
      }
    }
    store<u8>(DECLARED + id, 1);
    store<u32>(POOL_LO + (<usize>id << 2), lo);
    store<u32>(POOL_HI + (<usize>id << 2), hi);
  }
  return 0;
}

/** One flow's own fields: flags, TCP state, class, VNI, SNAT binding. */
function checkFlow(p: Port | null, i: u32): u32 {
  const at = rdPos();
  readFlowInto(OK, XK);
  if (rdBad()) return refuseFlow(SnapCheck.FlowTruncated, i, <u32>(at - src0));
  if ((fFlags & ~F_ALL) != 0) return refuseFlow(SnapCheck.FlowFlags, i, fFlags & ~F_ALL);
  const kind = (fFlags >> F_OTHER_SHIFT) & 3;
  if (kind != 0 && (fFlags & F_OTHER_INDEXED) == 0) return refuseFlow(SnapCheck.ReplyKind, i, kind);
  if (fTcp >= TCP_STATE_COUNT) return refuseFlow(SnapCheck.TcpState, i, fTcp);
  if ((fTcpFlags & ~T_GUEST_SEQ) != 0) return refuseFlow(SnapCheck.TcpFlags, i, fTcpFlags & ~T_GUEST_SEQ);
  // only TCP flows are tracked (pipeline.ts): anything else has no TCP state
  const proto = keyProto(OK);
  if (proto != 6 && (fTcp != 0 || (fTcpFlags & T_GUEST_SEQ) != 0)) {
    return refuseFlow(SnapCheck.TcpNotTcp, i, proto, fTcp, fTcpFlags & T_GUEST_SEQ);
  }
  if (fMeter >= METERS_PER_PORT) return refuseFlow(SnapCheck.Meter, i, fMeter);
  // a port keys its flows with its own VNI; a whole reply key (kind 3) carries one too
  if (i == 0) firstVni = keyVni(OK);
  for (let n = 0; n < (kind == 3 ? 2 : 1); n++) {
    const k = n == 0 ? OK : XK;
    const v = keyVni(k);
    const dir = n == 0 ? fOrigin() : otherDir(fOrigin());
    if (p != null && v != p.vni) { refuseKey(dir, k); return refuseFlow(SnapCheck.Vni, i, v, p.vni); }
    if (p == null && v != firstVni) { refuseKey(dir, k); refuseOther(0); return refuseFlow(SnapCheck.VniMixed, i, v, firstVni); }
  }
  if (fPool != NO_NAT_POOL) {
    if (fPool >= MAX_POOLS || load<u8>(DECLARED + fPool) == 0) return refuseFlow(SnapCheck.NatNoPool, i, fPool);
    const lo = load<u32>(POOL_LO + (<usize>fPool << 2)), hi = load<u32>(POOL_HI + (<usize>fPool << 2));
    if (fPort < lo || fPort > hi) return refuseFlow(SnapCheck.NatOutside, i, fPool, fPort, lo, hi);
  }
  return 0;
}

function checkDeletions(hdrDels: u32): u32 {
  const ndels = r32();
  if (rdBad()) return truncatedAt(src0);
  if (ndels != hdrDels) return refuse(SnapCheck.DeletionCount, hdrDels, ndels);
  if (!cIncremental && ndels != 0) return refuse(SnapCheck.DeletionsInFull, ndels);
  const need = <u64>ndels * DELETION_ENTRY;
  if (need != <u64>rdLeft()) return refuse(SnapCheck.DeletionLength, <u32>min<u64>(need, 0xffffffff), <u32>rdLeft());
  cDelsAt = rdPos(); cDels = ndels;
  for (let i: u32 = 0; i < ndels; i++) {
    const dir = <u32>load<u8>(cDelsAt + <usize>i * DELETION_ENTRY);
    if (dir != Dir.In && dir != Dir.Out) return refuseFlow(SnapCheck.DeletionDir, i, dir);
  }
  return 0;
}

/**
 * Keys and SNAT ports, across flows: each (direction, key) a flow indexes is
 * the only one, in the snapshot and (incremental) among the port's flows it
 * keeps; each SNAT port serves one flow. `t`: the port's table when the
 * restore keeps some of its flows (incremental), else null.
 */
function checkUnique(p: Port | null, t: FlowTable | null): u32 {
  const n = cFlows;
  keySetReset(n * 2);
  natMapsClear();
  let freed: u32 = 0;
  if (t != null) freed = markReplaced(t);
  rdSeek(cFlowsAt);
  for (let i: u32 = 0; i < n; i++) {
    const at = rdPos();
    readFlowInto(OK, XK);
    const next = rdPos();
    const origin = fOrigin(), indexed = (fFlags & F_OTHER_INDEXED) != 0;
    const pool = fPool, port = fPort;
    if (pool != NO_NAT_POOL) {
      if (!natClaimOnce(pool, port)) { refuseOther(natFirstHolder(pool, port)); return refuseFlow(SnapCheck.NatTwice, i, pool, port); }
      if (t != null && natIsTaken(portPool(p!, pool)!, port) && !natFreed(pool, port)) return refuseFlow(SnapCheck.NatHeld, i, pool, port);
    }
    let e = keyOnce(t, i, at, 0, origin, OK);
    if (e == 0 && indexed) e = keyOnce(t, i, at, 1, otherDir(origin), XK);
    if (e != 0) return e;
    rdSeek(next);
  }
  if (t != null && <u64>t.live - freed + n > <u64>t.capacity) return refuse(SnapCheck.TableFull, t.live - freed + n, t.capacity);
  return 0;
}

@inline function pairHash(dir: u32, k: usize): u32 {
  const h = keyHash(k) ^ (dir == Dir.Out ? 0x5bd1e995 : 0);
  return h == 0 ? 1 : h;
}

/** The key `k` of flow `i` (entry at `at`, key `which`) in direction `dir`: the first to claim it? */
function keyOnce(t: FlowTable | null, i: u32, at: usize, which: u32, dir: u32, k: usize): u32 {
  const h = pairHash(dir, k);
  keySetFirst(h);
  while (true) {
    const found = keySetNext(h);
    if (found == 0) break;
    const entry = found - 1;
    if (sameKey(entry, dir, k)) { refuseKey(dir, k); refuseOther(flowIndexAt(entry >> 1)); return refuseFlow(SnapCheck.KeyTwice, i); }
  }
  keySetPut(h, (<u32>(at - src0) << 1) | which);
  if (t != null) {
    const rec = flowLookup(t, dir, k, keyHash(k));
    if (rec != 0 && (load<u8>(rec + R_FLAGS) & RF_MARK) == 0) { refuseKey(dir, k); return refuseFlow(SnapCheck.KeyHeld, i); }
  }
  return 0;
}

/** Does set entry `entry` name key `k` in direction `dir`? (Decodes that flow again.) */
function sameKey(entry: u32, dir: u32, k: usize): bool {
  rdSeek(src0 + (entry >> 1));
  readFlowInto(OK2, XK2);
  const which = entry & 1;
  const d = which == 0 ? fOrigin() : otherDir(fOrigin());
  return d == dir && keyEquals(which == 0 ? OK2 : XK2, k);
}

/** The index of the flow whose entry starts at offset `off` (for the message: found again only on refusal). */
function flowIndexAt(off: u32): u32 {
  rdSeek(cFlowsAt);
  for (let j: u32 = 0; j < cFlows; j++) {
    if (<u32>(rdPos() - src0) == off) return j;
    readFlowInto(OK2, XK2);
  }
  return NO_FLOW;
}

/** The first flow bound to SNAT `pool`/`port` (for the message). */
function natFirstHolder(pool: u32, port: u32): u32 {
  rdSeek(cFlowsAt);
  for (let j: u32 = 0; j < cFlows; j++) {
    readFlowInto(OK2, XK2);
    if (fPool == pool && fPort == port) return j;
  }
  return NO_FLOW;
}

/** Mark the records an incremental restore deletes or replaces (each once), noting the SNAT ports they free; how many. */
function markReplaced(t: FlowTable): u32 {
  let freed: u32 = 0;
  for (let i: u32 = 0; i < cDels; i++) {
    const d = cDelsAt + <usize>i * DELETION_ENTRY;
    freed += mark(flowLookup(t, <u32>load<u8>(d), d + 1, keyHash(d + 1)));
  }
  rdSeek(cFlowsAt);
  for (let i: u32 = 0; i < cFlows; i++) {
    readFlowInto(OK, XK);
    freed += mark(flowLookup(t, fOrigin(), OK, keyHash(OK)));
  }
  return freed;
}

function mark(rec: usize): u32 {
  if (rec == 0) return 0;
  const f = load<u8>(rec + R_FLAGS);
  if ((f & RF_MARK) != 0) return 0;
  store<u8>(rec + R_FLAGS, f | RF_MARK);
  const pool = <u32>load<u16>(rec + R_NAT_POOL);
  if (pool != NO_NAT_POOL) natNoteFreed(pool, <u32>load<u16>(rec + R_NAT_PORT));
  return 1;
}

function unmark(t: FlowTable): void {
  for (let i: u32 = 0; i < t.neverUsed; i++) {
    const rec = recordAt(t, i);
    store<u8>(rec + R_FLAGS, load<u8>(rec + R_FLAGS) & ~RF_MARK);
  }
}
