// OPTE's multicast source filters (xde-tests multicast_source_filter.rs),
// IGMPv3/MLDv2 style (RFC 3376, RFC 3810): INCLUDE(S) takes only S, EXCLUDE(S)
// all but S, EXCLUDE {} any source; a new filter takes effect at once. Each
// member filter is tried on both paths OPTE has: a member on the sender's
// sled (same-sled delivery) and one on another sled (from the underlay), in
// IPv4 and IPv6. Forwarding next hops have filters of their own: a copy goes
// only to the next hops whose filter takes the sender.
import { describe, it, expect, afterEach } from "vitest";
import type { SledHost } from "../../hosts/sled/sled.js";
import { replicationOf } from "../../hosts/lib/underlay-frame.js";
import { ip16 } from "../../layers/program/addr.js";
import { hex } from "../helpers/frames.js";
import type { Membership } from "../../hosts/sled/membership.js";
import { memorySled, twoSleds, addGuest, toGroup, forwarding, settled, until, drops } from "../helpers/mcast-sled.js";

const SWITCH = "fd00:1122:3344:1::7";
const OTHER = { 4: "10.99.99.99", 6: "fd00:9999::1" } as const;
let open: SledHost[] = [];
afterEach(async () => { for (const s of open) await s.close(); open = []; });

/**
 * Sender web-1 and member web-2 on sled-1, member web-3 on sled-2; an IPv4
 * and an IPv6 group, each carried by its underlay group on both sleds,
 * sled-1 forwarding them to the other sleds (Underlay replication).
 */
async function topology() {
  const [s1, s2] = await twoSleds();
  open.push(s1, s2);
  const a = await addGuest(s1, 1), b = await addGuest(s1, 2), c = await addGuest(s2, 3);
  for (const { group, underlay } of Object.values(GROUPS)) {
    for (const s of [s1, s2]) await s.setM2p({ group, underlay });
    await s1.setForwarding(forwarding(underlay, [{ nextHop: SWITCH, replication: "underlay" }]));
  }
  let delivered = 0, filtered = 0;
  return {
    s1, s2, b, c,
    sender: (fam: 4 | 6) => (fam === 4 ? a.ipv4 : a.ipv6),
    /** Both members take `filter` for the family's group; a sends to it once. */
    async send(fam: 4 | 6, filter: Omit<Membership, "group">, payload: string) {
      const { group } = GROUPS[fam];
      await s1.joinGroup(b.name, { group, ...filter });
      await s2.joinGroup(c.name, { group, ...filter });
      a.dev.inject([toGroup(a, group, payload)]);
    },
    /** Both members got it, to the group. */
    async bothGet(fam: 4 | 6) {
      delivered++;
      for (const m of [b, c]) {
        const got = (await m.dev.waitFor(delivered))[delivered - 1];
        expect(hex(fam === 4 ? got.subarray(30, 34) : got.subarray(38, 54))).toBe(hex(ip16(GROUPS[fam].group).subarray(fam === 4 ? 12 : 0)));
      }
    },
    /** Both members' engines dropped it as SourceFiltered, and neither got it. */
    async bothFilter() {
      filtered++;
      await until(() => drops(s1, b.name, "SourceFiltered") === filtered && drops(s2, c.name, "SourceFiltered") === filtered, "both members' filters");
      expect([b.dev.delivered.length, c.dev.delivered.length]).toEqual([delivered, delivered]);
    },
  };
}

const GROUPS = { 4: { group: "224.0.2.252", underlay: "ff04::e000:2fc" }, 6: { group: "ff04::e000:200", underlay: "ff04::e000:200" } } as const;
const FAMILIES = [4, 6] as const;

describe("member source filters, on the sender's sled and on another", () => {
  it("test_include_filter_allows_listed_source: INCLUDE with the sender among its sources delivers, IPv4 and IPv6", async () => {
    const t = await topology();
    for (const fam of FAMILIES) {
      await t.send(fam, { mode: "include", sources: fam === 4 ? [t.sender(4), "10.88.88.88"] : [t.sender(6)] }, "allowed source test");
      await t.bothGet(fam);
    }
  });

  it("test_include_filter_blocks_unlisted_source: INCLUDE without the sender blocks it, IPv4 and IPv6", async () => {
    const t = await topology();
    for (const fam of FAMILIES) {
      await t.send(fam, { mode: "include", sources: [OTHER[fam]] }, "blocked source test");
      await t.bothFilter();
    }
  });

  it("test_include_empty_blocks_all: INCLUDE {} takes nothing: the ports are no members, IPv4 and IPv6", async () => {
    const t = await topology();
    for (const [i, fam] of FAMILIES.entries()) {
      await t.send(fam, { mode: "include", sources: [] }, "should be blocked");
      await until(() => t.s2.underlayDrops.noMembers === i + 1, "the copy on sled-2, for no member");
      await settled();
      expect([t.b.dev.delivered.length, t.c.dev.delivered.length]).toEqual([0, 0]);
      expect(t.s1.subscriptions()).toEqual([]);
    }
  });

  it("test_exclude_empty_allows_all: EXCLUDE {} takes any source, IPv4 and IPv6", async () => {
    const t = await topology();
    for (const fam of FAMILIES) {
      await t.send(fam, { mode: "exclude", sources: [] }, "should be allowed");
      await t.bothGet(fam);
    }
  });

  it("test_exclude_filter_blocks_listed_source: EXCLUDE with the sender among its sources blocks it, IPv4 and IPv6", async () => {
    const t = await topology();
    for (const fam of FAMILIES) {
      await t.send(fam, { mode: "exclude", sources: fam === 4 ? [t.sender(4), "10.77.77.77"] : [t.sender(6)] }, "excluded source test");
      await t.bothFilter();
    }
  });

  it("test_exclude_filter_allows_unlisted_source: EXCLUDE without the sender delivers, IPv4 and IPv6", async () => {
    const t = await topology();
    for (const fam of FAMILIES) {
      await t.send(fam, { mode: "exclude", sources: [OTHER[fam]] }, "allowed by exclude filter");
      await t.bothGet(fam);
    }
  });

  it("test_filter_update_via_resubscribe: a new filter takes effect at once, IPv4 and IPv6", async () => {
    const t = await topology();
    for (const fam of FAMILIES) {
      await t.send(fam, { mode: "include", sources: [t.sender(fam)] }, "case 1");
      await t.bothGet(fam);
      await t.send(fam, { mode: "exclude", sources: [t.sender(fam)] }, "case 2");
      await t.bothFilter();
      await t.send(fam, { mode: "exclude", sources: [] }, "case 3");
      await t.bothGet(fam);
    }
  });
});

describe("filters on the sender's sled without forwarding", () => {
  it("test_tx_same_sled_source_filtering: each member's filter decides for itself", async () => {
    const { sled, u, guests } = await memorySled(3);
    open.push(sled);
    const [a, b, c] = guests;
    for (const [fam, group] of [[4, "224.0.1.5"], [6, "ff04::e000:206"]] as const) {
      await sled.setM2p({ group, underlay: fam === 4 ? "ff04::e000:105" : group });
      await sled.joinGroup(a.name, { group, mode: "exclude", sources: [] });
      await sled.joinGroup(b.name, { group, mode: "include", sources: [fam === 4 ? a.ipv4 : a.ipv6] });
      await sled.joinGroup(c.name, { group, mode: "include", sources: [OTHER[fam]] });
      const before = [b.dev.delivered.length, c.dev.delivered.length];
      a.dev.inject([toGroup(a, group, "tx same-sled filter test")]);
      await settled();
      expect([b.dev.delivered.length, c.dev.delivered.length]).toEqual([before[0] + 1, before[1]]);
    }
    expect(drops(sled, c.name, "SourceFiltered")).toBe(2);
    expect(u.sent.length).toBe(0);
  });
});

describe("next hop source filters", () => {
  /** Sender web-1 on one sled, member of `group` itself; returns a send that tells how many copies went out. */
  async function sender(group: string, underlay: string) {
    const { sled, u, guests: [a] } = await memorySled(1);
    open.push(sled);
    await sled.setM2p({ group, underlay });
    await sled.joinGroup(a.name, { group, mode: "exclude", sources: [] });
    const copies = async (payload: string) => {
      const before = u.sent.length;
      a.dev.inject([toGroup(a, group, payload)]);
      await settled();
      return u.sent.slice(before);
    };
    return { sled, a, copies };
  }

  const NEXT_HOP_GROUPS = [[4, "224.1.2.240", "ff04::e001:2f0"], [6, "ff04::e000:2f0", "ff04::e000:2f0"]] as const;

  it("test_forwarding_source_filter: send a copy only when the next hop's filter takes the sender, IPv4 and IPv6", async () => {
    for (const [fam, group, underlay] of NEXT_HOP_GROUPS) {
      const { sled, a, copies } = await sender(group, underlay);
      const me = fam === 4 ? a.ipv4 : a.ipv6;
      const via = (mode: string, sources: string[]) => sled.setForwarding(forwarding(underlay, [{ nextHop: SWITCH, replication: "underlay", sourceFilter: { mode, sources } }]));
      await via("include", [OTHER[fam]]);
      expect((await copies("filtered at forwarding")).length).toBe(0);
      await via("include", [me]);
      expect((await copies("allowed at forwarding")).length).toBe(1);
      await via("exclude", [me]);
      expect((await copies("excluded at forwarding")).length).toBe(0);
      await via("exclude", []);
      expect((await copies("default filter allows")).length).toBe(1);
      expect(sled.multicastCounters.forwardingFiltered).toBe(2);
    }
  });

  it("test_forwarding_multi_nexthop_different_filters: with two next hops of different filters, a copy goes to the one that takes the sender, IPv4 and IPv6", async () => {
    for (const [fam, group, underlay] of NEXT_HOP_GROUPS) {
      const { sled, a, copies } = await sender(group, underlay);
      const me = fam === 4 ? a.ipv4 : a.ipv6;
      await sled.setForwarding(forwarding(underlay, [
        { nextHop: "fd77::3", replication: "underlay", sourceFilter: { mode: "include", sources: [me] } },
        { nextHop: "fd77::4", replication: "external", sourceFilter: { mode: "include", sources: [OTHER[fam]] } },
      ]));
      const sent = await copies("multi-hop filter test");
      expect(sent.map(replicationOf)).toEqual(["underlay"]);
    }
  });
});

