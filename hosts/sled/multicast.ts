// The sled's side of multicast (OPTE leaves it to the host driver, xde): the
// rack-wide M2P mappings it installs in the engine, and which local ports
// joined which group, so a group's frames reach every member port on this
// sled — from the underlay, and from a local guest as well as to the
// underlay — whatever the replication mode says: local delivery is not the
// switches' job. Each member port's engine then applies its source filter.

import { m2pEntry } from "../../layers/vpc/compile.js";
import { TABLE } from "../../layers/vpc/constants.js";
import { ip16, ipText, isIP } from "../../layers/program/addr.js";
import type { SledMappings } from "./mappings.js";
import type { UndoLog } from "../lib/committer.js";

export interface M2pEntry { group: string; underlay: string }

/** Anything with a name and the groups its config joined. */
export interface MemberPort { name: string; compiled: { config: { multicast: { group: string }[] } } }

const canon = (ip: string) => ipText(ip16(ip));

export class SledMulticast<P extends MemberPort> {
  private readonly m2p = new Map<string, M2pEntry>();
  private members = new Map<string, P[]>();

  constructor(private readonly maps: SledMappings) {}

  setM2p(m: M2pEntry, undo?: UndoLog): void {
    this.maps.set(m2pEntry(m.group, m.underlay), undo);
    this.noteM2p(m, undo);
  }
  /** Remember a mapping a port config installed (the engine has it already). */
  noteM2p(m: M2pEntry, undo?: UndoLog): void {
    const key = canon(m.group), before = this.m2p.get(key);
    this.m2p.set(key, m);
    undo?.push(() => (before ? this.m2p.set(key, before) : this.m2p.delete(key)));
  }
  /** false when there is no mapping for the group. */
  removeM2p(group: string, undo?: UndoLog): boolean {
    if (!isIP(group) || !this.maps.remove(TABLE.m2p, 0, group, 0, undo)) return false;
    const key = canon(group), before = this.m2p.get(key);
    this.m2p.delete(key);
    if (before) undo?.push(() => this.m2p.set(key, before));
    return true;
  }
  listM2p(): M2pEntry[] { return [...this.m2p.values()]; }

  /** Recompute who joined what after ports came, went or changed membership. */
  reindex(ports: Iterable<P>): void {
    const next = new Map<string, P[]>();
    for (const p of ports) {
      for (const g of p.compiled.config.multicast) {
        const key = canon(g.group);
        next.set(key, [...(next.get(key) ?? []), p]);
      }
    }
    this.members = next;
  }

  /** Local ports that joined `group` (text as innerGroupOf gives it). */
  membersOf(group: string): P[] { return this.members.get(group) ?? []; }
}

const OUTER = 14 + 40 + 8; // Ethernet, IPv6, UDP before the Geneve header

/**
 * The inner destination of an underlay frame (Geneve over IPv6, no VLAN)
 * when it is an IP multicast group, in canonical text; undefined for
 * anything else, malformed frames included.
 */
export function innerGroupOf(f: Uint8Array): string | undefined {
  if (f.length < OUTER + 8) return undefined;
  const inner = OUTER + 8 + (f[OUTER] & 0x3f) * 4;
  if (f.length < inner + 14) return undefined;
  let l3 = inner + 14;
  let type = (f[inner + 12] << 8) | f[inner + 13];
  if (type === 0x8100) {
    l3 += 4;
    if (f.length < l3) return undefined;
    type = (f[l3 - 2] << 8) | f[l3 - 1];
  }
  if (type === 0x0800 && f.length >= l3 + 20 && (f[l3 + 16] & 0xf0) === 0xe0) {
    return `${f[l3 + 16]}.${f[l3 + 17]}.${f[l3 + 18]}.${f[l3 + 19]}`;
  }
  if (type === 0x86dd && f.length >= l3 + 40 && f[l3 + 24] === 0xff) return ipText(f.subarray(l3 + 24, l3 + 40));
  return undefined;
}
