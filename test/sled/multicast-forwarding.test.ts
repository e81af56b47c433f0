// OPTE's xde multicast scenarios on a sled host (xde-tests
// multicast_multi_nexthop.rs, multicast_multi_sub.rs, multicast_rx.rs): a
// guest's group frame goes to every other local member whatever the
// forwarding says (never back to the sender), and to the underlay only
// through the forwarding table — one copy per next hop, each carrying that
// hop's replication (External, Underlay, Both) in its Multicast option, on
// VNI 77 to the underlay group. A sled is a leaf: what comes from the
// underlay goes to local members, never back out.
import { describe, it, expect, afterEach } from "vitest";
import type { SledHost } from "../../hosts/sled/sled.js";
import { sledMetrics } from "../../hosts/sled/metrics.js";
import { replicationOf, geneveOf } from "../../hosts/lib/underlay-frame.js";
import { ip16 } from "../../layers/program/addr.js";
import { hex } from "../helpers/frames.js";
import { memorySled, twoSleds, addGuest, toGroup, forwarding, settled, until, MCAST_PORT, SLED_1 } from "../helpers/mcast-sled.js";

/** A switch's underlay address, the next hop of the forwarding entries here. */
const SWITCH = "fd00:1122:3344:1::7";

const outerDst = (f: Uint8Array) => hex(f.subarray(38, 54));
const srcOf = (f: Uint8Array) => [...f.subarray(26, 30)].join(".");
let open: SledHost[] = [];
afterEach(async () => { for (const s of open) await s.close(); open = []; });

async function oneSled(n: number) {
  const t = await memorySled(n);
  open.push(t.sled);
  return t;
}

/** What every copy towards the underlay must be: VNI 77, to the underlay group, from this sled. */
function expectGroupCopy(f: Uint8Array, underlay: string) {
  expect(geneveOf(f)?.vni).toBe(77);
  expect(outerDst(f)).toBe(hex(ip16(underlay)));
  expect(hex(f.subarray(22, 38))).toBe(hex(ip16(SLED_1)));
}

describe("multicast forwarding next hops", () => {
  it("test_multicast_multi_nexthop_fanout: sends one copy per next hop, each with its own replication, and keeps both hops in the table", async () => {
    const { sled, u, guests: [a] } = await oneSled(1);
    await sled.setM2p({ group: "224.1.2.100", underlay: "ff04::e001:264" });
    await sled.setForwarding(forwarding("ff04::e001:264", [
      { nextHop: "fd77::1", replication: "external" },
      { nextHop: "fd77::2", replication: "underlay" },
    ]));
    await sled.joinGroup(a.name, { group: "224.1.2.100", mode: "exclude", sources: [] });
    expect(sled.listForwarding()).toEqual([{ underlay: "ff04::e001:264", nextHops: [
      { nextHop: "fd77::1", vni: 77, replication: "external", sourceFilter: { mode: "exclude", sources: [] } },
      { nextHop: "fd77::2", vni: 77, replication: "underlay", sourceFilter: { mode: "exclude", sources: [] } },
    ] }]);
    a.dev.inject([toGroup(a, "224.1.2.100", "fanout test")]);
    await settled();
    expect(u.sent.length).toBe(2);
    for (const f of u.sent) expectGroupCopy(f, "ff04::e001:264");
    expect(u.sent.map(replicationOf)).toEqual(["external", "underlay"]);
    // the copies differ in the Multicast option's replication bits only (byte 74: its body)
    const diff = [...u.sent[0]].flatMap((b, i) => (b === u.sent[1][i] ? [] : [i]));
    expect(diff).toEqual([74]);
    expect(a.dev.delivered.length).toBe(0);
    expect(sled.multicastCounters).toMatchObject({ txExternal: 1, txUnderlay: 1, txLocal: 0 });
  });

  it("test_multicast_tx_forwarding_sender_only_subscribed: sends to the underlay when only the sender has joined, and to no other port", async () => {
    const { sled, u, guests: [a, b, c] } = await oneSled(3);
    await sled.setM2p({ group: "224.1.2.3", underlay: "ff04::e001:203" });
    await sled.setForwarding(forwarding("ff04::e001:203", [{ nextHop: SWITCH, replication: "external" }]));
    await sled.joinGroup(a.name, { group: "224.1.2.3", mode: "exclude", sources: [] });
    expect(sled.subscriptions()).toEqual([{ group: "224.1.2.3", underlay: "ff04::e001:203", members: [{ port: "web-1", mode: "exclude", sources: [] }] }]);
    a.dev.inject([toGroup(a, "224.1.2.3", "forwarding test")]);
    await settled();
    expect(b.dev.delivered.length + c.dev.delivered.length).toBe(0);
    expect(u.sent.length).toBe(1);
    expectGroupCopy(u.sent[0], "ff04::e001:203");
    expect(replicationOf(u.sent[0])).toBe("external");
  });

  it("test_multicast_tx_same_sled_only: delivers to the other local members and sends nothing to the underlay without a forwarding entry", async () => {
    const { sled, u, guests } = await oneSled(3);
    const [a, b, c] = guests;
    await sled.setM2p({ group: "224.1.2.7", underlay: "ff04::e001:207" });
    for (const g of guests) await sled.joinGroup(g.name, { group: "224.1.2.7", mode: "exclude", sources: [] });
    expect(sled.listForwarding()).toEqual([]);
    a.dev.inject([toGroup(a, "224.1.2.7", "tx same-sled only")]);
    await settled();
    expect(b.dev.delivered.map(srcOf)).toEqual(["172.30.0.1"]);
    expect(c.dev.delivered.map(srcOf)).toEqual(["172.30.0.1"]);
    expect(a.dev.delivered.length).toBe(0);
    expect(u.sent.length).toBe(0);
    expect(sled.multicastCounters).toMatchObject({ txLocal: 2, noForwarding: 1, txUnderlay: 0, txExternal: 0 });
  });

  /** Nobody joined; a sends once: one copy with `replication`, and the leaf check when it comes back from the underlay. */
  async function noLocalMember(replication: "underlay" | "external", group: string, underlay: string) {
    const { sled, u, guests: [a, b] } = await oneSled(2);
    await sled.setM2p({ group, underlay });
    await sled.setForwarding(forwarding(underlay, [{ nextHop: SWITCH, replication }]));
    expect(sled.subscriptions()).toEqual([]);
    a.dev.inject([toGroup(a, group)]);
    await settled();
    expect(u.sent.length).toBe(1);
    expectGroupCopy(u.sent[0], underlay);
    expect(replicationOf(u.sent[0])).toBe(replication);
    expect(b.dev.delivered.length).toBe(0);
    // the copy coming back from the underlay (another sled's, say): a leaf delivers, never relays
    u.inject([u.sent[0]]);
    await settled();
    expect(u.sent.length).toBe(1);
    expect(sled.underlayDrops.noMembers).toBe(1);
  }

  it("test_multicast_underlay_replication_no_local_subscribers: with Underlay replication and no local member: one copy out, nothing to local ports, nothing relayed back", async () => {
    await noLocalMember("underlay", "224.1.2.4", "ff04::e001:204");
  });

  it("test_multicast_external_replication_no_local_subscribers: with External replication and no local member: one copy out, nothing to local ports, nothing relayed back", async () => {
    await noLocalMember("external", "224.1.2.8", "ff04::e001:208");
  });

  it("test_multicast_both_replication: with Both replication: one copy marked Both, and every other local member", async () => {
    const { sled, u, guests } = await oneSled(3);
    const [a, b, c] = guests;
    await sled.setM2p({ group: "224.1.2.5", underlay: "ff04::e001:205" });
    await sled.setForwarding(forwarding("ff04::e001:205", [{ nextHop: SWITCH, replication: "both" }]));
    for (const g of guests) await sled.joinGroup(g.name, { group: "224.1.2.5", mode: "exclude", sources: [] });
    a.dev.inject([toGroup(a, "224.1.2.5", "all replication test")]);
    await settled();
    expect(b.dev.delivered.length).toBe(1);
    expect(c.dev.delivered.length).toBe(1);
    expect(u.sent.length).toBe(1);
    expectGroupCopy(u.sent[0], "ff04::e001:205");
    expect(replicationOf(u.sent[0])).toBe("both");
    expect(sled.multicastCounters).toMatchObject({ txUnderlay: 1, txExternal: 1, txLocal: 2 });
    const metrics = await sledMetrics(sled).registry.metrics();
    for (const [to, n] of [["local", 2], ["underlay", 1], ["external", 1], ["received", 0]]) expect(metrics).toContain(`wopte_sled_multicast_copies_total{to="${to}"} ${n}\n`);
  });

  it("test_multicast_sender_self_exclusion: never hands a sender its own frame, though it has joined the group", async () => {
    const { sled, guests } = await oneSled(3);
    const [a, b, c] = guests;
    await sled.setM2p({ group: "224.1.2.9", underlay: "ff04::e001:209" });
    for (const g of guests) await sled.joinGroup(g.name, { group: "224.1.2.9", mode: "exclude", sources: [] });
    expect(sled.subscriptions()[0].members.map((m) => m.port)).toEqual(["web-1", "web-2", "web-3"]);
    a.dev.inject([toGroup(a, "224.1.2.9", "sender exclusion test")]);
    await settled();
    expect(b.dev.delivered.length).toBe(1);
    expect(c.dev.delivered.length).toBe(1);
    expect(a.dev.delivered.length).toBe(0);
  });

  it("test_partial_unsubscribe: after one member leaves, the others still get the group and the forwarding entry is as it was", async () => {
    const { sled, u, guests } = await oneSled(3);
    const [a, b, c] = guests;
    await sled.setM2p({ group: "224.1.2.6", underlay: "ff04::e001:206" });
    await sled.setForwarding(forwarding("ff04::e001:206", [{ nextHop: SWITCH, replication: "external" }]));
    for (const g of guests) await sled.joinGroup(g.name, { group: "224.1.2.6", mode: "exclude", sources: [] });
    const table = sled.listForwarding();
    a.dev.inject([toGroup(a, "224.1.2.6", "all three")]);
    await settled();
    expect([b.dev.delivered.length, c.dev.delivered.length]).toEqual([1, 1]);
    expect(await sled.leaveGroup(b.name, "224.1.2.6")).toBe(true);
    expect(sled.subscriptions()[0].members.map((m) => m.port)).toEqual(["web-1", "web-3"]);
    expect(sled.listForwarding()).toEqual(table);
    a.dev.inject([toGroup(a, "224.1.2.6", "only two")]);
    await settled();
    expect([b.dev.delivered.length, c.dev.delivered.length]).toEqual([1, 2]);
    expect(u.sent.length).toBe(2);
  });

  it("test_multicast_config_no_spurious_traffic: sends nothing anywhere for configuration alone", async () => {
    const { sled, u, guests } = await oneSled(2);
    await sled.setM2p({ group: "224.1.2.200", underlay: "ff04::e001:2c8" });
    await sled.setForwarding(forwarding("ff04::e001:2c8", [{ nextHop: SWITCH, replication: "underlay" }]));
    for (const g of guests) await sled.joinGroup(g.name, { group: "224.1.2.200", mode: "exclude", sources: [] });
    await settled();
    expect(u.sent.length).toBe(0);
    expect(guests.map((g) => g.dev.delivered.length)).toEqual([0, 0]);
  });
});

describe("multicast from another sled", () => {
  it("test_xde_multicast_rx_dual_family: reaches a member on the other sled in both families, with the group's MAC, until it leaves", async () => {
    const [s1, s2] = await twoSleds();
    open.push(s1, s2);
    const a = await addGuest(s1, 1), b = await addGuest(s2, 2);
    // 224.0.1.251, not OPTE's 224.0.0.251: 224.0.0.0/24 never leaves the guest's link here (docs/opte-parity.md)
    const v4 = "224.0.1.251", v6 = "ff04::1:3";
    for (const s of [s1, s2]) {
      await s.setM2p({ group: v4, underlay: "ff04::e000:1fb" });
      await s.setM2p({ group: v6, underlay: v6 });
    }
    for (const underlay of ["ff04::e000:1fb", v6]) await s1.setForwarding(forwarding(underlay, [{ nextHop: SWITCH, replication: "underlay" }]));
    await s1.joinGroup(a.name, { group: v4, mode: "exclude", sources: [] });
    await s2.joinGroup(b.name, { group: v4, mode: "exclude", sources: [] });
    a.dev.inject([toGroup(a, v4, "multicast test")]);
    const [got] = await b.dev.waitFor(1);
    expect(hex(got.subarray(0, 6))).toBe("01005e0001fb"); // RFC 1112 §6.4: 01:00:5e + the low 23 bits
    expect([...got.subarray(30, 34)].join(".")).toBe(v4);
    expect(((got[36] << 8) | got[37])).toBe(MCAST_PORT);
    expect(Buffer.from(got.subarray(42)).toString()).toContain("test");
    expect(s2.multicastCounters.rxLocal).toBe(1);

    expect(await s2.leaveGroup(b.name, v4)).toBe(true);
    for (const [s, g] of [[s1, a], [s2, b]] as const) await s.joinGroup(g.name, { group: v6, mode: "exclude", sources: [] });
    a.dev.inject([toGroup(a, v4, "after leaving"), toGroup(a, v6, "multicast test v6")]);
    await b.dev.waitFor(2);
    await until(() => s2.underlayDrops.noMembers === 1, "the IPv4 copy dropped on sled-2 for want of members");
    expect(b.dev.delivered.length).toBe(2);
    const v6got = b.dev.delivered[1];
    expect(hex(v6got.subarray(0, 6))).toBe("333300010003"); // RFC 2464 §7: 33:33 + the last 32 bits
  });
});
