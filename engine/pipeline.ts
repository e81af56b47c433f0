// The per-frame datapath: parse, look up the flow, and either apply the
// cached transformation (fast path) or walk the port's layers, compose a
// transformation and cache it (slow path). RFD 63 "Oxide Packet
// Transformation Engine"; OPTE's Port::process.
//
// Outbound frames (from the guest side) walk the layers first to last,
// inbound frames last to first. Each layer's rewrites are applied to the
// parsed view as it goes, so later layers see what earlier ones decided (the
// firewall sees the private address after inbound NAT, for instance). A
// reply walking a stateful layer that already decided for its flow skips the
// layer's rules and takes the reverse of that decision.

import { Reason } from "../abi/reason";
import { PacketMeta, META_SIZE, L3, Proto, NONE, TcpFlag } from "./packet/meta";
import { ld64, ldMac } from "./packet/bytes";
import { parseFrame } from "./packet/parse";
import { buildHairpin } from "./hairpin/index";
import { Port, portLayer, portPool, count, countDrop, PortState } from "./port";
import { Ctr } from "../abi/counters";
import { Verdict, NO_LAYER, NO_RULE, DEFAULT_RULE } from "../abi/batch";
import { PORT_FLAG_NET_ENCAP } from "../abi/port-config";
import { Layer, layerMatch, slotRule, slotHit, NO_SLOT, ruleParams, RH_ACTION, RH_REASON, RH_ID, RH_ACTION_LEN } from "./rules/layer";
import { ActionKind, SetOp, EncapFlag } from "./rules/format";
import { metaRegs, setFlowHashForRules, setPortVniForRules } from "./rules/predicate";
import { keyFromMeta, keyHash, keyEquals, keyCopy, K_SPORT, K_DPORT, K_PROTO_VNI, K_SRC_HI, K_SRC_LO, K_DST_HI, K_DST_LO } from "./flow/key";
import {
  Dir, keyOff, xOff, pktsOff, otherDir, layerBits, R_ORIGIN, R_CREATED, R_LAST_SEEN, R_DIRTY,
  R_LAYER_BITS, R_NAT_POOL, R_NAT_PORT, R_FLAGS, R_METER, R_TCP, R_X_OUT, R_X_IN, RF_KEY_IN, RF_KEY_OUT, NO_NAT_POOL, LayerBit,
  R_ALLOW, ALLOW_NONE, allowPack, allowLayer, allowRule,
} from "./flow/record";
import { flowLookup, flowIndexInsert, flowIndexRemove, recordAlloc, flowRemove } from "./flow/table";
import { X_SIZE, X_MODS, X_EPOCH, X_SPORT, X_DPORT, X_ETH_SRC, X_ETH_DST, X_IP_HI, X_IP_LO, X_ENCAP, Mod } from "./flow/xform";
import { xformApply, xformComputeDeltas, outFrame, encapInnerMtu } from "./flow/apply";
import { buildTooBig } from "./hairpin/too-big";
import { tcpTrack, tcpReset, tcpNext, tcpSynRestarts, TcpState, TCP_NONE } from "./flow/tcp";
import { isIcmpError, quotedKey, translateQuoted, translateQuotedAddrs } from "./flow/related";
import { meterTake } from "./meter";
import { FlowLog, FlowEvent, logFlow, logDeny } from "./flow/log";
import { noteDeletion } from "./snapshot/snapshot";
import { targetFind, targetRef, targetDeref, entryAt, E_MAC, E_HITS } from "./maps/targets";
import { natAlloc, natClaim, natRelease, natIsTaken, NatPool } from "./nat/pool";
import { natDecisionHolds, hasSnatBinding } from "./nat/affinity";
import { isMulticastIp, multicastMac } from "./packet/multicast";

// Verdicts (abi/batch.ts). ToHost: a ToHost rule handed the frame, unchanged,
// to the host (membership reports the host learns from, docs/abi.md); nothing
// crosses the port.
export { Verdict } from "../abi/batch";

// Static scratch: the per-packet path allocates nothing.
export const meta = changetype<PacketMeta>(memory.data(512, 16));
const metaOrig = changetype<PacketMeta>(memory.data(512, 16));
const KEY: usize = memory.data(40, 8);
const RKEY: usize = memory.data(40, 8);
const XB: usize = memory.data(48, 8);
export const HAIRPIN_CAP: u32 = 16384;
const hairpinOut: usize = memory.data(<i32>HAIRPIN_CAP, 16);

// What decided the last frame (read by the batch loop into the descriptor).
export let decidedLayer: u32 = NO_LAYER;
export let decidedRule: u32 = NO_RULE;

// The key of a new flow being evaluated (for a deny event in the flow log).
let newFlowKey: bool = false;
let nowForLog: f64 = 0;

// Bandwidth class a Modify rule assigned during this evaluation.
let pendingMeter: u32 = 0;

// NAT port taken during this evaluation, to give back if the frame is not passed.
let natTakenPool: u32 = NO_NAT_POOL;
let natTakenPort: u32 = 0;

@inline function nowMsU32(now: f64): u32 { return <u32>(<u64>now & 0xffffffff); }

function isCacheable(m: PacketMeta): bool {
  if (m.l3Kind != L3.Ipv4 && m.l3Kind != L3.Ipv6) return false;
  if (m.fragOffset != 0 || m.moreFragments != 0) return false;
  if ((m.proto == Proto.Icmp || m.proto == Proto.Icmpv6) && m.icmpId == NONE) return false; // ICMP errors, NDP, …
  return true;
}

/** Process one frame. Returns a Verdict; the output frame is in `outFrame`, the reason in `lastReason`. */
export let lastReason: u32 = 0;
export let lastHash: u32 = 0;

export function processFrame(p: Port, dir: u32, ptr: usize, len: u32, cap: u32, headroom: u32, now: f64): u32 {
  decidedLayer = NO_LAYER;
  decidedRule = NO_RULE;
  lastHash = 0;
  lastReason = 0;
  if (p.state != PortState.Running) return drop(p, dir, Reason.PortNotRunning);
  const m = meta;
  const bad = parseFrame(m, ptr, len, dir == Dir.In && (p.flags & PORT_FLAG_NET_ENCAP) != 0);
  count(p, dir == Dir.In ? Ctr.PktsIn : Ctr.PktsOut, 1);
  count(p, dir == Dir.In ? Ctr.BytesIn : Ctr.BytesOut, <u64>len);
  if (bad != 0) return drop(p, dir, <u32>bad);

  const cacheable = isCacheable(m);
  let rec: usize = 0;
  let h: u32 = 0;
  if (cacheable) {
    keyFromMeta(KEY, m, dir == Dir.In && m.encap != 0 ? m.vni : p.vni);
    h = keyHash(KEY);
    lastHash = h;
    rec = flowLookup(p.flows, dir, KEY, h);
    if (rec != 0) {
      // a SYN the flow's TCP state does not expect: the 4-tuple is being reused
      if ((m.tcpFlags & TcpFlag.SYN) != 0 && tcpSynRestarts(rec, dir, m.tcpFlags, m.tcpAck)) restartTcpFlow(p, rec);
      const x = rec + xOff(dir);
      const mods = <u32>load<u16>(x + X_MODS);
      // Composed before a rule change: neither direction's transformation holds (OPTE's uft_invalidate).
      if ((mods & Mod.Valid) != 0 && <u32>load<u16>(x + X_EPOCH) != (p.epoch & 0xffff)) invalidateXforms(rec);
      else if ((mods & Mod.Valid) != 0 &&
          ((mods & Mod.Encap) == 0 || targetDeref(load<u32>(x + X_ENCAP)) != 0) &&
          !((mods & Mod.TtlDec) != 0 && m.ttl <= 1)) {
        if (p.metered != 0 && !metered(p, dir, <u32>load<u8>(rec + R_METER), len, now)) return drop(p, dir, Reason.RateLimited);
        const r = xformApply(x, m, p, headroom, h);
        if (r == Reason.TooBig) return answerTooBig(p, dir, x, m, ptr, cap, now);
        if (r != 0) return drop(p, dir, r);
        count(p, dir == Dir.In ? Ctr.FastIn : Ctr.FastOut, 1);
        touch(p, rec, dir, m, len, now);
        reportAllow(load<u32>(rec + R_ALLOW));
        return Verdict.Pass;
      }
    }
  }
  count(p, dir == Dir.In ? Ctr.SlowIn : Ctr.SlowOut, 1);
  // An ICMP error about a known flow walks the layers as one of that flow's packets.
  if (!cacheable && isIcmpError(m) && quotedKey(m, KEY, dir == Dir.In && m.encap != 0 ? m.vni : p.vni)) {
    rec = flowLookup(p.flows, dir, KEY, keyHash(KEY));
  }
  return slowPath(p, dir, rec, cacheable, h, ptr, cap, headroom, len, now);
}

/** Both the port's bucket and the flow class's bucket must have room for the frame. */
function metered(p: Port, dir: u32, meter: u32, len: u32, now: f64): bool {
  if (!meterTake(p.meters, 0, dir, len, now)) return false;
  return meter == 0 || meterTake(p.meters, meter, dir, len, now);
}

function touch(p: Port, rec: usize, dir: u32, m: PacketMeta, len: u32, now: f64): void {
  const pk = rec + pktsOff(dir);
  store<u64>(pk, load<u64>(pk) + 1);
  store<u64>(pk + 8, load<u64>(pk + 8) + <u64>len);
  store<u32>(rec + R_LAST_SEEN, nowMsU32(now));
  store<u32>(rec + R_DIRTY, p.dirtyGen);
  // A connection that closed leaves the fast path: its next packet (a retransmission,
  // a reuse of the 4-tuple) is judged afresh, as OPTE drops the UFT entries of a closed flow.
  if (m.proto == Proto.Tcp && m.l4 != NONE && tcpTrack(rec, dir, m.tcpFlags, m.tcpSeq, m.tcpAck) == TcpState.Closed) {
    invalidateXforms(rec);
  }
}

/** Both directions of a flow go through the layers again on their next packet. */
export function invalidateXforms(rec: usize): void {
  store<u16>(rec + R_X_OUT + X_MODS, 0);
  store<u16>(rec + R_X_IN + X_MODS, 0);
}

/**
 * The flow starts over with this SYN (OPTE's TcpFlowStateError::NewFlow): its
 * TCP state is forgotten and both directions are recomposed, while the
 * stateful layers' decisions (firewall state, the NAT binding) stay.
 */
function restartTcpFlow(p: Port, rec: usize): void {
  tcpReset(rec);
  invalidateXforms(rec);
  store<u32>(rec + R_DIRTY, p.dirtyGen);
}

/**
 * A guest frame too big for the underlay: counted as TooBig, and answered
 * with ICMP fragmentation-needed / Packet Too Big when the port may send one
 * (hairpin/too-big.ts), else dropped.
 */
function answerTooBig(p: Port, dir: u32, x: usize, m: PacketMeta, ptr: usize, cap: u32, now: f64): u32 {
  const n = dir == Dir.Out ? buildTooBig(p, m, encapInnerMtu(x, m, p), hairpinOut, HAIRPIN_CAP, now) : 0;
  if (n == 0 || n > cap) return drop(p, dir, Reason.TooBig);
  lastReason = Reason.TooBig;
  countDrop(p, Reason.TooBig); // the frame itself was not forwarded
  emitHairpin(p, ptr, n);
  return Verdict.Hairpin;
}

/** The reply built in hairpinOut (`n` ≤ the slot's capacity) replaces the frame in its slot. */
function emitHairpin(p: Port, ptr: usize, n: u32): void {
  memory.copy(ptr, hairpinOut, <usize>n);
  store<u32>(outFrame, <u32>ptr);
  store<u32>(outFrame, n, 4);
  count(p, Ctr.Hairpins, 1);
}

function drop(p: Port, dir: u32, reason: u32): u32 {
  lastReason = reason;
  countDrop(p, reason);
  count(p, dir == Dir.In ? Ctr.DropsIn : Ctr.DropsOut, 1);
  return Verdict.Drop;
}

// ---- composing a transformation -------------------------------------------

@inline function xbMods(): u32 { return <u32>load<u16>(XB + X_MODS); }
@inline function xbAdd(bits: u32): void { store<u16>(XB + X_MODS, <u16>(xbMods() | bits)); }

/** Record an IP rewrite; false when the other address is already rewritten. */
function xbSetIp(src: bool, hi: u64, lo: u64): bool {
  const mods = xbMods();
  if ((mods & (src ? Mod.IpDst : Mod.IpSrc)) != 0) return false;
  store<u64>(XB + X_IP_HI, hi);
  store<u64>(XB + X_IP_LO, lo);
  xbAdd(src ? Mod.IpSrc : Mod.IpDst);
  const m = meta;
  if (src) { m.srcHi = hi; m.srcLo = lo; } else { m.dstHi = hi; m.dstLo = lo; }
  return true;
}

function xbSetPort(src: bool, v: u32): void {
  const m = meta;
  if ((m.proto == Proto.Icmp || m.proto == Proto.Icmpv6)) {
    if (m.icmpId == NONE) return;
    // an echo identifier stands for both ports of the flow key
    m.icmpId = v; m.srcPort = v; m.dstPort = v;
  } else if (m.proto != Proto.Tcp && m.proto != Proto.Udp) {
    return;
  } else if (src) m.srcPort = v; else m.dstPort = v;
  if (src) { store<u16>(XB + X_SPORT, <u16>v); xbAdd(Mod.Sport); }
  else { store<u16>(XB + X_DPORT, <u16>v); xbAdd(Mod.Dport); }
}

function xbSetMac(src: bool, mac: u64): void {
  const at = XB + (src ? X_ETH_SRC : X_ETH_DST);
  // stored in wire order so the fast path copies it as is
  store<u8>(at, <u8>(mac >> 40)); store<u8>(at + 1, <u8>(mac >> 32));
  store<u8>(at + 2, <u8>(mac >> 24)); store<u8>(at + 3, <u8>(mac >> 16));
  store<u8>(at + 4, <u8>(mac >> 8)); store<u8>(at + 5, <u8>mac);
  xbAdd(src ? Mod.EthSrc : Mod.EthDst);
  if (src) meta.ethSrc = mac; else meta.ethDst = mac;
}

/** Apply a Modify action's set-ops (validated at load). Returns 0 or the Reason to drop. */
function applySetOps(params: usize, len: u32): u32 {
  let off: u32 = 0;
  while (off < len) {
    const op = <u32>load<u8>(params + off);
    const vlen = <u32>load<u8>(params + off + 1);
    const v = params + off + 4;
    switch (op) {
      case SetOp.EthSrc: xbSetMac(true, load<u64>(v) & 0xffffffffffff); break;
      case SetOp.EthDst: xbSetMac(false, load<u64>(v) & 0xffffffffffff); break;
      case SetOp.IpSrc: if (!xbSetIp(true, ld64(v), ld64(v + 8))) return Reason.XformUnsupported; break;
      case SetOp.IpDst: if (!xbSetIp(false, ld64(v), ld64(v + 8))) return Reason.XformUnsupported; break;
      case SetOp.Sport: xbSetPort(true, load<u32>(v) & 0xffff); break;
      case SetOp.Dport: xbSetPort(false, load<u32>(v) & 0xffff); break;
      case SetOp.Meta0: case SetOp.Meta1: case SetOp.Meta2: case SetOp.Meta3:
        store<u32>(metaRegs + (<usize>(op - SetOp.Meta0) << 2), load<u32>(v)); break;
      case SetOp.Meter:
        pendingMeter = load<u32>(v) & 0xf;
        break;
      case SetOp.TtlDec:
        // a router does not forward a packet whose TTL would reach zero (RFC 1812 §5.3.1)
        if (meta.ttl <= 1) return Reason.TtlExceeded;
        xbAdd(Mod.TtlDec);
        meta.ttl--;
        break;
    }
    off += 4 + ((vlen + 3) & ~3);
  }
  return 0;
}

/** The reverse of what a stateful layer did to the flow's first direction. */
function applyReverse(rec: usize, origin: u32, bits: u32): bool {
  const ok = rec + keyOff(origin);
  if ((bits & LayerBit.SrcNat) != 0) {
    if (!xbSetIp(false, load<u64>(ok + K_SRC_HI), load<u64>(ok + K_SRC_LO))) return false;
    xbSetPort(false, <u32>load<u16>(ok + K_SPORT));
  }
  if ((bits & LayerBit.DstNat) != 0) {
    if (!xbSetIp(true, load<u64>(ok + K_DST_HI), load<u64>(ok + K_DST_LO))) return false;
    xbSetPort(true, <u32>load<u16>(ok + K_DPORT));
  }
  return true;
}

function encap(p: Port, params: usize): u32 {
  const flags = load<u32>(params);
  const table = load<u32>(params + 4);
  let i: u32;
  const m = meta;
  const group = (flags & EncapFlag.Multicast) != 0;
  if (group) {
    if (!isMulticastIp(m.dstHi, m.dstLo)) return Reason.NoMulticastTarget;
    // replication hands out copies; it cannot carry a connection (OPTE refuses it too)
    if (m.proto == Proto.Tcp) return Reason.MulticastTcp;
  }
  if ((flags & EncapFlag.KeyFromInnerDst) != 0) {
    const vni = (flags & EncapFlag.KeyVniZero) != 0 ? 0 : p.vni;
    const port = m.proto == Proto.Tcp || m.proto == Proto.Udp || m.icmpId != NONE ? m.dstPort : 0;
    i = targetFind(table, vni, m.dstHi, m.dstLo, port);
  } else {
    i = targetFind(table, load<u32>(params + 8), ld64(params + 12), ld64(params + 20), load<u32>(params + 28));
  }
  if (i == 0xffffffff) return group ? Reason.NoMulticastTarget : Reason.NoEncapTarget;
  const e = entryAt(i);
  store<u64>(e + E_HITS, load<u64>(e + E_HITS) + 1);
  store<u32>(XB + X_ENCAP, targetRef(i));
  let mods: u32 = Mod.Encap;
  if ((flags & EncapFlag.External) != 0) mods |= Mod.EncapExternal;
  // a TCP header, that is: a non-first fragment has no segment to carry an MSS for
  if ((flags & EncapFlag.MssOnTcp) != 0 && m.proto == Proto.Tcp && m.l4 != NONE) mods |= Mod.EncapMss;
  if (group) mods |= Mod.EncapMulticast;
  xbAdd(mods);
  if (group) xbSetMac(false, multicastMac(m.dstHi, m.dstLo));
  else if ((flags & EncapFlag.SetInnerEthDst) != 0) xbSetMac(false, load<u64>(e + E_MAC));
  return 0;
}

/**
 * The first direction of a flow that already has a source NAT from layer `li`
 * keeps it when its external address still holds (nat/affinity.ts): the same
 * SNAT address and port, or the same 1:1 address. False: decide by the rules.
 */
function keepSrcNat(p: Port, l: Layer, rec: usize, li: u32): bool {
  if ((layerBits(rec, li) & LayerBit.SrcNat) == 0 || !natDecisionHolds(p, l, rec, meta)) return false;
  const kin = rec + keyOff(Dir.In);
  if (!xbSetIp(true, load<u64>(kin + K_DST_HI), load<u64>(kin + K_DST_LO))) return false;
  if (hasSnatBinding(rec)) xbSetPort(true, <u32>load<u16>(rec + R_NAT_PORT));
  return true;
}

/** SNAT from pool `poolId`: keep the flow's binding if it is still valid, else take a port. */
function snat(p: Port, rec: usize, poolId: u32): u32 {
  const pool = portPool(p, poolId);
  if (pool == null) return Reason.NatExhausted;
  let port: i32 = -1;
  if (rec != 0 && <u32>load<u16>(rec + R_NAT_POOL) == poolId && natIsTaken(pool, <u32>load<u16>(rec + R_NAT_PORT))) {
    port = <i32>load<u16>(rec + R_NAT_PORT);
  } else {
    if (rec != 0) releaseBinding(p, rec);
    port = natAlloc(pool);
    if (port < 0) return Reason.NatExhausted;
    natTakenPool = poolId;
    natTakenPort = <u32>port;
  }
  if (!xbSetIp(true, pool.extHi, pool.extLo)) return Reason.XformUnsupported;
  xbSetPort(true, <u32>port);
  return 0;
}

/** A flow is going away: log its end (when logging) and give back its NAT port. */
export function endFlow(p: Port, rec: usize, now: f64): void {
  if (p.flowLog != 0) logFlow(changetype<FlowLog>(p.flowLog), FlowEvent.End, rec, now);
  noteDeletion(p, rec);
  releaseBinding(p, rec);
}

export function releaseBinding(p: Port, rec: usize): void {
  const poolId = <u32>load<u16>(rec + R_NAT_POOL);
  if (poolId == NO_NAT_POOL) return;
  const pool = portPool(p, poolId);
  if (pool != null) natRelease(pool, <u32>load<u16>(rec + R_NAT_PORT));
  store<u16>(rec + R_NAT_POOL, <u16>NO_NAT_POOL);
}

function undoNat(p: Port): void {
  if (natTakenPool == NO_NAT_POOL) return;
  const pool = portPool(p, natTakenPool);
  if (pool != null) natRelease(pool, natTakenPort);
  natTakenPool = NO_NAT_POOL;
}

function slowPath(p: Port, dir: u32, rec: usize, cacheable: bool, h: u32,
                  ptr: usize, cap: u32, headroom: u32, len: u32, now: f64): u32 {
  const m = meta;
  memory.copy(changetype<usize>(metaOrig), changetype<usize>(m), META_SIZE);
  memory.fill(XB, 0, X_SIZE);
  memory.fill(metaRegs, 0, 16);
  // A flow's choices by hash are made on its origin key, so both directions agree.
  setFlowHashForRules(rec != 0 ? keyHash(rec + keyOff(<u32>load<u8>(rec + R_ORIGIN))) : h);
  setPortVniForRules(p.vni);
  natTakenPool = NO_NAT_POOL;
  pendingMeter = 0;
  newFlowKey = cacheable && rec == 0;
  nowForLog = now;
  const origin: u32 = rec != 0 ? <u32>load<u8>(rec + R_ORIGIN) : dir;
  const isReply = rec != 0 && dir != origin;
  let pending: u32 = 0;
  let allow: u32 = ALLOW_NONE;
  const n = p.layerCount;
  for (let i: u32 = 0; i < n; i++) {
    const li = dir == Dir.Out ? i : n - 1 - i;
    const l = portLayer(p, li);
    if (dir == Dir.Out) l.hitsOut++; else l.hitsIn++;
    if (isReply) {
      const bits = layerBits(rec, li);
      if (bits != 0) {
        if ((bits & (LayerBit.SrcNat | LayerBit.DstNat)) == 0 || natDecisionHolds(p, l, rec, m)) {
          if (!applyReverse(rec, origin, bits)) return fail(p, dir, li, NO_RULE, Reason.XformUnsupported);
          continue;
        }
        // The flow's external address is no longer the port's: nothing comes
        // in on it, and what goes out is NATed afresh by the rules below.
        if (dir == Dir.In) return fail(p, dir, li, NO_RULE, Reason.NotForPort);
      }
    }
    const slot = layerMatch(l, dir, m);
    let action: u32, ruleId: u32, params: usize = 0, plen: u32 = 0, reason: u32 = 0;
    if (slot == NO_SLOT) {
      action = dir == Dir.Out ? l.defaultOut : l.defaultIn;
      ruleId = DEFAULT_RULE;
      if (dir == Dir.Out) l.defaultHitsOut++; else l.defaultHitsIn++;
    } else {
      const rule = slotRule(l, slot);
      action = <u32>load<u8>(rule + RH_ACTION);
      ruleId = load<u32>(rule + RH_ID);
      reason = <u32>load<u8>(rule + RH_REASON);
      params = ruleParams(rule);
      plen = <u32>load<u16>(rule + RH_ACTION_LEN);
      slotHit(l, slot);
    }
    // A flow keeps the source NAT it has while its external address holds,
    // whichever external address the rules would pick for a new flow now.
    if ((action == ActionKind.Snat || action == ActionKind.Nat11Src) && rec != 0 && !isReply && keepSrcNat(p, l, rec, li)) {
      pending |= (LayerBit.SrcNat | LayerBit.Allow) << (li << 2);
      continue;
    }
    switch (action) {
      case ActionKind.Allow: break;
      case ActionKind.Deny:
        l.denies++;
        return fail(p, dir, li, ruleId, reason != 0 ? reason : Reason.LayerDeny);
      case ActionKind.StatefulAllow:
        pending |= LayerBit.Allow << (li << 2);
        if (allow == ALLOW_NONE) allow = allowPack(li, ruleId);
        break;
      case ActionKind.Modify: {
        const r = applySetOps(params, plen);
        if (r != 0) return fail(p, dir, li, ruleId, r);
        break;
      }
      case ActionKind.Hairpin: {
        undoNat(p);
        const r = buildHairpin(load<u32>(params), metaOrig, params + 4, plen - 4, hairpinOut, HAIRPIN_CAP);
        if (r < 0) return fail(p, dir, li, ruleId, Reason.HairpinFailed);
        if (<u32>r > cap) return fail(p, dir, li, ruleId, Reason.NoHeadroom);
        emitHairpin(p, ptr, <u32>r);
        decidedLayer = li; decidedRule = ruleId;
        return Verdict.Hairpin;
      }
      case ActionKind.ToHost:
        undoNat(p);
        store<u32>(outFrame, <u32>ptr);
        store<u32>(outFrame, len, 4);
        decidedLayer = li; decidedRule = ruleId;
        count(p, Ctr.ToHost, 1);
        return Verdict.ToHost;
      case ActionKind.Encap: {
        const r = encap(p, params);
        if (r != 0) return fail(p, dir, li, ruleId, r);
        break;
      }
      case ActionKind.Decap:
        xbAdd(Mod.Decap);
        break;
      case ActionKind.Snat: {
        if (!cacheable) return fail(p, dir, li, ruleId, Reason.XformUnsupported);
        const r = snat(p, rec, load<u32>(params));
        if (r != 0) return fail(p, dir, li, ruleId, r);
        pending |= (LayerBit.SrcNat | LayerBit.Allow) << (li << 2);
        break;
      }
      case ActionKind.Nat11Src:
        // a SNAT binding that no longer holds gives its port back
        if (rec != 0 && hasSnatBinding(rec)) releaseBinding(p, rec);
        if (!xbSetIp(true, ld64(params), ld64(params + 8))) return fail(p, dir, li, ruleId, Reason.XformUnsupported);
        pending |= (LayerBit.SrcNat | LayerBit.Allow) << (li << 2);
        break;
      case ActionKind.Nat11Dst:
        if (!xbSetIp(false, ld64(params), ld64(params + 8))) return fail(p, dir, li, ruleId, Reason.XformUnsupported);
        pending |= (LayerBit.DstNat | LayerBit.Allow) << (li << 2);
        break;
    }
  }
  // ---- every layer passed the frame
  // A TCP segment that cannot begin a connection (no SYN, ACK or RST) does not
  // create TCP state: dropped, as OPTE drops it (TcpErr).
  if (cacheable && m.proto == Proto.Tcp && m.l4 != NONE &&
      (rec == 0 || <u32>load<u8>(rec + R_TCP) == TcpState.Closed) &&
      tcpNext(TcpState.Closed, dir, m.tcpFlags, true) == TCP_NONE) {
    return fail(p, dir, NO_LAYER, NO_RULE, Reason.TcpInvalid);
  }
  if (p.metered != 0) {
    const meter = dir == origin || rec == 0 ? pendingMeter : <u32>load<u8>(rec + R_METER);
    if (!metered(p, dir, meter, len, now)) return fail(p, dir, NO_LAYER, NO_RULE, Reason.RateLimited);
  }
  xformComputeDeltas(XB, metaOrig);
  store<u16>(XB + X_MODS, <u16>(xbMods() | Mod.Valid));
  store<u16>(XB + X_EPOCH, <u16>p.epoch);
  // applied from the scratch copy: tracking below may invalidate the record's (a closing segment)
  const x = XB;
  if (cacheable) {
    if (rec == 0) {
      rec = recordAlloc(p.flows);
      if (rec == 0) { undoNat(p); return fail(p, dir, NO_LAYER, NO_RULE, Reason.FlowTableFull); }
      store<u8>(rec + R_ORIGIN, <u8>dir);
      store<u16>(rec + R_NAT_POOL, <u16>NO_NAT_POOL);
      store<u32>(rec + R_CREATED, <u32>(now / 1000));
      store<u32>(rec + R_ALLOW, allow);
      keyCopy(rec + keyOff(dir), KEY);
      flowIndexInsert(p.flows, dir, rec);
      count(p, Ctr.FlowsCreated, 1);
      if (p.flowLog != 0) logFlow(changetype<FlowLog>(p.flowLog), FlowEvent.Start, rec, now);
    } else {
      count(p, Ctr.Reevaluated, 1);
    }
    memory.copy(rec + xOff(dir), XB, X_SIZE);
    // a port SNAT took, for the first direction or for a reply NATed afresh, is the flow's
    if (natTakenPool != NO_NAT_POOL) {
      store<u16>(rec + R_NAT_POOL, <u16>natTakenPool);
      store<u16>(rec + R_NAT_PORT, <u16>natTakenPort);
      natTakenPool = NO_NAT_POOL;
    }
    if (dir == origin) {
      store<u32>(rec + R_LAYER_BITS, pending);
      store<u32>(rec + R_ALLOW, allow);
      store<u8>(rec + R_METER, <u8>pendingMeter);
      indexReverse(p, rec, dir);
    }
    touch(p, rec, dir, m, len, now);
  }
  const r = xformApply(x, metaOrig, p, headroom, h);
  if (r == Reason.TooBig) return answerTooBig(p, dir, x, metaOrig, ptr, cap, now);
  if (r != 0) return fail(p, dir, NO_LAYER, NO_RULE, r);
  if (!cacheable && isReply) translateQuoted(m, rec, origin, layerBitsAll(rec));
  else if (!cacheable && (xbMods() & (Mod.IpSrc | Mod.IpDst)) != 0 && isIcmpError(m)) translateQuotedAddrs(m, metaOrig, xbMods());
  // a reply's (or a related ICMP error's) walk skipped the allowing layer: its flow knows the rule
  reportAllow(rec != 0 && (isReply || allow == ALLOW_NONE) ? load<u32>(rec + R_ALLOW) : allow);
  return Verdict.Pass;
}

/** A passed frame reports the rule that allowed its flow as the deciding one (docs/abi.md). */
function reportAllow(packed: u32): void {
  decidedLayer = allowLayer(packed);
  decidedRule = allowRule(packed);
}

/** The union of every layer's stateful decisions for a flow. */
function layerBitsAll(rec: usize): u32 {
  let all = load<u32>(rec + R_LAYER_BITS);
  let bits: u32 = 0;
  while (all != 0) { bits |= all & 0xf; all >>= 4; }
  return bits;
}

/**
 * After the first direction is composed, index the key its replies will
 * carry: the transformed 5-tuple reversed, on the port's VNI.
 */
function indexReverse(p: Port, rec: usize, dir: u32): void {
  const m = meta;
  const other = otherDir(dir);
  store<u64>(RKEY + K_SRC_HI, m.dstHi); store<u64>(RKEY + K_SRC_LO, m.dstLo);
  store<u64>(RKEY + K_DST_HI, m.srcHi); store<u64>(RKEY + K_DST_LO, m.srcLo);
  store<u16>(RKEY + K_SPORT, <u16>m.dstPort);
  store<u16>(RKEY + K_DPORT, <u16>m.srcPort);
  store<u32>(RKEY + K_PROTO_VNI, (m.proto & 0xff) | (p.vni << 8));
  // the reply direction is recomposed against the new decisions
  const ox = rec + xOff(other);
  store<u16>(ox + X_MODS, 0);
  const flag: u8 = <u8>(other == Dir.Out ? RF_KEY_OUT : RF_KEY_IN);
  const indexed = (load<u8>(rec + R_FLAGS) & flag) != 0;
  if (indexed && keyEquals(rec + keyOff(other), RKEY)) return;
  if (indexed) flowIndexRemove(p.flows, other, rec);
  keyCopy(rec + keyOff(other), RKEY);
  // An equal key owned by another flow (a stale flow on the same reply tuple)
  // leaves this one unindexed: its replies go through the layers as new flows.
  flowIndexInsert(p.flows, other, rec);
}

function fail(p: Port, dir: u32, layer: u32, rule: u32, reason: u32): u32 {
  undoNat(p);
  if (newFlowKey && p.flowLog != 0) logDeny(changetype<FlowLog>(p.flowLog), dir, KEY, layer, rule, reason, nowForLog);
  newFlowKey = false;
  decidedLayer = layer;
  decidedRule = rule;
  return drop(p, dir, reason);
}

export { flowRemove };
