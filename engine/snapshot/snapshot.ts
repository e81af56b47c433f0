// Flow-state snapshots (docs/snapshot-format.md): a port's stateful
// decisions — flow keys, origin, TCP state, layer decisions, SNAT bindings,
// ages, counters — in a compact, versioned, checksummed byte string, and
// their restore into another engine's port (live migration, upgrade).
//
// Composed transformations are not carried: a restored flow's next packet in
// each direction re-runs the layers once with the restored decisions (same
// NAT port, firewall state), which gives the same bytes under the same rules
// and follows the target's mappings (its own sled address, moved guests).
// Restores are validated completely (checksum, every field, NAT bindings
// against the target's pools, room in its table) before the port changes.

import { Reason } from "../../abi/reason";
import { Port, COUNTER_SLOTS, portPool, MAX_POOLS } from "../port";
import { Ctr } from "../../abi/counters";
import { FlowTable, recordAt, recordAlloc, flowIndexInsert, flowLookup, flowRemove } from "../flow/table";
import {
  R_FLAGS, RF_LIVE, R_ORIGIN, R_TCP, R_METER, R_LAYER_BITS, R_NAT_POOL, R_NAT_PORT, R_CREATED, R_LAST_SEEN,
  R_PKTS_OUT, R_DIRTY, R_GUEST_SEQ, RF_GUEST_SEQ, keyOff, otherDir, Dir, NO_NAT_POOL, R_X_OUT, R_X_IN,
} from "../flow/record";
import { TcpState, TCP_STATE_COUNT } from "../flow/tcp";
import { KEY_SIZE, keyHash, K_SRC_HI, K_SRC_LO, K_DST_HI, K_DST_LO, K_SPORT, K_DPORT, K_PROTO_VNI } from "../flow/key";
import { X_MODS } from "../flow/xform";
import { natClaim, natIsTaken, natRelease } from "../nat/pool";
import { crc32cUpdate } from "./crc32c";
import { METERS_PER_PORT } from "../meter";
import { DeletionLog, deletionLogNew, logDeletion, deletionAt, DELETION_SIZE } from "./deletions";

export const SNAP_MAGIC: u32 = 0x53504f57; // "WOPS"
export const SNAP_VERSION: u32 = 2;
// Version 1 (before OPTE's TCP states): read, its TCP states translated, when
// its counters have the layout of the last version-1 build (16 port counters,
// 58 reasons); other version-1 layouts are refused (SnapshotMismatch).
const V1_PORT_COUNTERS: u32 = 16;
const V1_REASONS: u32 = 58;
export const SNAP_HEADER: u32 = 48;
const FLAG_INCREMENTAL: u32 = 1;

// flow entry flags
const F_ORIGIN_OUT: u32 = 1;
const F_V4: u32 = 2;
const F_OTHER_SHIFT: u32 = 2;   // 2 bits: 0 reverse, 1 source replaced, 2 destination replaced, 3 full key
const F_NAT: u32 = 16;
const F_OTHER_INDEXED: u32 = 32;

let buf: usize = 0;
let bufCap: usize = 0;
export let snapshotError: u32 = 0;
export function snapshotPtr(): usize { return buf; }
export function snapshotFail(reason: u32): u32 { snapshotError = reason; return 0; }

// Set on records for the length of a restore's checks (counting the records
// it frees); flag bits 0..2 belong to the table, 0x10 to TCP tracking.
const RF_MARK: u8 = 0x80;

/** CRC-32C of the header's first 44 bytes (all but the checksum) and the body. */
function snapCrc(base: usize, bodyLen: usize): u32 {
  return crc32cUpdate(crc32cUpdate(0, base, 44), base + SNAP_HEADER, bodyLen);
}

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

// entry byte 2: TCP tracking flags
const T_GUEST_SEQ: u32 = 1; // the guest's last sequence number follows the NAT binding

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

// ---- reading ------------------------------------------------------------

let r: usize = 0;
let rEnd: usize = 0;
let bad = false;
@inline function need(n: usize): bool { if (r + n > rEnd) { bad = true; return false; } return true; }
function r8(): u32 { if (!need(1)) return 0; const v = <u32>load<u8>(r); r += 1; return v; }
function r16(): u32 { if (!need(2)) return 0; const v = <u32>load<u16>(r); r += 2; return v; }
function r32(): u32 { if (!need(4)) return 0; const v = load<u32>(r); r += 4; return v; }
function rvar(): u64 {
  let v: u64 = 0;
  for (let shift: u64 = 0; shift < 64; shift += 7) {
    const b = r8();
    if (bad) return 0;
    v |= (<u64>(b & 0x7f)) << shift;
    if ((b & 0x80) == 0) return v;
  }
  bad = true;
  return 0;
}
function raddr(k: usize, hiOff: usize, v4: bool): void {
  if (v4) { store<u64>(k + hiOff, 0); store<u64>(k + hiOff + 8, 0x0000ffff00000000 | <u64>r32()); }
  else { if (!need(16)) return; store<u64>(k + hiOff, load<u64>(r)); store<u64>(k + hiOff + 8, load<u64>(r + 8)); r += 16; }
}

// Scratch for one decoded flow.
const OK: usize = memory.data(40, 8);
const XK: usize = memory.data(40, 8);
let fFlags: u32 = 0, fTcp: u32 = 0, fTcpFlags: u32 = 0, fSeq: u32 = 0, fMeter: u32 = 0, fBits: u32 = 0, fPool: u32 = 0, fPort: u32 = 0, fAge: u32 = 0, fIdle: u32 = 0;
const COUNTS: usize = memory.data(32, 8);

// The version being read (checkHeader).
let rVersion: u32 = SNAP_VERSION;

function readFlow(): void {
  fFlags = r8(); fTcp = r8(); fTcpFlags = r8(); fMeter = r8(); fBits = r32();
  const v4 = (fFlags & F_V4) != 0;
  store<u32>(OK + K_PROTO_VNI, r32());
  store<u16>(OK + K_SPORT, <u16>r16()); store<u16>(OK + K_DPORT, <u16>r16());
  raddr(OK, K_SRC_HI, v4); raddr(OK, K_DST_HI, v4);
  // the other key starts as the origin reversed
  store<u64>(XK + K_SRC_HI, load<u64>(OK + K_DST_HI)); store<u64>(XK + K_SRC_LO, load<u64>(OK + K_DST_LO));
  store<u64>(XK + K_DST_HI, load<u64>(OK + K_SRC_HI)); store<u64>(XK + K_DST_LO, load<u64>(OK + K_SRC_LO));
  store<u16>(XK + K_SPORT, load<u16>(OK + K_DPORT)); store<u16>(XK + K_DPORT, load<u16>(OK + K_SPORT));
  store<u32>(XK + K_PROTO_VNI, load<u32>(OK + K_PROTO_VNI));
  const kind = (fFlags >> F_OTHER_SHIFT) & 3;
  if (kind == 1) { raddr(XK, K_SRC_HI, v4); store<u16>(XK + K_SPORT, <u16>r16()); }
  else if (kind == 2) { raddr(XK, K_DST_HI, v4); store<u16>(XK + K_DPORT, <u16>r16()); }
  else if (kind == 3) { if (need(KEY_SIZE)) { memory.copy(XK, r, KEY_SIZE); r += KEY_SIZE; } }
  fPool = NO_NAT_POOL; fPort = 0;
  if ((fFlags & F_NAT) != 0) { fPool = r16(); fPort = r16(); }
  fSeq = 0;
  if (rVersion == 1) {
    if (fTcp <= 6 && (fTcpFlags & ~0x30) == 0) fTcp = tcpStateFromV1(fTcp, fTcpFlags, (fFlags & F_ORIGIN_OUT) != 0);
    else fTcp = 0xff; // out of range: refused by the checks
    fTcpFlags = 0;
  } else if ((fTcpFlags & T_GUEST_SEQ) != 0) {
    fSeq = r32();
  }
  fAge = r32(); fIdle = r32();
  for (let i: usize = 0; i < 4; i++) store<u64>(COUNTS + (i << 3), rvar());
}

/**
 * Version 1's TCP states (0 none, 1 syn-sent, 2 syn-rcvd, 3 established,
 * 4 fin-wait, 5 closing, 6 closed; FIN bits 0x10 out, 0x20 in) as the state
 * machine of tcp.ts names them, from the guest's side.
 */
function tcpStateFromV1(v: u32, fin: u32, originOut: bool): u32 {
  switch (v) {
    case 1: return originOut ? TcpState.SynSent : TcpState.Listen;
    case 2: return originOut ? TcpState.Established : TcpState.SynRcvd;
    case 3: return TcpState.Established;
    case 4: return (fin & 0x10) != 0 ? TcpState.FinWait1 : TcpState.CloseWait;
    case 5: return TcpState.TimeWait;
  }
  return TcpState.Closed; // none, closed
}

/** Header checks shared by restore and validation; returns 0 or a Reason, leaves `r` at the body. */
function checkHeader(src: usize, len: u32): u32 {
  if (len < SNAP_HEADER) return Reason.SnapshotCorrupt;
  if (load<u32>(src) != SNAP_MAGIC) return Reason.SnapshotCorrupt;
  rVersion = <u32>load<u16>(src + 4);
  if (rVersion != SNAP_VERSION && rVersion != 1) return Reason.SnapshotVersion;
  const bodyLen = load<u32>(src + 40);
  if (bodyLen != len - SNAP_HEADER) return Reason.SnapshotCorrupt;
  if (snapCrc(src, bodyLen) != load<u32>(src + 44)) return Reason.SnapshotCorrupt;
  if ((<u32>load<u16>(src + 6) & ~FLAG_INCREMENTAL) != 0) return Reason.SnapshotCorrupt;
  r = src + SNAP_HEADER; rEnd = src + len; bad = false;
  return 0;
}

/** Restore a snapshot into `p`. Everything is validated before the port changes. */
export function snapshotRestore(p: Port, src: usize, len: u32, now: f64): u32 {
  let e = checkHeader(src, len);
  if (e != 0) return e;
  const incremental = (<u32>load<u16>(src + 6) & FLAG_INCREMENTAL) != 0;
  const nflows = load<u32>(src + 32);
  // ---- pass 1: validate everything
  let nPort: u32, nReasons: u32;
  if (rVersion == 1) {
    const n = r32();
    if (!need(<usize>n << 3)) return Reason.SnapshotCorrupt;
    // a version-1 build with another counter layout: refused, not misread
    if (n != V1_PORT_COUNTERS + V1_REASONS) return Reason.SnapshotMismatch;
    nPort = V1_PORT_COUNTERS; nReasons = V1_REASONS;
  } else {
    nPort = r16(); nReasons = r16();
    if (!need(<usize>(nPort + nReasons) << 3)) return Reason.SnapshotCorrupt;
    // counters and reasons are appended, never renumbered: an older build's are a prefix of ours
    if (nPort > <u32>Ctr.Count || nReasons > <u32>Reason.Count) return Reason.SnapshotMismatch;
  }
  const countersAt = r;
  r += <usize>(nPort + nReasons) << 3;
  const npools = r32();
  if (npools > MAX_POOLS) return Reason.SnapshotCorrupt;
  for (let i: u32 = 0; i < npools; i++) {
    const id = r16(), lo = r16(), hi = r16(); r16();
    if (!need(16)) return Reason.SnapshotCorrupt;
    const ehi = load<u64>(r), elo = load<u64>(r + 8); r += 16;
    const np = portPool(p, id);
    if (np == null || np.portLo != lo || np.portHi != hi || np.extHi != ehi || np.extLo != elo) return Reason.SnapshotMismatch;
  }
  if (r32() != nflows || bad) return Reason.SnapshotCorrupt;
  const flowsAt = r;
  if (!incremental && nflows > p.flows.capacity) return Reason.SnapshotMismatch;
  for (let i: u32 = 0; i < nflows; i++) {
    readFlow();
    if (bad) return Reason.SnapshotCorrupt;
    if (fTcp >= TCP_STATE_COUNT || (fFlags & ~63) != 0 || (fTcpFlags & ~T_GUEST_SEQ) != 0 || fMeter >= METERS_PER_PORT) return Reason.SnapshotCorrupt;
    if (((fFlags >> F_OTHER_SHIFT) & 3) != 0 && (fFlags & F_OTHER_INDEXED) == 0) return Reason.SnapshotCorrupt;
    if (fPool != NO_NAT_POOL) {
      const np = portPool(p, fPool);
      if (np == null || fPort < np.portLo || fPort > np.portHi) return Reason.SnapshotMismatch;
    }
  }
  const ndels = r32();
  if (bad || ndels != load<u32>(src + 36)) return Reason.SnapshotCorrupt;
  if (!need(<usize>ndels * (1 + KEY_SIZE))) return Reason.SnapshotCorrupt;
  const delsAt = r;
  if (r + <usize>ndels * (1 + KEY_SIZE) != rEnd) return Reason.SnapshotCorrupt;
  if (!incremental && ndels != 0) return Reason.SnapshotCorrupt;
  for (let i: u32 = 0; i < ndels; i++) {
    const dir = <u32>load<u8>(delsAt + <usize>i * (1 + KEY_SIZE));
    if (dir != Dir.In && dir != Dir.Out) return Reason.SnapshotCorrupt;
  }
  const t = p.flows;
  if (incremental) {
    // Will the table hold the result? Count the records the restore frees
    // (deleted or replaced, each once: marked) against the flows it adds.
    let freed: u32 = 0;
    for (let i: u32 = 0; i < ndels; i++) {
      const d = delsAt + <usize>i * (1 + KEY_SIZE);
      freed += markRecord(flowLookup(t, <u32>load<u8>(d), d + 1, keyHash(d + 1)));
    }
    r = flowsAt; bad = false;
    for (let i: u32 = 0; i < nflows; i++) {
      readFlow();
      const origin: u32 = (fFlags & F_ORIGIN_OUT) != 0 ? Dir.Out : Dir.In;
      freed += markRecord(flowLookup(t, origin, OK, keyHash(OK)));
    }
    if (<u64>t.live - freed + nflows > <u64>t.capacity) {
      for (let i: u32 = 0; i < t.neverUsed; i++) {
        const rec = recordAt(t, i);
        store<u8>(rec + R_FLAGS, load<u8>(rec + R_FLAGS) & ~RF_MARK);
      }
      return Reason.SnapshotMismatch;
    }
  }

  // ---- pass 2: apply (nothing below fails)
  if (!incremental) {
    // a full snapshot replaces the port's flows
    for (let i: u32 = 0; i < t.neverUsed; i++) {
      const rec = recordAt(t, i);
      if ((<u32>load<u8>(rec + R_FLAGS) & RF_LIVE) == 0) continue;
      releaseNat(p, rec);
      flowRemove(t, rec);
    }
    // those removals are not in the deletion log: later incrementals need a new mark
    if (p.deletions != 0) changetype<DeletionLog>(p.deletions).oldestGen = p.dirtyGen + 1;
  } else {
    for (let i: u32 = 0; i < ndels; i++) {
      const d = delsAt + <usize>i * (1 + KEY_SIZE);
      const rec = flowLookup(t, <u32>load<u8>(d), d + 1, keyHash(d + 1));
      if (rec != 0) { noteDeletion(p, rec); releaseNat(p, rec); flowRemove(t, rec); }
    }
  }
  // port counters, then reasons; any this build has and the snapshot's did not start at 0
  memory.fill(p.counters, 0, <usize>COUNTER_SLOTS << 3);
  memory.copy(p.counters, countersAt, <usize>nPort << 3);
  memory.copy(p.counters + (<usize>Ctr.Count << 3), countersAt + (<usize>nPort << 3), <usize>nReasons << 3);
  r = flowsAt; bad = false;
  const nowMs = <u32>(<u64>now & 0xffffffff);
  const nowSec = <u32>(now / 1000);
  let skipped: u32 = 0;
  for (let i: u32 = 0; i < nflows; i++) {
    readFlow();
    const origin: u32 = (fFlags & F_ORIGIN_OUT) != 0 ? Dir.Out : Dir.In;
    let rec = flowLookup(t, origin, OK, keyHash(OK));
    if (rec != 0) { releaseNat(p, rec); flowRemove(t, rec); } // an update replaces the flow
    rec = recordAlloc(t);
    if (rec == 0) { skipped++; continue; }
    store<u8>(rec + R_ORIGIN, <u8>origin);
    memory.copy(rec + keyOff(origin), OK, KEY_SIZE);
    if (!flowIndexInsert(t, origin, rec)) { flowRemove(t, rec); skipped++; continue; }
    if ((fFlags & F_OTHER_INDEXED) != 0) {
      memory.copy(rec + keyOff(otherDir(origin)), XK, KEY_SIZE);
      flowIndexInsert(t, otherDir(origin), rec);
    }
    store<u8>(rec + R_TCP, <u8>fTcp);
    if ((fTcpFlags & T_GUEST_SEQ) != 0) {
      store<u32>(rec + R_GUEST_SEQ, fSeq);
      store<u8>(rec + R_FLAGS, load<u8>(rec + R_FLAGS) | <u8>RF_GUEST_SEQ);
    }
    store<u8>(rec + R_METER, <u8>fMeter);
    store<u32>(rec + R_LAYER_BITS, fBits);
    store<u16>(rec + R_NAT_POOL, <u16>NO_NAT_POOL);
    if (fPool != NO_NAT_POOL) {
      const np = portPool(p, fPool)!;
      if (natIsTaken(np, fPort) || natClaim(np, fPort)) {
        store<u16>(rec + R_NAT_POOL, <u16>fPool);
        store<u16>(rec + R_NAT_PORT, <u16>fPort);
      }
    }
    store<u32>(rec + R_CREATED, nowSec - fAge);
    store<u32>(rec + R_LAST_SEEN, nowMs - fIdle);
    memory.copy(rec + R_PKTS_OUT, COUNTS, 32);
    store<u32>(rec + R_DIRTY, p.dirtyGen);
    // transformations are recomposed on the next packet of each direction
    store<u16>(rec + R_X_OUT + X_MODS, 0);
    store<u16>(rec + R_X_IN + X_MODS, 0);
  }
  return skipped == 0 ? 0 : Reason.FlowTableFull;
}

function markRecord(rec: usize): u32 {
  if (rec == 0) return 0;
  const f = load<u8>(rec + R_FLAGS);
  if ((f & RF_MARK) != 0) return 0;
  store<u8>(rec + R_FLAGS, f | RF_MARK);
  return 1;
}

function releaseNat(p: Port, rec: usize): void {
  const pool = <u32>load<u16>(rec + R_NAT_POOL);
  if (pool == NO_NAT_POOL) return;
  const np = portPool(p, pool);
  if (np != null) natRelease(np, <u32>load<u16>(rec + R_NAT_PORT));
  store<u16>(rec + R_NAT_POOL, <u16>NO_NAT_POOL);
}

/** Record a flow's removal for incremental snapshots (when a mark has been taken). */
export function noteDeletion(p: Port, rec: usize): void {
  if (p.deletions != 0) logDeletion(changetype<DeletionLog>(p.deletions), rec, p.dirtyGen);
}

