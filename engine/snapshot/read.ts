// Reading a snapshot (docs/snapshot-format.md): a bounded cursor over its
// bytes and the decoder of one flow entry. Every read checks the bounds
// first and a short read sets `bad` instead of reading past the end, so the
// checks (check.ts) can decode any bytes at all.

import { KEY_SIZE, K_SRC_HI, K_DST_HI, K_DST_LO, K_SRC_LO, K_SPORT, K_DPORT, K_PROTO_VNI } from "../flow/key";
import { NO_NAT_POOL, Dir } from "../flow/record";
import { TcpState } from "../flow/tcp";
import {
  SNAP_MAGIC, SNAP_VERSION, SNAP_HEADER, FLAG_INCREMENTAL, F_V4, F_OTHER_SHIFT, F_NAT, F_ORIGIN_OUT, T_GUEST_SEQ, snapCrc,
} from "./format";
import { refuse } from "./refusal";
import { SnapCheck } from "../../abi/snapshot-check";

let r: usize = 0;
let rEnd: usize = 0;
let bad = false;
/** The version being read (checkHeader). */
export let rVersion: u32 = SNAP_VERSION;

export function rdPos(): usize { return r; }
export function rdSeek(at: usize): void { r = at; bad = false; }
export function rdLeft(): usize { return r <= rEnd ? rEnd - r : 0; }
export function rdBad(): bool { return bad; }
export function rdNeed(n: usize): bool { if (n > rdLeft()) { bad = true; return false; } return true; }
export function rdSkip(n: usize): void { if (rdNeed(n)) r += n; }
export function r8(): u32 { if (!rdNeed(1)) return 0; const v = <u32>load<u8>(r); r += 1; return v; }
export function r16(): u32 { if (!rdNeed(2)) return 0; const v = <u32>load<u16>(r); r += 2; return v; }
export function r32(): u32 { if (!rdNeed(4)) return 0; const v = load<u32>(r); r += 4; return v; }
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
  else { if (!rdNeed(16)) return; store<u64>(k + hiOff, load<u64>(r)); store<u64>(k + hiOff + 8, load<u64>(r + 8)); r += 16; }
}

// The last flow entry decoded.
export let fFlags: u32 = 0, fTcp: u32 = 0, fTcpFlags: u32 = 0, fSeq: u32 = 0, fMeter: u32 = 0, fBits: u32 = 0;
export let fPool: u32 = 0, fPort: u32 = 0, fAge: u32 = 0, fIdle: u32 = 0;
export const COUNTS: usize = memory.data(32, 8);

/** The origin direction of the last flow decoded. */
@inline export function fOrigin(): u32 { return (fFlags & F_ORIGIN_OUT) != 0 ? Dir.Out : Dir.In; }

/** Decode the flow entry at the cursor: its origin key into `ok`, the other direction's into `xk`. */
export function readFlowInto(ok: usize, xk: usize): void {
  fFlags = r8(); fTcp = r8(); fTcpFlags = r8(); fMeter = r8(); fBits = r32();
  const v4 = (fFlags & F_V4) != 0;
  store<u32>(ok + K_PROTO_VNI, r32());
  store<u16>(ok + K_SPORT, <u16>r16()); store<u16>(ok + K_DPORT, <u16>r16());
  raddr(ok, K_SRC_HI, v4); raddr(ok, K_DST_HI, v4);
  // the other key starts as the origin reversed
  store<u64>(xk + K_SRC_HI, load<u64>(ok + K_DST_HI)); store<u64>(xk + K_SRC_LO, load<u64>(ok + K_DST_LO));
  store<u64>(xk + K_DST_HI, load<u64>(ok + K_SRC_HI)); store<u64>(xk + K_DST_LO, load<u64>(ok + K_SRC_LO));
  store<u16>(xk + K_SPORT, load<u16>(ok + K_DPORT)); store<u16>(xk + K_DPORT, load<u16>(ok + K_SPORT));
  store<u32>(xk + K_PROTO_VNI, load<u32>(ok + K_PROTO_VNI));
  const kind = (fFlags >> F_OTHER_SHIFT) & 3;
  if (kind == 1) { raddr(xk, K_SRC_HI, v4); store<u16>(xk + K_SPORT, <u16>r16()); }
  else if (kind == 2) { raddr(xk, K_DST_HI, v4); store<u16>(xk + K_DPORT, <u16>r16()); }
  else if (kind == 3) { if (rdNeed(KEY_SIZE)) { memory.copy(xk, r, KEY_SIZE); r += KEY_SIZE; } }
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

/** Magic, version, lengths, checksum and flags; 0 or a Reason (detail recorded), the cursor at the body. */
export function checkHeader(src: usize, len: u32): u32 {
  if (len < SNAP_HEADER) return refuse(SnapCheck.HeaderTruncated, len);
  if (load<u32>(src) != SNAP_MAGIC) return refuse(SnapCheck.BadMagic, load<u32>(src));
  rVersion = <u32>load<u16>(src + 4);
  if (rVersion != SNAP_VERSION && rVersion != 1) return refuse(SnapCheck.Version, rVersion);
  const bodyLen = load<u32>(src + 40);
  // offsets inside a snapshot are u32 with a bit to spare (check.ts keeps them with one more bit)
  if (<u64>bodyLen + SNAP_HEADER != <u64>len || len >= 0x80000000) return refuse(SnapCheck.BodyLength, <u32>min<u64>(<u64>bodyLen + SNAP_HEADER, 0xffffffff), len);
  const crc = snapCrc(src, bodyLen);
  if (crc != load<u32>(src + 44)) return refuse(SnapCheck.Checksum, load<u32>(src + 44), crc);
  const flags = <u32>load<u16>(src + 6);
  if ((flags & ~FLAG_INCREMENTAL) != 0) return refuse(SnapCheck.Flags, flags & ~FLAG_INCREMENTAL);
  r = src + SNAP_HEADER; rEnd = src + len; bad = false;
  return 0;
}

/** A section ran out: refused, naming the offset (from the snapshot's start) of the read that failed. */
export function truncatedAt(src: usize): u32 { return refuse(SnapCheck.Truncated, <u32>(r - src)); }
