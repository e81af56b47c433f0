// A port: one guest VNIC (or one boundary attachment) and everything the
// engine keeps for it: its layers, flow table, NAT pools, counters, epoch.
//
// Ports are created from a small binary config (docs/abi.md "Port config");
// the generic engine knows nothing of VPCs beyond these numbers.

import { Reason } from "../abi/reason";
import { Ctr, DROP_COUNTERS_AT } from "../abi/counters";
import {
  PortState, PORT_CONFIG_VERSION, PORT_CONFIG_SIZE, PORT_CONFIG_SIZE_V1, PC_VERSION, PC_VNI, PC_FLOW_CAPACITY, PC_FLAGS,
  PC_UNDERLAY_IP, PC_UNDERLAY_MAC, PC_NEXT_HOP_MAC, PC_MTU, PC_TTLS, PC_ICMP_MAC, PC_ICMP_V4, PC_ICMP_V6,
  PC_ICMP_PER_SEC, PC_ICMP_BURST, PortTtl, TTL_COUNT, MAX_FLOW_CAPACITY, MIN_MTU, MAX_MTU,
} from "../abi/port-config";
import { ld64 } from "./packet/bytes";
import { FlowTable, flowTableNew, flowTableFree, recordAt } from "./flow/table";
import { R_FLAGS, RF_LIVE, R_X_OUT, R_X_IN } from "../abi/record";
import { X_MODS } from "../abi/xform";
import { Layer, layerFree } from "./rules/layer";
import { NatPool, natPoolFree } from "./nat/pool";
import { MAX_LAYERS } from "./rules/format";
import { METER_AREA_SIZE } from "./meter";
import { FlowLog, flowLogFree } from "./flow/log";
import { DeletionLog, deletionLogFree } from "./snapshot/deletions";

export const MAX_PORTS: u32 = 1024;
export const MAX_POOLS: u32 = 8;

export { PortState } from "../abi/port-config";

@unmanaged
export class Port {
  state: u32;
  vni: u32;
  flags: u32;
  epoch: u32;
  underlayHi: u64;
  underlayLo: u64;
  underlayMac: u64;
  nextHopMac: u64;
  mtu: u32;
  layerCount: u32;
  ttlTcpHandshake: u32;
  ttlTcpEstablished: u32;
  ttlTcpClosing: u32;
  ttlTcpClosed: u32;
  ttlUdp: u32;
  ttlIcmp: u32;
  ttlOther: u32;
  dirtyGen: u32;         // current snapshot generation (records touched get this)
  flows: FlowTable;
  layers: usize;         // MAX_LAYERS Layer pointers
  pools: usize;          // MAX_POOLS NatPool pointers
  counters: usize;       // COUNTER_SLOTS u64s (abi/counters.ts)
  meters: usize;         // token buckets (engine/meter.ts)
  metered: u32;          // any meter configured: the datapath checks buckets
  flowLog: usize;        // FlowLog when flow logging is on, else 0
  deletions: usize;      // DeletionLog once a snapshot mark was taken, else 0
  // ICMP errors the engine sends itself (packet too big): from this MAC and
  // address (0: none), at most `icmpPerSec` a second in bursts of `icmpBurst`
  icmpSrcMac: u64;
  icmpSrcV4: u32;
  icmpSrcV6Hi: u64;
  icmpSrcV6Lo: u64;
  icmpPerSec: u32;
  icmpBurst: u32;
  icmpTokens: f64;
  icmpLast: f64;         // host clock (ms) of the last refill
}

const ports: usize = memory.data(<i32>(MAX_PORTS << 2));

@inline export function portAt(id: u32): Port | null {
  if (id >= MAX_PORTS) return null;
  const p = load<usize>(ports + (<usize>id << 2));
  return p == 0 ? null : changetype<Port>(p);
}

export const COUNTER_SLOTS: u32 = Ctr.Count + Reason.Count;

@inline export function count(p: Port, c: u32, n: u64): void {
  const a = p.counters + (<usize>c << 3);
  store<u64>(a, load<u64>(a) + n);
}
@inline export function countDrop(p: Port, reason: u32): void {
  count(p, DROP_COUNTERS_AT + reason, 1);
}

// The port epoch: bumped on every rule or configuration change. A cached
// transformation carries the low 16 bits of the epoch it was composed at; a
// mismatch sends the flow's next packet through the layers again. When the
// 16 bits wrap, every cached transformation is invalidated explicitly so an
// old one can never look current again.
export function bumpEpoch(p: Port): void {
  p.epoch++;
  if ((p.epoch & 0xffff) != 0) return;
  const t = p.flows;
  for (let i: u32 = 0; i < t.neverUsed; i++) {
    const rec = recordAt(t, i);
    if ((<u32>load<u8>(rec + R_FLAGS) & RF_LIVE) == 0) continue;
    store<u16>(rec + R_X_OUT + X_MODS, 0);
    store<u16>(rec + R_X_IN + X_MODS, 0);
  }
}

@inline export function portLayer(p: Port, i: u32): Layer {
  return changetype<Layer>(load<usize>(p.layers + (<usize>i << 2)));
}
@inline export function portPool(p: Port, i: u32): NatPool | null {
  if (i >= MAX_POOLS) return null;
  const a = load<usize>(p.pools + (<usize>i << 2));
  return a == 0 ? null : changetype<NatPool>(a);
}

@inline function ttl(cfg: usize, which: PortTtl): u32 { return load<u32>(cfg + PC_TTLS + (<usize>which << 2)); }

function applyConfig(p: Port, cfg: usize): void {
  p.vni = load<u32>(cfg + PC_VNI) & 0xffffff;
  p.flags = load<u32>(cfg + PC_FLAGS);
  p.underlayHi = ld64(cfg + PC_UNDERLAY_IP);
  p.underlayLo = ld64(cfg + PC_UNDERLAY_IP + 8);
  p.underlayMac = load<u64>(cfg + PC_UNDERLAY_MAC) & 0xffffffffffff;
  p.nextHopMac = load<u64>(cfg + PC_NEXT_HOP_MAC) & 0xffffffffffff;
  p.mtu = load<u32>(cfg + PC_MTU);
  p.ttlTcpHandshake = ttl(cfg, PortTtl.TcpHandshake);
  p.ttlTcpEstablished = ttl(cfg, PortTtl.TcpEstablished);
  p.ttlTcpClosing = ttl(cfg, PortTtl.TcpClosing);
  p.ttlTcpClosed = ttl(cfg, PortTtl.TcpClosed);
  p.ttlUdp = ttl(cfg, PortTtl.Udp);
  p.ttlIcmp = ttl(cfg, PortTtl.Icmp);
  p.ttlOther = ttl(cfg, PortTtl.Other);
  const v2 = load<u32>(cfg + PC_VERSION) >= 2;
  p.icmpSrcMac = v2 ? load<u64>(cfg + PC_ICMP_MAC) & 0xffffffffffff : 0;
  p.icmpSrcV4 = v2 ? load<u32>(cfg + PC_ICMP_V4) : 0;
  p.icmpSrcV6Hi = v2 ? ld64(cfg + PC_ICMP_V6) : 0;
  p.icmpSrcV6Lo = v2 ? ld64(cfg + PC_ICMP_V6 + 8) : 0;
  p.icmpPerSec = v2 ? load<u32>(cfg + PC_ICMP_PER_SEC) : 0;
  p.icmpBurst = v2 ? load<u32>(cfg + PC_ICMP_BURST) : 0;
  p.icmpTokens = <f64>p.icmpBurst;
}

function configOk(cfg: usize, len: u32): i32 {
  if (len < 4) return Reason.Truncated;
  const version = load<u32>(cfg + PC_VERSION);
  if (version != 1 && version != PORT_CONFIG_VERSION) return Reason.BadVersion;
  if (len < (version == 1 ? PORT_CONFIG_SIZE_V1 : PORT_CONFIG_SIZE)) return Reason.Truncated;
  const cap = load<u32>(cfg + PC_FLOW_CAPACITY);
  if (cap == 0 || cap > MAX_FLOW_CAPACITY) return Reason.BadArgument;
  const mtu = load<u32>(cfg + PC_MTU);
  if (mtu < MIN_MTU || mtu > MAX_MTU) return Reason.BadArgument;
  for (let i: u32 = 0; i < TTL_COUNT; i++) if (ttl(cfg, i) == 0) return Reason.BadArgument;
  return 0;
}

/** Create port `id` from a config block. Returns 0 or a Reason. */
export function portCreate(id: u32, cfg: usize, len: u32): i32 {
  if (id >= MAX_PORTS) return Reason.BadArgument;
  if (portAt(id) != null) return Reason.PortExists;
  const bad = configOk(cfg, len);
  if (bad != 0) return bad;
  const table = flowTableNew(load<u32>(cfg + PC_FLOW_CAPACITY));
  if (table == null) return Reason.FlowTableFull;
  const p = changetype<Port>(heap.alloc(offsetof<Port>()));
  memory.fill(changetype<usize>(p), 0, offsetof<Port>());
  applyConfig(p, cfg);
  p.flows = table;
  p.epoch = 1;
  p.dirtyGen = 1;
  p.layers = heap.alloc(<usize>MAX_LAYERS << 2);
  memory.fill(p.layers, 0, <usize>MAX_LAYERS << 2);
  p.pools = heap.alloc(<usize>MAX_POOLS << 2);
  memory.fill(p.pools, 0, <usize>MAX_POOLS << 2);
  p.counters = heap.alloc(<usize>COUNTER_SLOTS << 3);
  memory.fill(p.counters, 0, <usize>COUNTER_SLOTS << 3);
  p.meters = heap.alloc(METER_AREA_SIZE);
  memory.fill(p.meters, 0, METER_AREA_SIZE);
  p.state = PortState.Ready;
  store<usize>(ports + (<usize>id << 2), changetype<usize>(p));
  return 0;
}

/** Change TTLs, MTU, addresses of a live port (flow capacity cannot change). */
export function portReconfigure(id: u32, cfg: usize, len: u32): i32 {
  const p = portAt(id);
  if (p == null) return Reason.NoPort;
  const bad = configOk(cfg, len);
  if (bad != 0) return bad;
  if (load<u32>(cfg + PC_FLOW_CAPACITY) != p.flows.capacity) return Reason.BadArgument; // the table cannot be resized
  applyConfig(p, cfg);
  bumpEpoch(p);
  return 0;
}

/** Ready (configured, not processing), Running or Paused: 0, or BadArgument for any other state. */
export function portSetState(p: Port, state: u32): u32 {
  if (state != PortState.Ready && state != PortState.Running && state != PortState.Paused) return Reason.BadArgument;
  p.state = state;
  return 0;
}

export function portDestroy(id: u32): i32 {
  const p = portAt(id);
  if (p == null) return Reason.NoPort;
  for (let i: u32 = 0; i < p.layerCount; i++) layerFree(portLayer(p, i));
  for (let i: u32 = 0; i < MAX_POOLS; i++) {
    const pool = portPool(p, i);
    if (pool != null) natPoolFree(pool);
  }
  flowTableFree(p.flows);
  heap.free(p.layers);
  heap.free(p.pools);
  heap.free(p.counters);
  heap.free(p.meters);
  if (p.flowLog != 0) flowLogFree(changetype<FlowLog>(p.flowLog));
  if (p.deletions != 0) deletionLogFree(changetype<DeletionLog>(p.deletions));
  heap.free(changetype<usize>(p));
  store<usize>(ports + (<usize>id << 2), 0);
  return 0;
}
