// engine.wasm: the exports hosts call (docs/abi.md).
//
// Control calls take plain numbers and pointers into memory the host filled
// (allocated with `alloc`); they return 0 or a Reason. The datapath is one
// call per batch: `processBatch`. Anything that allocates may grow memory, so
// hosts refresh their views of it after control calls.

import { Reason } from "../abi/reason";
import { ld64 } from "./packet/bytes";
import {
  Port, portAt, portCreate as create, portDestroy as destroy, portReconfigure as reconfigure,
  portSetState as setState, PortState, COUNTER_SLOTS, portLayer, MAX_PORTS, portPool,
} from "./port";
import { loadPortProgram, replaceLayer, editLayer } from "./rules/program";
import { Layer, layerBlobOf, layerHitsOf, setRuleScan } from "./rules/layer";
import { setNatPool, removeNatPool, poolInUse, poolExhausted } from "./nat/port-pools";
import { targetSet, targetRemove, targetClearTable, targetsLive } from "./maps/targets";
import { expireFlows } from "./flow/expiry";
import { flowTableBytesPerFlow } from "./flow/table";
import { REC_SIZE } from "./flow/record";
import { clearFlows, removeFlowAt } from "./flow/clear";
import { layerStatValue } from "./rules/stats";
import { FlowLog, flowLogNew, flowLogFree, flowLogDrain, EVENT_SIZE } from "./flow/log";
import { snapshotMark, snapshotExport, snapshotPtr, snapshotError, snapshotFail } from "./snapshot/snapshot";
import { snapshotRestore } from "./snapshot/restore";
import { snapshotCheck } from "./snapshot/check";
import { snapCheckDetail } from "./snapshot/refusal";
import { SnapCheck, CHECK_DETAIL_SIZE } from "../abi/snapshot-check";
import { meterSet, meterAny } from "./meter";

export { processBatch, batchAreaNew, DESC_SIZE, underlaySetReplication } from "./batch";

export const ABI_VERSION: u32 = 1;
export function abiVersion(): u32 { return ABI_VERSION; }

// ---- memory for control-plane inputs
export function alloc(len: u32): usize { return heap.alloc(<usize>max<u32>(len, 1)); }
export function free(ptr: usize): void { if (ptr != 0) heap.free(ptr); }

// ---- ports
export function portCreate(id: u32, cfg: usize, len: u32): u32 { return <u32>create(id, cfg, len); }
export function portReconfigure(id: u32, cfg: usize, len: u32): u32 {
  const p = portAt(id);
  if (p != null && p.state == PortState.Paused) return Reason.PortPaused;
  return <u32>reconfigure(id, cfg, len);
}

/**
 * A paused port keeps its rules and flows as they are (OPTE's Port::pause:
 * changes are refused with BadState, introspection works): rule programs,
 * layers, NAT pools, the port config, clearing, removing and expiring flows
 * wait until it runs again. Snapshots may still be taken and restored (live
 * migration pauses the source and fills the target).
 */
@inline function changeable(p: Port): bool { return p.state != PortState.Paused; }
export function portDestroy(id: u32): u32 { return <u32>destroy(id); }
export function portExists(id: u32): bool { return portAt(id) != null; }
export function maxPorts(): u32 { return MAX_PORTS; }

/** Ready (configured, not processing), Running, Paused: paused ports drop with PortNotRunning but dump as usual. */
export function portSetState(id: u32, state: u32): u32 {
  const p = portAt(id);
  return p == null ? Reason.NoPort : setState(p, state);
}
/**
 * Reset a port, as OPTE's Port::reset: drop every flow (NAT ports released)
 * and leave it Ready (not processing) with its configuration and rules
 * intact. Valid in any state. Counters and hit counts keep counting
 * (monotonic, as metrics expect).
 */
export function portReset(id: u32): u32 {
  const p = portAt(id);
  if (p == null) return Reason.NoPort;
  clearFlows(p);
  p.state = PortState.Ready;
  return 0;
}

export function portState(id: u32): u32 {
  const p = portAt(id);
  return p == null ? 0 : p.state;
}
export function portEpoch(id: u32): u32 {
  const p = portAt(id);
  return p == null ? 0 : p.epoch;
}

// ---- rule programs
export function portLoadProgram(id: u32, src: usize, len: u32): u32 {
  const p = portAt(id);
  if (p == null) return Reason.NoPort;
  return changeable(p) ? loadPortProgram(p, src, len) : Reason.PortPaused;
}
export function portReplaceLayer(id: u32, src: usize, len: u32): u32 {
  const p = portAt(id);
  if (p == null) return Reason.NoPort;
  return changeable(p) ? replaceLayer(p, src, len) : Reason.PortPaused;
}
/** Insert and remove single rules of layer `li` (docs/rule-program.md, "Layer edits"). */
export function portEditLayer(id: u32, li: u32, src: usize, len: u32): u32 {
  const p = portAt(id);
  if (p == null) return Reason.NoPort;
  return changeable(p) ? editLayer(p, li, src, len) : Reason.PortPaused;
}
/**
 * Diagnostics and benchmarks: 1 makes every layer find its first matching
 * rule by scanning its rules in order (the reference) instead of its rule
 * index; 0 (the default) goes back to the index. Both decide alike.
 */
export function ruleMatchByScan(on: u32): void { setRuleScan(on != 0); }
export function portLayerCount(id: u32): u32 {
  const p = portAt(id);
  return p == null ? 0 : p.layerCount;
}
function layerOf(id: u32, li: u32): Layer | null {
  const p = portAt(id);
  if (p == null || li >= p.layerCount) return null;
  return portLayer(p, li);
}
/** The layer's program bytes (as loaded): host decodes names and rules from them. */
export function layerBlob(id: u32, li: u32): usize { const l = layerOf(id, li); return l == null ? 0 : layerBlobOf(l); }
export function layerBlobLen(id: u32, li: u32): u32 {
  const l = layerOf(id, li);
  if (l == null) return 0;
  layerBlobOf(l);
  return l.blobLen;
}
/** u64 hit counters, one per rule in program order (a copy made by this call). */
export function layerRuleHits(id: u32, li: u32): usize { const l = layerOf(id, li); return l == null ? 0 : layerHitsOf(l); }
/** A layer's counters (abi/counters.ts LayerStat). */
export function layerStat(id: u32, li: u32, which: u32): f64 {
  const l = layerOf(id, li);
  if (l == null) return 0;
  return layerStatValue(l, which);
}

// ---- NAT pools
export function portSetNatPool(id: u32, pool: u32, ip: usize, portLo: u32, portHi: u32): u32 {
  const p = portAt(id);
  if (p == null) return Reason.NoPort;
  return changeable(p) ? setNatPool(p, pool, ld64(ip), ld64(ip + 8), portLo, portHi) : Reason.PortPaused;
}
export function portRemoveNatPool(id: u32, pool: u32): u32 {
  const p = portAt(id);
  if (p == null) return Reason.NoPort;
  return changeable(p) ? removeNatPool(p, pool) : Reason.PortPaused;
}
export function portNatInUse(id: u32, pool: u32): u32 {
  const p = portAt(id);
  return p == null ? 0 : poolInUse(p, pool);
}
export function portNatExhausted(id: u32, pool: u32): f64 {
  const p = portAt(id);
  return p == null ? 0 : <f64>poolExhausted(p, pool);
}
export function portNatPoolSize(id: u32, pool: u32): u32 {
  const p = portAt(id);
  if (p == null) return 0;
  const np = portPool(p, pool);
  return np == null ? 0 : np.portHi - np.portLo + 1;
}

// ---- mapping tables (V2P, boundary, NAT ingress)
/** Key and underlay addresses are 16 bytes, network order; MAC as two halves. Returns entry index ≥ 0 or -Reason. */
export function mapSet(table: u32, vni: u32, keyIp: usize, portLo: u32, portHi: u32,
                       encapVni: u32, underlay: usize, macHi: u32, macLo: u32): i32 {
  return targetSet(table, vni, ld64(keyIp), ld64(keyIp + 8), portLo, portHi, encapVni,
    ld64(underlay), ld64(underlay + 8), ((<u64>macHi & 0xffff) << 32) | <u64>macLo);
}
export function mapRemove(table: u32, vni: u32, keyIp: usize, portLo: u32): bool {
  return targetRemove(table, vni, ld64(keyIp), ld64(keyIp + 8), portLo);
}
export function mapClear(table: u32): u32 { return targetClearTable(table); }
export function mapLive(): u32 { return targetsLive(); }
export { targetsBase as mapEntries, targetsCapacity as mapEntrySlots, ENTRY_SIZE as MAP_ENTRY_SIZE } from "./maps/targets";

// ---- flows
/** Expire idle flows of a running port (OPTE expires only running ports: a paused port's flows wait, a ready one has none to age). */
export function portExpire(id: u32, nowMs: f64, budget: u32): u32 {
  const p = portAt(id);
  return p == null || p.state != PortState.Running ? 0 : expireFlows(p, <u32>(<u64>nowMs & 0xffffffff), budget);
}
export function portFlowCount(id: u32): u32 {
  const p = portAt(id);
  return p == null ? 0 : p.flows.live;
}
export function portFlowCapacity(id: u32): u32 {
  const p = portAt(id);
  return p == null ? 0 : p.flows.capacity;
}
/** Records [0, portFlowSlots) may be live (flags & 4); layout in engine/flow/record.ts. */
export function portFlowRecords(id: u32): usize {
  const p = portAt(id);
  return p == null ? 0 : p.flows.records;
}
export function portFlowSlots(id: u32): u32 {
  const p = portAt(id);
  return p == null ? 0 : p.flows.neverUsed;
}
export function portFlowBytesPerFlow(id: u32): u32 {
  const p = portAt(id);
  return p == null ? 0 : flowTableBytesPerFlow(p.flows);
}
export const FLOW_RECORD_SIZE: u32 = <u32>REC_SIZE;

/** Drop every flow of a port (NAT bindings released); refused while it is paused. */
export function portFlowsClear(id: u32): u32 {
  const p = portAt(id);
  if (p == null) return Reason.NoPort;
  if (!changeable(p)) return Reason.PortPaused;
  clearFlows(p);
  return 0;
}

export function portFlowRemoveAt(id: u32, index: u32): u32 {
  const p = portAt(id);
  if (p == null) return Reason.NoPort;
  return changeable(p) ? removeFlowAt(p, index) : Reason.PortPaused;
}

// ---- flow logs: events of flows starting, ending and being denied (engine/flow/log.ts)
/** Turn flow logging on with a ring of `capacity` events (0 turns it off). */
export function portFlowLog(id: u32, capacity: u32): u32 {
  const p = portAt(id);
  if (p == null) return Reason.NoPort;
  if (p.flowLog != 0) { flowLogFree(changetype<FlowLog>(p.flowLog)); p.flowLog = 0; }
  if (capacity > 0) p.flowLog = changetype<usize>(flowLogNew(min<u32>(capacity, 1 << 20)));
  return 0;
}
/** Move up to `max` events to `dst` (EVENT_SIZE bytes each); returns how many. */
export function portFlowLogDrain(id: u32, dst: usize, max: u32): u32 {
  const p = portAt(id);
  if (p == null || p.flowLog == 0) return 0;
  return flowLogDrain(changetype<FlowLog>(p.flowLog), dst, max);
}
export function portFlowLogDropped(id: u32): f64 {
  const p = portAt(id);
  return p == null || p.flowLog == 0 ? 0 : <f64>changetype<FlowLog>(p.flowLog).dropped;
}
export const FLOW_EVENT_SIZE: u32 = <u32>EVENT_SIZE;

// ---- bandwidth: token buckets per port (meter 0) and per flow class (1..15), per direction
/** bytesPerSec 0 removes the limit. Returns 0 or a Reason. */
export function portSetMeter(id: u32, meter: u32, dir: u32, bytesPerSec: f64, burstBytes: f64, nowMs: f64): u32 {
  const p = portAt(id);
  if (p == null) return Reason.NoPort;
  if (!meterSet(p.meters, meter, dir, bytesPerSec, burstBytes, nowMs)) return Reason.BadArgument;
  p.metered = meterAny(p.meters) ? 1 : 0;
  return 0;
}

// ---- counters: COUNTER_SLOTS u64 per port (abi/counters.ts)
export function portCounters(id: u32): usize {
  const p = portAt(id);
  return p == null ? 0 : p.counters;
}
export const COUNTERS_PER_PORT: u32 = COUNTER_SLOTS;
export const REASON_COUNT: u32 = Reason.Count;

// ---- snapshots of flow state (docs/snapshot-format.md)
/** Start a new dirty generation; returns it. Incremental exports `since` it carry only later changes. */
export function portSnapshotMark(id: u32): u32 {
  const p = portAt(id);
  return p == null ? 0 : snapshotMark(p);
}
/** Encode the port's flow state (since = 0: full). Returns the length (bytes at portSnapshotPtr()), 0 on error. */
export function portSnapshotBegin(id: u32, since: u32, nowMs: f64): u32 {
  const p = portAt(id);
  if (p == null) return snapshotFail(Reason.NoPort);
  return snapshotExport(p, id, since, nowMs);
}
export function portSnapshotPtr(): usize { return snapshotPtr(); }
/** Why the last portSnapshotBegin returned 0 (a Reason: NoPort, SnapshotGap). */
export function portSnapshotError(): u32 { return snapshotError; }
/** Restore a snapshot into the port: 0, or a Reason (SnapshotCorrupt, SnapshotVersion, SnapshotMismatch, NoPort) with the port unchanged. */
export function portSnapshotRestore(id: u32, src: usize, len: u32, nowMs: f64): u32 {
  const p = portAt(id);
  return p == null ? Reason.NoPort : snapshotRestore(p, src, len, nowMs);
}
/**
 * The checks portSnapshotRestore runs, without restoring (a dry run: `wopte
 * snapshot verify --port`, a checkpoint before it is trusted): 0 or a Reason.
 */
export function portSnapshotCheck(id: u32, src: usize, len: u32): u32 {
  const p = portAt(id);
  return p == null ? Reason.NoPort : snapshotCheck(p, src, len);
}
/**
 * The same checks with no port to fit: against the snapshot's own pools, one
 * VNI for all its flows, and the largest table a port can have.
 */
export function snapshotCheckAlone(src: usize, len: u32): u32 { return snapshotCheck(null, src, len); }
/** What the last check refused (docs/snapshot-format.md "Checks"): code, flows, values, key. */
export function snapshotCheckDetail(): usize { return snapCheckDetail(); }
export const SNAP_CHECK_COUNT: u32 = SnapCheck.Count;
export const SNAP_CHECK_DETAIL_SIZE: u32 = CHECK_DETAIL_SIZE;
