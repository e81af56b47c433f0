// What a guest's report does to its port's groups (hosts/sled/membership.ts):
// the port's state is the guest's own interface state (RFC 3376 §3.2, RFC
// 3810 §4.2), so current-state and mode-change records set the filter,
// ALLOW/BLOCK adjust it, INCLUDE {} leaves; what cannot be a routed group or
// source is ignored and counted.
import { describe, it, expect } from "vitest";
import { applyRecords, Membership } from "../../hosts/sled/membership.js";
import { RECORD } from "../../hosts/lib/mcast-frames.js";

const G = "239.1.2.3";
const rec = (type: number, sources: string[] = [], group = G) => ({ type, group, sources });
const after = (current: Membership[], ...records: ReturnType<typeof rec>[]) => applyRecords(current, records).groups;

describe("applying a report", () => {
  it("joins with TO_EX {} (any source), sets an include list with TO_IN, leaves with TO_IN {}", () => {
    const joined = after([], rec(RECORD.toExclude));
    expect(joined).toEqual([{ group: G, mode: "exclude", sources: [] }]);
    const listed = after(joined, rec(RECORD.toInclude, ["10.0.0.1", "10.0.0.2"]));
    expect(listed).toEqual([{ group: G, mode: "include", sources: ["10.0.0.1", "10.0.0.2"] }]);
    expect(after(listed, rec(RECORD.toInclude))).toEqual([]);
    expect(after([], rec(RECORD.isInclude, ["10.0.0.1"]))).toEqual([{ group: G, mode: "include", sources: ["10.0.0.1"] }]);
    expect(after([], rec(RECORD.isExclude, ["10.0.0.9"]))).toEqual([{ group: G, mode: "exclude", sources: ["10.0.0.9"] }]);
  });

  it("ALLOW and BLOCK add and take away sources in include mode, the other way round in exclude mode", () => {
    const inc: Membership[] = [{ group: G, mode: "include", sources: ["10.0.0.1"] }];
    expect(after(inc, rec(RECORD.allow, ["10.0.0.2", "10.0.0.1"]))[0].sources).toEqual(["10.0.0.1", "10.0.0.2"]);
    expect(after(inc, rec(RECORD.block, ["10.0.0.1"]))).toEqual([]); // the last source gone: INCLUDE {}
    const exc: Membership[] = [{ group: G, mode: "exclude", sources: ["10.0.0.9"] }];
    expect(after(exc, rec(RECORD.allow, ["10.0.0.9"]))[0]).toEqual({ group: G, mode: "exclude", sources: [] });
    expect(after(exc, rec(RECORD.block, ["10.0.0.8"]))[0].sources).toEqual(["10.0.0.9", "10.0.0.8"]);
    expect(after([], rec(RECORD.allow, ["10.0.0.1"]))).toEqual([{ group: G, mode: "include", sources: ["10.0.0.1"] }]);
    expect(after([], rec(RECORD.block, ["10.0.0.1"]))).toEqual([]);
  });

  it("keeps other groups, and knows one group by any spelling", () => {
    const current: Membership[] = [{ group: "ff0e::1", mode: "exclude", sources: [] }, { group: G, mode: "exclude", sources: [] }];
    expect(after(current, rec(RECORD.toInclude, [], "ff0e:0:0::1"))).toEqual([{ group: G, mode: "exclude", sources: [] }]);
  });

  it("ignores link-scope groups, unknown record types and sources that are not unicast of the group's family", () => {
    const r = applyRecords([], [
      rec(RECORD.toExclude, [], "224.0.0.251"), rec(RECORD.toExclude, [], "ff02::1:ff00:5"), rec(7),
      rec(RECORD.toInclude, ["fd00::1"]), rec(RECORD.toInclude, ["239.0.0.1"]), rec(RECORD.toExclude, [], "ff0e::5"),
    ]);
    expect(r).toEqual({ groups: [{ group: "ff0e::5", mode: "exclude", sources: [] }], ignored: 5 });
  });
});
