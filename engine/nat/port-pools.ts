// Installing and replacing a port's SNAT pools without losing still-valid
// bindings: when external IPs are reconfigured, flows whose external address
// and port still belong to the new pool keep them (a "soft" reset, as OPTE's
// external-IP update); the rest lose their binding and are re-NATed on their
// next packet.

import { Reason } from "../../abi/reason";
import { Port, portPool, MAX_POOLS, bumpEpoch } from "../port";
import { NatPool, natPoolNew, natPoolFree, natClaim } from "./pool";
import { recordAt } from "../flow/table";
import { R_FLAGS, RF_LIVE, R_NAT_POOL, R_NAT_PORT, NO_NAT_POOL } from "../flow/record";

export function setNatPool(p: Port, id: u32, extHi: u64, extLo: u64, portLo: u32, portHi: u32): u32 {
  if (id >= MAX_POOLS) return Reason.BadArgument;
  const np = natPoolNew(extHi, extLo, portLo, portHi);
  if (np == null) return Reason.BadArgument; // an empty or reversed port range
  const old = portPool(p, id);
  const keep = old != null && old.extHi == extHi && old.extLo == extLo;
  const t = p.flows;
  for (let i: u32 = 0; i < t.neverUsed; i++) {
    const rec = recordAt(t, i);
    if ((<u32>load<u8>(rec + R_FLAGS) & RF_LIVE) == 0) continue;
    if (<u32>load<u16>(rec + R_NAT_POOL) != id) continue;
    if (!(keep && natClaim(np, <u32>load<u16>(rec + R_NAT_PORT)))) {
      store<u16>(rec + R_NAT_POOL, <u16>NO_NAT_POOL);
    }
  }
  if (old != null) natPoolFree(old);
  store<usize>(p.pools + (<usize>id << 2), changetype<usize>(np));
  bumpEpoch(p);
  return 0;
}

export function removeNatPool(p: Port, id: u32): u32 {
  const old = portPool(p, id);
  if (old == null) return Reason.NoSuchPool;
  const t = p.flows;
  for (let i: u32 = 0; i < t.neverUsed; i++) {
    const rec = recordAt(t, i);
    if ((<u32>load<u8>(rec + R_FLAGS) & RF_LIVE) == 0) continue;
    if (<u32>load<u16>(rec + R_NAT_POOL) == id) store<u16>(rec + R_NAT_POOL, <u16>NO_NAT_POOL);
  }
  natPoolFree(old);
  store<usize>(p.pools + (<usize>id << 2), 0);
  bumpEpoch(p);
  return 0;
}

export function poolInUse(p: Port, id: u32): u32 {
  const pool = portPool(p, id);
  return pool == null ? 0 : pool.inUse;
}
export function poolExhausted(p: Port, id: u32): u64 {
  const pool = portPool(p, id);
  return pool == null ? 0 : pool.exhausted;
}
export { NatPool };
