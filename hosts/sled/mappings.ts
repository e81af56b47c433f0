// The engine's mapping tables (V2P, M2P, boundary) as this sled installed
// them. The tables are engine-wide, so a port config, an API call and a
// migration may each overwrite an entry; keeping what was there lets a change
// that fails put back exactly the entries it overwrote.

import type { Engine } from "../engine/engine.js";
import type { MappingEntry } from "../../layers/vpc/compile.js";
import { ip16, ipText, isIP } from "../../layers/program/addr.js";
import type { UndoLog } from "../lib/committer.js";

const keyOf = (table: number, vni: number, ip: string, portLo: number) => `${table}/${vni}/${ipText(ip16(ip))}/${portLo}`;

export class SledMappings {
  private readonly installed = new Map<string, MappingEntry>();

  constructor(private readonly engine: Engine) {}

  /** Install `m`; `undo` learns how to put back what it replaced. */
  set(m: MappingEntry, undo?: UndoLog): void {
    const key = keyOf(m.table, m.vni, m.ip, m.portLo);
    const before = this.installed.get(key);
    this.engine.mapSet(m.table, m.vni, m.ip, m.portLo, m.portHi, m.target);
    this.installed.set(key, m);
    undo?.push(() => (before ? this.set(before) : this.remove(m.table, m.vni, m.ip, m.portLo)));
  }

  /** Remove an entry; false when the engine had none. */
  remove(table: number, vni: number, ip: string, portLo: number, undo?: UndoLog): boolean {
    if (!isIP(ip)) return false;
    const key = keyOf(table, vni, ip, portLo);
    const before = this.installed.get(key);
    if (!this.engine.mapRemove(table, vni, ip, portLo)) return false;
    this.installed.delete(key);
    if (before) undo?.push(() => this.set(before));
    return true;
  }
}
