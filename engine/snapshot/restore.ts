// Restoring a snapshot into a port: the checks (check.ts) first, and only
// when every one passes, the port changes. Nothing below them fails, so a
// refused snapshot leaves the port exactly as it was and an accepted one is
// restored whole.
//
// Composed transformations are not carried: a restored flow's next packet in
// each direction re-runs the layers once with the restored decisions (same
// SNAT port, firewall state), which gives the same bytes under the same rules
// and follows the target's mappings (its own sled address, moved guests).

import { Reason } from "../../abi/reason";
import { Ctr } from "../../abi/counters";
import { Port, COUNTER_SLOTS, portPool } from "../port";
import { recordAt, recordAlloc, flowIndexInsert, flowLookup, flowRemove } from "../flow/table";
import {
  R_FLAGS, RF_LIVE, R_ORIGIN, R_TCP, R_METER, R_LAYER_BITS, R_NAT_POOL, R_NAT_PORT, R_CREATED, R_LAST_SEEN,
  R_PKTS_OUT, R_DIRTY, R_GUEST_SEQ, RF_GUEST_SEQ, keyOff, otherDir, Dir, NO_NAT_POOL, R_X_OUT, R_X_IN,
} from "../flow/record";
import { KEY_SIZE, keyHash } from "../flow/key";
import { X_MODS } from "../flow/xform";
import { natClaim, natRelease } from "../nat/pool";
import { F_OTHER_INDEXED, T_GUEST_SEQ, DELETION_ENTRY } from "./format";
import { rdSeek, readFlowInto, fOrigin, fFlags, fTcp, fTcpFlags, fSeq, fMeter, fBits, fPool, fPort, fAge, fIdle, COUNTS } from "./read";
import { snapshotCheck, cIncremental, cCountersAt, cPortCounters, cReasons, cFlowsAt, cFlows, cDelsAt, cDels } from "./check";
import { noteDeletion } from "./snapshot";
import { DeletionLog } from "./deletions";

const OK: usize = memory.data(40, 8);
const XK: usize = memory.data(40, 8);

/** Restore a snapshot into `p`: 0, or the Reason of the first check that failed (port unchanged). */
export function snapshotRestore(p: Port, src: usize, len: u32, now: f64): u32 {
  const e = snapshotCheck(p, src, len);
  if (e != 0) return e;
  const t = p.flows;
  if (!cIncremental) {
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
    for (let i: u32 = 0; i < cDels; i++) {
      const d = cDelsAt + <usize>i * DELETION_ENTRY;
      const rec = flowLookup(t, <u32>load<u8>(d), d + 1, keyHash(d + 1));
      if (rec != 0) { noteDeletion(p, rec); releaseNat(p, rec); flowRemove(t, rec); }
    }
    // the flows it updates go before any is added, so every SNAT port they held is free to claim
    rdSeek(cFlowsAt);
    for (let i: u32 = 0; i < cFlows; i++) {
      readFlowInto(OK, XK);
      const rec = flowLookup(t, fOrigin(), OK, keyHash(OK));
      if (rec != 0) { releaseNat(p, rec); flowRemove(t, rec); }
    }
  }
  // port counters, then reasons; any this build has and the snapshot's did not start at 0
  memory.fill(p.counters, 0, <usize>COUNTER_SLOTS << 3);
  memory.copy(p.counters, cCountersAt, <usize>cPortCounters << 3);
  memory.copy(p.counters + (<usize>Ctr.Count << 3), cCountersAt + (<usize>cPortCounters << 3), <usize>cReasons << 3);
  rdSeek(cFlowsAt);
  const nowMs = <u32>(<u64>now & 0xffffffff);
  const nowSec = <u32>(now / 1000);
  let skipped: u32 = 0;
  for (let i: u32 = 0; i < cFlows; i++) {
    readFlowInto(OK, XK);
    const origin = fOrigin();
    // checked: the table has room and no key is taken, so neither fails
    const rec = recordAlloc(t);
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
    if (fPool != NO_NAT_POOL && natClaim(portPool(p, fPool)!, fPort)) {
      store<u16>(rec + R_NAT_POOL, <u16>fPool);
      store<u16>(rec + R_NAT_PORT, <u16>fPort);
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

function releaseNat(p: Port, rec: usize): void {
  const pool = <u32>load<u16>(rec + R_NAT_POOL);
  if (pool == NO_NAT_POOL) return;
  const np = portPool(p, pool);
  if (np != null) natRelease(np, <u32>load<u16>(rec + R_NAT_PORT));
  store<u16>(rec + R_NAT_POOL, <u16>NO_NAT_POOL);
}
