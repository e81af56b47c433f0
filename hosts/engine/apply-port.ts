// Bringing a compiled VPC port (layers/vpc/compile.ts) into an engine: the
// port, its SNAT pools, rule program, mapping entries and meters, all or
// nothing. The layers compile; the hosts apply.

import type { Engine } from "./engine.js";
import type { CompiledPort } from "../../layers/vpc/compile.js";

/** Set the port's bandwidth meters (removing the ones the config no longer has). */
export function applyMeters(engine: Engine, id: number, p: CompiledPort, now = Date.now()): void {
  for (let meter = 0; meter < 16; meter++) {
    for (const dir of ["in", "out"] as const) {
      const s = p.meters.find((x) => x.meter === meter && x.dir === dir);
      engine.setMeter(id, meter, dir, s?.bitsPerSec ?? 0, s?.burstBytes ?? 0, now);
    }
  }
}

/** Create the port in an engine and bring it up. */
export function applyPort(engine: Engine, id: number, p: CompiledPort, now = Date.now()): void {
  engine.createPort(id, p.engineConfig);
  try {
    for (const pool of p.natPools) engine.setNatPool(id, pool.pool, pool.ip, pool.firstPort, pool.lastPort);
    engine.loadProgram(id, p.program);
    for (const m of p.mappings) engine.mapSet(m.table, m.vni, m.ip, m.portLo, m.portHi, m.target);
    applyMeters(engine, id, p, now);
  } catch (err) {
    engine.destroyPort(id);
    throw err;
  }
  engine.setPortState(id, "running");
}
