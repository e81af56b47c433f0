// Flow-state snapshots (docs/snapshot-format.md): a port's stateful
// decisions — flow keys, origin, TCP state, layer decisions, SNAT bindings,
// ages, counters — in a compact, versioned, checksummed byte string. This
// file writes them; check.ts holds the checks every restore passes first,
// restore.ts puts the flows into a port (live migration, upgrade, a sled
// host's checkpoints).

import { Reason } from "../../abi/reason";
import { Port, COUNTER_SLOTS, portPool, MAX_POOLS } from "../port";
import { Ctr } from "../../abi/counters";
import { FlowTable, recordAt } from "../flow/table";
import {
  R_FLAGS, RF_LIVE, R_ORIGIN, R_TCP, R_METER, R_LAYER_BITS, R_NAT_POOL, R_NAT_PORT, R_CREATED, R_LAST_SEEN,
  R_PKTS_OUT, R_DIRTY, R_GUEST_SEQ, RF_GUEST_SEQ, keyOff, otherDir, Dir, NO_NAT_POOL,
} from "../flow/record";
import { KEY_SIZE, K_SRC_HI, K_SRC_LO, K_DST_HI, K_DST_LO, K_SPORT, K_DPORT, K_PROTO_VNI } from "../flow/key";
import {
  SNAP_MAGIC, SNAP_VERSION, SNAP_HEADER, FLAG_INCREMENTAL, F_ORIGIN_OUT, F_V4, F_OTHER_SHIFT, F_NAT, F_OTHER_INDEXED, T_GUEST_SEQ, snapCrc,
} from "./format";
import { DeletionLog, deletionLogNew, logDeletion, deletionAt, DELETION_SIZE } from "./deletions";

let buf: usize = 0;
let bufCap: usize = 0;
export let snapshotError: u32 = 0;
export function snapshotPtr(): usize { return buf; }
export function snapshotFail(reason: u32): u32 { snapshotError = reason; return 0; }

function ensure(n: usize): void {
  if (n <= bufCap) return;
  const cap = max<usize>(n, bufCap * 2);
  const nb = heap.alloc(cap);
  if (buf != 0) heap.free(buf);
  buf = nb;
  bufCap = cap;
}

// ---- writing ------------------------------------------------------------

let w: usize = 0;
@inline function w8(v: u32): void { store<u8>(w, <u8>v); w += 1; }
@inline function w16(v: u32): void { store<u16>(w, <u16>v); w += 2; }
@inline function w32(v: u32): void { store<u32>(w, v); w += 4; }
function wvar(v: u64): void {
  while (v >= 0x80) { store<u8>(w, <u8>(v | 0x80)); w++; v >>= 7; }
  store<u8>(w, <u8>v); w++;
}
function waddr(k: usize, hiOff: usize, v4: bool): void {
  if (v4) { store<u32>(w, <u32>load<u64>(k + hiOff + 8)); w += 4; }
  else { store<u64>(w, load<u64>(k + hiOff)); store<u64>(w + 8, load<u64>(k + hiOff + 8)); w += 16; }
}

@inline function isV4Key(k: usize): bool {
  return load<u64>(k + K_SRC_HI) == 0 && (load<u64>(k + K_SRC_LO) >> 32) == 0xffff &&
         load<u64>(k + K_DST_HI) == 0 && (load<u64>(k + K_DST_LO) >> 32) == 0xffff;
}

/** How the other direction's key relates to the origin key reversed. */
function otherKind(ok: usize, xk: usize): u32 {
  // reverse of the origin: src↔dst, ports swapped
  const srcSame = load<u64>(xk + K_SRC_HI) == load<u64>(ok + K_DST_HI) && load<u64>(xk + K_SRC_LO) == load<u64>(ok + K_DST_LO) &&
    load<u16>(xk + K_SPORT) == load<u16>(ok + K_DPORT);
  const dstSame = load<u64>(xk + K_DST_HI) == load<u64>(ok + K_SRC_HI) && load<u64>(xk + K_DST_LO) == load<u64>(ok + K_SRC_LO) &&
    load<u16>(xk + K_DPORT) == load<u16>(ok + K_SPORT);
  if (load<u32>(xk + K_PROTO_VNI) != load<u32>(ok + K_PROTO_VNI)) return 3;
  if (srcSame && dstSame) return 0;
  if (!srcSame && dstSame) return 1;
  if (srcSame && !dstSame) return 2;
  return 3;
}

function writeFlow(rec: usize, nowSec: u32, nowMs: u32): void {
  const origin = <u32>load<u8>(rec + R_ORIGIN);
  const ok = rec + keyOff(origin);
  const xk = rec + keyOff(otherDir(origin));
  const rflags = <u32>load<u8>(rec + R_FLAGS);
  const otherIndexed = (rflags & (origin == Dir.Out ? 2 : 1)) != 0;
  const kind = otherIndexed ? otherKind(ok, xk) : 0;
  const v4 = isV4Key(ok) && (kind == 0 || isV4Key(xk));
  const natPool = <u32>load<u16>(rec + R_NAT_POOL);
  let f: u32 = (origin == Dir.Out ? F_ORIGIN_OUT : 0) | (v4 ? F_V4 : 0) | (kind << F_OTHER_SHIFT) | (otherIndexed ? F_OTHER_INDEXED : 0);
  if (natPool != NO_NAT_POOL) f |= F_NAT;
  w8(f);
  const seqKnown = (rflags & RF_GUEST_SEQ) != 0;
  w8(<u32>load<u8>(rec + R_TCP));
  w8(seqKnown ? T_GUEST_SEQ : 0);
  w8(<u32>load<u8>(rec + R_METER));
  w32(load<u32>(rec + R_LAYER_BITS));
  w32(load<u32>(ok + K_PROTO_VNI));
  w16(<u32>load<u16>(ok + K_SPORT)); w16(<u32>load<u16>(ok + K_DPORT));
  waddr(ok, K_SRC_HI, v4); waddr(ok, K_DST_HI, v4);
  if (kind == 1) { waddr(xk, K_SRC_HI, v4); w16(<u32>load<u16>(xk + K_SPORT)); }
  else if (kind == 2) { waddr(xk, K_DST_HI, v4); w16(<u32>load<u16>(xk + K_DPORT)); }
  else if (kind == 3) { memory.copy(w, xk, KEY_SIZE); w += KEY_SIZE; }
  if (natPool != NO_NAT_POOL) { w16(natPool); w16(<u32>load<u16>(rec + R_NAT_PORT)); }
  if (seqKnown) w32(load<u32>(rec + R_GUEST_SEQ));
  w32(nowSec - load<u32>(rec + R_CREATED));
  w32(nowMs - load<u32>(rec + R_LAST_SEEN));
  for (let i: usize = 0; i < 4; i++) wvar(load<u64>(rec + R_PKTS_OUT + (i << 3)));
}

const MAX_FLOW_ENTRY: usize = 8 + 4 + 4 + 32 + KEY_SIZE + 4 + 4 + 8 + 4 * 10;

/** Mark a new dirty generation; the deletion log starts here if it did not exist. */
export function snapshotMark(p: Port): u32 {
  p.dirtyGen++;
  if (p.deletions == 0) p.deletions = changetype<usize>(deletionLogNew(p.dirtyGen));
  return p.dirtyGen;
}

/** Encode port `p` (all flows, or those changed since `since` plus deletions). Returns the length, 0 on error. */
export function snapshotExport(p: Port, id: u32, since: u32, now: f64): u32 {
  snapshotError = 0;
  const t: FlowTable = p.flows;
  const incremental = since != 0;
  let dlog: DeletionLog | null = null;
  if (incremental) {
    if (p.deletions == 0 || since > p.dirtyGen) { snapshotError = Reason.SnapshotGap; return 0; }
    dlog = changetype<DeletionLog>(p.deletions);
    if (since < dlog.oldestGen) { snapshotError = Reason.SnapshotGap; return 0; }
  }
  ensure(<usize>SNAP_HEADER + (<usize>COUNTER_SLOTS << 3) + 8 + <usize>MAX_POOLS * 24 + <usize>t.live * MAX_FLOW_ENTRY +
    (dlog != null ? <usize>dlog.count * (DELETION_SIZE) : 0) + 16);
  const nowMs = <u32>(<u64>now & 0xffffffff);
  const nowSec = <u32>(now / 1000);
  w = buf + SNAP_HEADER;
  // counters: how many of each kind, so a later build (counters and reasons
  // are only ever appended) can read them
  w16(Ctr.Count); w16(Reason.Count);
  memory.copy(w, p.counters, <usize>COUNTER_SLOTS << 3); w += <usize>COUNTER_SLOTS << 3;
  // NAT pools (the target must have the same ones)
  let pools: u32 = 0;
  for (let i: u32 = 0; i < MAX_POOLS; i++) if (portPool(p, i) != null) pools++;
  w32(pools);
  for (let i: u32 = 0; i < MAX_POOLS; i++) {
    const np = portPool(p, i);
    if (np == null) continue;
    w16(i); w16(np.portLo); w16(np.portHi); w16(0);
    store<u64>(w, np.extHi); store<u64>(w + 8, np.extLo); w += 16;
  }
  // flows
  const flowsAt = w;
  w32(0);
  let flows: u32 = 0;
  for (let i: u32 = 0; i < t.neverUsed; i++) {
    const rec = recordAt(t, i);
    if ((<u32>load<u8>(rec + R_FLAGS) & RF_LIVE) == 0) continue;
    if (incremental && load<u32>(rec + R_DIRTY) < since) continue;
    writeFlow(rec, nowSec, nowMs);
    flows++;
  }
  store<u32>(flowsAt, flows);
  // deletions (incremental only)
  let dels: u32 = 0;
  const delsAt = w;
  w32(0);
  if (dlog != null) {
    for (let i: u32 = 0; i < dlog.count; i++) {
      const e = deletionAt(dlog, i);
      if (load<u32>(e) < since) continue;
      w8(<u32>load<u8>(e + 4));
      memory.copy(w, e + 8, KEY_SIZE); w += KEY_SIZE;
      dels++;
    }
  }
  store<u32>(delsAt, dels);
  const bodyLen = <u32>(w - buf - SNAP_HEADER);
  // header
  store<u32>(buf, SNAP_MAGIC);
  store<u16>(buf + 4, <u16>SNAP_VERSION);
  store<u16>(buf + 6, <u16>(incremental ? FLAG_INCREMENTAL : 0));
  store<u32>(buf + 8, id);
  store<u32>(buf + 12, p.epoch);
  store<u32>(buf + 16, since);
  store<u32>(buf + 20, p.dirtyGen);
  store<f64>(buf + 24, now);
  store<u32>(buf + 32, flows);
  store<u32>(buf + 36, dels);
  store<u32>(buf + 40, bodyLen);
  store<u32>(buf + 44, snapCrc(buf, bodyLen));
  return SNAP_HEADER + bodyLen;
}

/** Record a flow's removal for incremental snapshots (when a mark has been taken). */
export function noteDeletion(p: Port, rec: usize): void {
  if (p.deletions != 0) logDeletion(changetype<DeletionLog>(p.deletions), rec, p.dirtyGen);
}

