// Why a snapshot was refused, in detail: which check failed, at which flow,
// with which numbers. The Reason a restore returns says only "corrupt",
// "another version" or "does not fit this port"; an operator needs "two
// flows share key …" or "SNAT port 40001 held twice" to act, and `wopte
// snapshot verify` reports the same words as a restore because both run
// these checks (check.ts). The codes and the detail area's layout are
// abi/snapshot-check.ts, which hosts/snapshot/checks.ts reads by name.

import { Reason } from "../../abi/reason";
import { SnapCheck, CHECK_DETAIL_SIZE, CD_CODE, CD_FLOW, CD_OTHER, CD_VALUES, CD_DIR, CD_KEY, CD_NONE } from "../../abi/snapshot-check";
import { KEY_SIZE } from "../flow/key";

export const NO_FLOW: u32 = CD_NONE;
const D: usize = memory.data(<i32>CHECK_DETAIL_SIZE, 8);

export function snapCheckDetail(): usize { return D; }

export function refuseClear(): void {
  memory.fill(D, 0, CHECK_DETAIL_SIZE);
  store<u32>(D + CD_FLOW, CD_NONE);
  store<u32>(D + CD_OTHER, CD_NONE);
}

/** Record a failed check; returns its Reason. */
export function refuse(code: u32, a: u32 = 0, b: u32 = 0, c: u32 = 0, d: u32 = 0): u32 {
  store<u32>(D + CD_CODE, code);
  const v = D + CD_VALUES;
  store<u32>(v, a); store<u32>(v + 4, b); store<u32>(v + 8, c); store<u32>(v + 12, d);
  return checkReason(code);
}

/** A failed check about flow `i` (or deletion `i`). */
export function refuseFlow(code: u32, i: u32, a: u32 = 0, b: u32 = 0, c: u32 = 0, d: u32 = 0): u32 {
  store<u32>(D + CD_FLOW, i);
  return refuse(code, a, b, c, d);
}

/** The earlier flow a refusal is about (two flows share something). */
export function refuseOther(j: u32): void { store<u32>(D + CD_OTHER, j); }

/** The key (and its direction) a refusal is about. */
export function refuseKey(dir: u32, k: usize): void {
  store<u32>(D + CD_DIR, dir);
  memory.copy(D + CD_KEY, k, KEY_SIZE);
}

/**
 * A snapshot damaged in itself is corrupt; one that is sound but does not fit
 * this port (its pools, VNI, table, the flows it keeps) is a mismatch.
 */
export function checkReason(code: u32): u32 {
  switch (code) {
    case SnapCheck.None: return 0;
    case SnapCheck.Version: return Reason.SnapshotVersion;
    case SnapCheck.CounterLayout: case SnapCheck.PoolMismatch: case SnapCheck.TableFull: case SnapCheck.Vni:
    case SnapCheck.NatNoPool: case SnapCheck.NatOutside: case SnapCheck.NatHeld: case SnapCheck.KeyHeld:
      return Reason.SnapshotMismatch;
  }
  return Reason.SnapshotCorrupt;
}
