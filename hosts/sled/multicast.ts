// The sled's side of multicast, as OPTE's xde keeps it on a sled:
// - the rack-wide M2P mappings (overlay group → admin-local underlay group),
//   installed in the engine;
// - which local ports joined which group, so a group's frames reach every
//   member port on this sled — from the underlay, and from a local guest (the
//   sender itself excepted) — whatever the forwarding table says: same-sled
//   delivery is the sled's job, not the switches';
// - the multicast forwarding table: per underlay group, the next hops (the
//   rack's switches, by unicast address) that get one copy each of a local
//   guest's group frame, with the replication the switch is to perform
//   (External: front-panel ports; Underlay: the other sleds; Both) and a
//   source filter (the union of what the subscribers behind that hop take).
//   An underlay group with no entry never leaves the sled.
// A sled is a leaf of the replication tree: what arrives from the underlay is
// delivered to local members and never sent on. Each member port's engine
// applies the port's own source filter and firewall.

import { z } from "zod";
import type { Engine } from "../engine/engine.js";
import { m2pEntry } from "../../layers/vpc/compile.js";
import { TABLE } from "../../layers/vpc/constants.js";
import { SourceAddress } from "../../layers/vpc/config.js";
import { MULTICAST_VNI, isMulticast, isUnderlayGroup } from "../../layers/vpc/multicast.js";
import { ip16, ipText, isIP } from "../../layers/program/addr.js";
import { outerDestination, innerAddresses } from "../lib/underlay-frame.js";
import type { SledMappings } from "./mappings.js";
import type { UndoLog } from "../lib/committer.js";

export interface M2pEntry { group: string; underlay: string }

/** Anything with a name and the groups its config joined. */
export interface MemberPort { name: string; compiled: { config: { multicast: { group: string }[] } } }

export const canonIp = (ip: string) => ipText(ip16(ip));

const underlayGroup = z.string().refine((s) => isIP(s) === 6 && isUnderlayGroup(s), "expected an underlay group in ff04::/16");
const SourceFilter = z.strictObject({
  mode: z.enum(["include", "exclude"]).default("exclude"),
  sources: z.array(SourceAddress).max(256).default([]),
});
/**
 * One next hop of a forwarding entry (OPTE's McastForwardingNextHop): a
 * switch's unicast underlay address (the copy still goes to the group
 * address; the next hop names the path), the fleet-wide multicast VNI, the
 * replication the switch performs, and which inner sources it is sent.
 */
export const NextHop = z.strictObject({
  nextHop: z.string().superRefine((s, ctx) => {
    const problem = isIP(s) !== 6 ? "expected an IPv6 address (a switch's underlay address)"
      : isMulticast(s) ? `${s} is a multicast address: a next hop is a switch's unicast address (the copy goes to the underlay group)`
      : /^(::|::1)$/.test(canonIp(s)) ? `${s} cannot be a next hop` : undefined;
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  vni: z.number().int().default(MULTICAST_VNI).refine((v) => v === MULTICAST_VNI, `multicast travels on the fleet-wide VNI ${MULTICAST_VNI}`),
  replication: z.enum(["external", "underlay", "both"]),
  sourceFilter: SourceFilter.default({ mode: "exclude", sources: [] }),
});
export type NextHop = z.output<typeof NextHop>;
export const ForwardingEntry = z.strictObject({
  underlay: underlayGroup,
  nextHops: z.array(NextHop).min(1).max(16),
}).superRefine((e, ctx) => {
  const seen = e.nextHops.map((h) => (isIP(h.nextHop) ? canonIp(h.nextHop) : h.nextHop));
  seen.forEach((h, i) => { if (seen.indexOf(h) !== i) ctx.addIssue({ code: "custom", path: ["nextHops", i, "nextHop"], message: `next hop ${h} is listed twice` }); });
});
export type ForwardingEntry = z.output<typeof ForwardingEntry>;

/** The replication mode numbers of the Oxide Multicast option (engine/packet/geneve.ts). */
const MODE = { external: 0, underlay: 1, both: 2 } as const;

/** What the sled did with group frames (OPTE's xde mcast_* statistics). */
export interface MulticastCounters {
  /** copies of local guests' group frames handed to other local member ports (their filters apply after) */
  txLocal: number;
  /** copies sent to next hops asking for Underlay or Both replication */
  txUnderlay: number;
  /** copies sent to next hops asking for External or Both replication */
  txExternal: number;
  /** local guests' group frames whose underlay group has no forwarding entry: they stayed on the sled */
  noForwarding: number;
  /** copies a next hop's source filter held back */
  forwardingFiltered: number;
  /** group frames from the underlay handed to local member ports */
  rxLocal: number;
  /** copies the engine could not mark with a replication mode (not one of its multicast frames) */
  replicationErrors: number;
}

interface Hop { nextHop: string; replication: NextHop["replication"]; mode: "include" | "exclude"; sources: Set<string> }

export class SledMulticast<P extends MemberPort> {
  private readonly m2p = new Map<string, M2pEntry>();
  private members = new Map<string, P[]>();
  /** underlay group → next hop → what it gets, both keys canonical */
  private readonly forwarding = new Map<string, Map<string, Hop>>();
  readonly counters: MulticastCounters = { txLocal: 0, txUnderlay: 0, txExternal: 0, noForwarding: 0, forwardingFiltered: 0, rxLocal: 0, replicationErrors: 0 };

  constructor(private readonly engine: Engine, private readonly maps: SledMappings) {}

  // ---- M2P (changes take an UndoLog: the sled's commit path, hosts/lib/committer.ts)

  setM2p(m: M2pEntry, undo?: UndoLog): void {
    this.maps.set(m2pEntry(m.group, m.underlay), undo);
    this.noteM2p(m, undo);
  }
  /** Remember a mapping a port config installed (the engine has it already). */
  noteM2p(m: M2pEntry, undo?: UndoLog): void {
    const key = canonIp(m.group), before = this.m2p.get(key);
    this.m2p.set(key, m);
    undo?.push(() => (before ? this.m2p.set(key, before) : this.m2p.delete(key)));
  }
  /** false when there is no mapping for the group. */
  removeM2p(group: string, undo?: UndoLog): boolean {
    if (!isIP(group) || !this.maps.remove(TABLE.m2p, 0, group, 0, undo)) return false;
    const key = canonIp(group), before = this.m2p.get(key);
    this.m2p.delete(key);
    if (before) undo?.push(() => this.m2p.set(key, before));
    return true;
  }
  listM2p(): M2pEntry[] { return [...this.m2p.values()]; }
  /**
   * The underlay group that carries `group`: its M2P mapping, or the group
   * itself when it is an admin-local underlay group (ff04::/16) already.
   */
  underlayOf(group: string): string | undefined {
    const m = this.m2p.get(canonIp(group));
    return m ? canonIp(m.underlay) : isUnderlayGroup(group) ? canonIp(group) : undefined;
  }

  // ---- local membership

  /** Recompute who joined what after ports came, went or changed membership. */
  reindex(ports: Iterable<P>): void {
    const next = new Map<string, P[]>();
    for (const p of ports) {
      for (const g of p.compiled.config.multicast) {
        const key = canonIp(g.group);
        next.set(key, [...(next.get(key) ?? []), p]);
      }
    }
    this.members = next;
  }

  /** Local ports that joined `group` (canonical text, as innerGroupOf gives it). */
  membersOf(group: string): P[] { return this.members.get(group) ?? []; }
  /** Every group some local port joined, with its members. */
  memberships(): [string, P[]][] { return [...this.members]; }

  // ---- forwarding (OPTE's set/clear/dump_mcast_fwd)

  /**
   * Add next hops to an underlay group's entry, as `swadm route add` does: a
   * next hop already there takes the new replication and filter, others are
   * added. The entry must have passed ForwardingEntry.
   */
  setForwarding(e: ForwardingEntry, undo?: UndoLog): void {
    const key = canonIp(e.underlay);
    const before = this.forwarding.get(key);
    const hops = new Map<string, Hop>(before ?? []);
    for (const h of e.nextHops) {
      hops.set(canonIp(h.nextHop), { nextHop: canonIp(h.nextHop), replication: h.replication,
        mode: h.sourceFilter.mode, sources: new Set(h.sourceFilter.sources.map(canonIp)) });
    }
    this.forwarding.set(key, hops);
    undo?.push(() => (before ? this.forwarding.set(key, before) : this.forwarding.delete(key)));
  }
  /** Drop an underlay group's entry; false when it had none. */
  clearForwarding(underlay: string, undo?: UndoLog): boolean {
    const key = canonIp(underlay), before = this.forwarding.get(key);
    if (!before) return false;
    this.forwarding.delete(key);
    undo?.push(() => this.forwarding.set(key, before));
    return true;
  }
  listForwarding(): ForwardingEntry[] {
    return [...this.forwarding].map(([underlay, hops]) => ({ underlay, nextHops: [...hops.values()].map((h) => ({
      nextHop: h.nextHop, vni: MULTICAST_VNI, replication: h.replication, sourceFilter: { mode: h.mode, sources: [...h.sources] } })) }));
  }

  /**
   * A local guest's group frame, the engine's output at [at, at + len) of its
   * memory: one copy per next hop of its underlay group whose filter takes the
   * inner source, each after the engine wrote that hop's replication into it;
   * `send` copies the frame out as it stands.
   */
  toNextHops(at: number, len: number, send: () => void): void {
    const f = this.engine.u8.subarray(at, at + len);
    const dst = outerDestination(f);
    const hops = dst === undefined ? undefined : this.forwarding.get(dst);
    if (!hops) { this.counters.noForwarding++; return; }
    const src = innerAddresses(f)?.src;
    for (const h of hops.values()) {
      if (src === undefined || h.sources.has(src) !== (h.mode === "include")) { this.counters.forwardingFiltered++; continue; }
      if (this.engine.setReplication(at, len, MODE[h.replication]) !== 0) { this.counters.replicationErrors++; continue; }
      send();
      if (h.replication !== "external") this.counters.txUnderlay++;
      if (h.replication !== "underlay") this.counters.txExternal++;
    }
  }
}
