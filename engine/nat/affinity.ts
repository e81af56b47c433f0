// Does a flow's NAT decision still hold? (OPTE's NatDesc::is_valid over
// VerifyAddr, and its SNAT entries kept across a soft rule change.)
//
// A flow keeps the external address a NAT layer gave it while that address
// is still the port's, whatever else changed: adding a floating IP, or an
// ephemeral one that would now be preferred, leaves an open connection on
// the address it began with (external_ip_epoch_affinity_preserved). Taking
// the address away ends that: the flow's next outbound packet is NATed
// afresh, and its inbound packets are no longer let in
// (external_ip_reconfigurable). Two kinds of address:
//
// - a SNAT binding: its pool still has the flow's external address and still
//   holds the port (a reconfigured pool keeps the bindings that fit,
//   nat/port-pools.ts);
// - a 1:1 address (floating or ephemeral): the layer's rules, asked about the
//   flow's inbound side (remote → external address), still translate it to
//   the flow's private address. Only addresses and ports of the flow are
//   set for the question; the inbound 1:1 rules of a NAT layer match on
//   the external address.

import { PacketMeta } from "../packet/meta";
import { ld64 } from "../packet/bytes";
import { Port, portPool } from "../port";
import { Layer, layerMatch, slotRule, NO_SLOT, ruleParams, RH_ACTION } from "../rules/layer";
import { ActionKind } from "../rules/format";
import { keyOff, Dir, R_NAT_POOL, R_NAT_PORT, NO_NAT_POOL } from "../flow/record";
import { K_SRC_HI, K_SRC_LO, K_DST_HI, K_DST_LO, K_SPORT, K_DPORT } from "../flow/key";
import { natIsTaken } from "./pool";

/** The flow has a SNAT binding (a pool and a port), valid or not. */
@inline export function hasSnatBinding(rec: usize): bool {
  return <u32>load<u16>(rec + R_NAT_POOL) != NO_NAT_POOL;
}

/** The flow's SNAT binding still holds: its pool has the flow's external address and the port is still taken. */
export function snatBindingHolds(p: Port, rec: usize): bool {
  const pool = portPool(p, <u32>load<u16>(rec + R_NAT_POOL));
  if (pool == null) return false;
  const kin = rec + keyOff(Dir.In);
  const port = <u32>load<u16>(rec + R_NAT_PORT);
  return pool.extHi == load<u64>(kin + K_DST_HI) && pool.extLo == load<u64>(kin + K_DST_LO) &&
    port == <u32>load<u16>(kin + K_DPORT) && natIsTaken(pool, port);
}

/** Layer `l` still translates the flow's external address 1:1 to its private address (see above). */
export function oneToOneHolds(l: Layer, rec: usize, m: PacketMeta): bool {
  const kin = rec + keyOff(Dir.In), kout = rec + keyOff(Dir.Out);
  const sHi = m.srcHi, sLo = m.srcLo, dHi = m.dstHi, dLo = m.dstLo, sp = m.srcPort, dp = m.dstPort;
  m.srcHi = load<u64>(kin + K_SRC_HI); m.srcLo = load<u64>(kin + K_SRC_LO);
  m.dstHi = load<u64>(kin + K_DST_HI); m.dstLo = load<u64>(kin + K_DST_LO);
  m.srcPort = <u32>load<u16>(kin + K_SPORT); m.dstPort = <u32>load<u16>(kin + K_DPORT);
  const slot = layerMatch(l, Dir.In, m);
  m.srcHi = sHi; m.srcLo = sLo; m.dstHi = dHi; m.dstLo = dLo; m.srcPort = sp; m.dstPort = dp;
  if (slot == NO_SLOT) return false;
  const rule = slotRule(l, slot);
  if (<u32>load<u8>(rule + RH_ACTION) != ActionKind.Nat11Dst) return false;
  const priv = ruleParams(rule);
  return ld64(priv) == load<u64>(kout + K_SRC_HI) && ld64(priv + 8) == load<u64>(kout + K_SRC_LO);
}

/** The NAT decision a flow has from layer `l` (SNAT binding or 1:1 address) still holds. */
export function natDecisionHolds(p: Port, l: Layer, rec: usize, m: PacketMeta): bool {
  return hasSnatBinding(rec) ? snatBindingHolds(p, rec) : oneToOneHolds(l, rec, m);
}
