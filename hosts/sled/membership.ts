// A port's multicast membership after its guest's report. One port serves
// one guest, so the port's state is that host's own interface state (RFC 3376
// §3.2, RFC 3810 §4.2): a current-state or filter-mode-change record sets the
// group's filter, ALLOW and BLOCK records add or take away sources; INCLUDE {}
// is no membership. Records for groups that never leave the guest's link
// (224.0.0.0/24, IPv6 scopes 0-2), unknown record types and sources that are
// not unicast addresses of the group's family (or are special-use: loopback,
// link-local…) are ignored, as RFC 3376 §4.2.12 has routers ignore unknown
// records.

import { ip16, ipText, isV4 } from "../../layers/program/addr.js";
import { isRoutableGroup, sourceProblem } from "../../layers/vpc/multicast.js";
import { parseMembershipReport, ReportRecord } from "./membership-report.js";

export interface Membership { group: string; mode: "include" | "exclude"; sources: string[] }

const canon = (ip: string) => ipText(ip16(ip));

const RECORD = { isInclude: 1, isExclude: 2, toInclude: 3, toExclude: 4, allow: 5, block: 6 } as const;

function usable(r: ReportRecord): boolean {
  if (r.type < RECORD.isInclude || r.type > RECORD.block || !isRoutableGroup(r.group)) return false;
  return r.sources.every((s) => isV4(s) === isV4(r.group) && !sourceProblem(s));
}

/** The groups after `records`, and how many records were ignored. `current` is left as it was. */
export function applyRecords(current: Membership[], records: ReportRecord[]): { groups: Membership[]; ignored: number } {
  const groups = new Map<string, Membership>();
  for (const g of current) groups.set(canon(g.group), { ...g, sources: g.sources.map(canon) });
  let ignored = 0;
  for (const r of records) {
    if (!usable(r)) { ignored++; continue; }
    const key = canon(r.group);
    const sources = [...new Set(r.sources.map(canon))];
    const now = groups.get(key);
    const set = (mode: Membership["mode"], list: string[]) => {
      if (mode === "include" && list.length === 0) groups.delete(key);
      else groups.set(key, { group: now?.group ?? r.group, mode, sources: list });
    };
    const union = (a: string[]) => [...new Set([...a, ...sources])];
    const minus = (a: string[]) => a.filter((s) => !sources.includes(s));
    switch (r.type) {
      case RECORD.isInclude: case RECORD.toInclude: set("include", sources); break;
      case RECORD.isExclude: case RECORD.toExclude: set("exclude", sources); break;
      case RECORD.allow:
        if (!now) set("include", sources);
        else set(now.mode, now.mode === "include" ? union(now.sources) : minus(now.sources));
        break;
      case RECORD.block:
        if (now) set(now.mode, now.mode === "include" ? minus(now.sources) : union(now.sources));
        break;
    }
  }
  return { groups: [...groups.values()], ignored };
}

/** What a port's guest reports did: reports taken, malformed or refused (lastError says why), records ignored. */
export interface ReportCounters { learned: number; bad: number; ignoredRecords: number; lastError?: string }

/**
 * A batch of one guest's report frames, in order, against its `current`
 * groups: the groups they leave (undefined when nothing changed) and how many
 * reports read well. Malformed reports and ignored records are counted in `c`.
 */
export function groupsAfterReports(current: Membership[], frames: Uint8Array[], c: ReportCounters): { groups?: Membership[]; reports: number } {
  const records: ReportRecord[] = [];
  let reports = 0;
  for (const f of frames) {
    const r = parseMembershipReport(f);
    if (!r.ok) { c.bad++; c.lastError = r.reason; continue; }
    records.push(...r.records);
    reports++;
  }
  const { groups, ignored } = applyRecords(current, records);
  c.ignoredRecords += ignored;
  return { groups: JSON.stringify(groups) === JSON.stringify(current) ? undefined : groups, reports };
}
