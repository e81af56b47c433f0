// OPTE's multicast control-plane validation (xde-tests multicast_validation.rs
// and the scope checks of multicast_rx.rs) against the sled's HTTP API:
// underlay groups only in ff04::/16; joining needs an M2P mapping unless the
// group is an underlay group itself; unicast groups, missing ports, foreign
// VNIs and multicast next hops refused with a 4xx that says why; joining
// twice, leaving a group never joined, clearing twice all succeed; next hops
// accumulate per underlay group; clearing an entry stops underlay egress.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import type { SledHost } from "../../hosts/sled/sled.js";
import { SledApi } from "../../hosts/sled/api.js";
import type { MemoryUnderlay } from "../helpers/memory-underlay.js";
import { listenTcp, TestApi } from "../helpers/api.js";
import { memorySled, toGroup, settled, drops, Guest } from "../helpers/mcast-sled.js";

const SWITCH_A = "fd00:1122:3344:1::7", SWITCH_B = "fd00:1122:3344:2::7";

describe("multicast requests to the sled API", () => {
  let sled: SledHost, u: MemoryUnderlay, a: Guest, b: Guest, api: SledApi, t: TestApi;
  /** An answer's status and body (changes carry the host's generation too: left out, so bodies compare as the route wrote them). */
  const req = async (method: string, path: string, body?: unknown) => {
    const r = await t.fetch(t.base + path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = await r.json();
    if (json && typeof json === "object" && !Array.isArray(json)) delete json.generation;
    return { status: r.status, body: json };
  };
  const join = (port: string, group: string, filter: object = {}) => req("POST", `/ports/${port}/multicast`, { group, ...filter });
  const members = async (group: string) =>
    ((await req("GET", "/mcast/subscriptions")).body as { group: string; members: { port: string }[] }[]).find((e) => e.group === group)?.members.map((m) => m.port);
  const hop = (nextHop: string, replication: string, vni?: number) => ({ nextHop, replication, ...(vni === undefined ? {} : { vni }) });

  beforeEach(async () => {
    ({ sled, u, guests: [a, b] } = await memorySled(2));
    api = new SledApi({ host: sled });
    t = await listenTcp(api);
  });
  afterEach(async () => { await api.close(); await sled.close(); });

  it("test_reject_link_local_underlay_ff02: refuses a link-local (ff02::) underlay group", async () => {
    const r = await req("PUT", "/m2p", { group: "224.1.2.99", underlay: "ff02::e001:263" });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/underlay: expected an underlay group in ff04::\/16/);
  });

  it("test_reject_global_underlay_ff0e: refuses a global (ff0e::) underlay group", async () => {
    expect((await req("PUT", "/m2p", { group: "224.1.2.99", underlay: "ff0e::e001:263" })).status).toBe(400);
    expect((await req("GET", "/m2p")).body).toEqual([]);
  });

  it("test_accept_admin_local_underlay_ff04: takes an admin-local (ff04::/16) underlay group", async () => {
    expect((await req("PUT", "/m2p", { group: "224.1.2.99", underlay: "ff04::e001:263" })).status).toBe(200);
    expect((await req("GET", "/m2p")).body).toEqual([{ group: "224.1.2.99", underlay: "ff04::e001:263" }]);
  });

  it("test_subscribe_without_m2p_mapping: refuses to join a group without an M2P mapping", async () => {
    const r = await join("web-1", "224.1.2.99");
    expect(r.status).toBe(409);
    expect(r.body.error).toMatch(/no M2P mapping for 224\.1\.2\.99/);
    expect(sled.port("web-1").compiled.config.multicast).toEqual([]);
  });

  it("test_subscribe_ff04_direct_without_m2p: joins an ff04::/16 underlay group itself without an M2P mapping", async () => {
    expect((await join("web-1", "ff04::e001:263")).status).toBe(200);
    expect((await req("GET", "/mcast/subscriptions")).body).toEqual([
      { group: "ff04::e001:263", underlay: "ff04::e001:263", members: [{ port: "web-1", mode: "exclude", sources: [] }] }]);
  });

  it("test_subscribe_nonexistent_port: answers 404 for a port that does not exist", async () => {
    await req("PUT", "/m2p", { group: "224.1.2.100", underlay: "ff04::e001:264" });
    const r = await join("this_port_does_not_exist_anywhere", "224.1.2.100");
    expect(r.status).toBe(404);
    expect(r.body.error).toMatch(/no port named this_port_does_not_exist_anywhere/);
  });

  it("test_subscribe_unicast_ip_as_group: refuses a unicast address as a group", async () => {
    const r = await join("web-1", "172.30.0.1");
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/not a multicast address/);
  });

  it("test_double_subscribe: takes the same join twice, and delivers once", async () => {
    await req("PUT", "/m2p", { group: "224.1.2.101", underlay: "ff04::e001:265" });
    await req("PUT", "/mcast/forwarding", { underlay: "ff04::e001:265", nextHops: [hop(SWITCH_A, "external")] });
    expect((await join("web-2", "224.1.2.101")).status).toBe(200);
    expect((await join("web-2", "224.1.2.101")).status).toBe(200);
    expect(await members("224.1.2.101")).toEqual(["web-2"]);
    a.dev.inject([toGroup(a, "224.1.2.101", "test")]);
    await settled();
    expect(b.dev.delivered.length).toBe(1);
  });

  it("test_unsubscribe_never_subscribed: leaves a group never joined without an error", async () => {
    const r = await req("DELETE", "/ports/web-1/multicast/224.1.2.102");
    expect(r).toEqual({ status: 200, body: { left: "224.1.2.102", wasMember: false } });
  });

  it("test_subscribe_then_clear_m2p: stops local delivery and underlay egress once the group's M2P mapping is gone", async () => {
    await req("PUT", "/m2p", { group: "224.1.2.103", underlay: "ff04::e001:267" });
    await req("PUT", "/mcast/forwarding", { underlay: "ff04::e001:267", nextHops: [hop(SWITCH_A, "external")] });
    expect((await join("web-2", "224.1.2.103")).status).toBe(200);
    expect((await req("DELETE", "/m2p/224.1.2.103")).status).toBe(200);
    a.dev.inject([toGroup(a, "224.1.2.103", "test")]);
    await settled();
    expect(b.dev.delivered.length).toBe(0);
    expect(u.sent.length).toBe(0);
    expect(drops(sled, "web-1", "NoMulticastTarget")).toBe(1); // the sender's overlay has nowhere to send it
  });

  it("test_set_mcast_fwd_rejects_non_default_vni: refuses a forwarding next hop on any VNI but 77", async () => {
    await req("PUT", "/m2p", { group: "224.1.2.200", underlay: "ff04::e001:2c8" });
    const r = await req("PUT", "/mcast/forwarding", { underlay: "ff04::e001:2c8", nextHops: [hop(SWITCH_A, "external", 78)] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/nextHops\.0\.vni: multicast travels on the fleet-wide VNI 77/);
    expect((await req("GET", "/mcast/forwarding")).body).toEqual([]);
  });

  it("test_set_mcast_fwd_rejects_multicast_next_hop: refuses a multicast address as a next hop", async () => {
    const r = await req("PUT", "/mcast/forwarding", { underlay: "ff04::e001:2c9", nextHops: [hop("ff04::1", "external")] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/nextHops\.0\.nextHop: ff04::1 is a multicast address/);
  });

  it("test_unsubscribe_ipv6_non_underlay_scopes: leaves link-local and global IPv6 groups it never joined without an error", async () => {
    for (const g of ["ff02::1:3", "ff0e::1:3"]) {
      expect(await req("DELETE", `/ports/web-1/multicast/${g}`)).toEqual({ status: 200, body: { left: g, wasMember: false } });
    }
  });

  it("test_multiple_nexthops_accumulate: adds next hops to an underlay group's entry, and replaces one named again", async () => {
    const entry = () => req("GET", "/mcast/forwarding").then((r) => r.body[0].nextHops.map((h: { nextHop: string; replication: string }) => [h.nextHop, h.replication]));
    await req("PUT", "/mcast/forwarding", { underlay: "ff04::e001:268", nextHops: [hop(SWITCH_A, "external")] });
    expect(await entry()).toEqual([[SWITCH_A, "external"]]);
    await req("PUT", "/mcast/forwarding", { underlay: "ff04::e001:268", nextHops: [hop(SWITCH_B, "underlay")] });
    expect(await entry()).toEqual([[SWITCH_A, "external"], [SWITCH_B, "underlay"]]);
    await req("PUT", "/mcast/forwarding", { underlay: "ff04::e001:268", nextHops: [hop(SWITCH_A, "both")] });
    expect(await entry()).toEqual([[SWITCH_A, "both"], [SWITCH_B, "underlay"]]);
  });

  it("test_unsubscribe_all: takes every port out of a group at once, and again without an error", async () => {
    await req("PUT", "/m2p", { group: "224.1.2.105", underlay: "ff04::e001:269" });
    await join("web-1", "224.1.2.105");
    await join("web-2", "224.1.2.105");
    expect(await members("224.1.2.105")).toEqual(["web-1", "web-2"]);
    expect((await req("DELETE", "/mcast/subscriptions/224.1.2.105")).body).toEqual({ group: "224.1.2.105", left: ["web-1", "web-2"] });
    expect(await members("224.1.2.105")).toBeUndefined();
    expect(await req("DELETE", "/mcast/subscriptions/224.1.2.105")).toEqual({ status: 200, body: { group: "224.1.2.105", left: [] } });
  });

  it("test_unsubscribe_all_without_m2p: takes every port out of a group without an M2P mapping without an error", async () => {
    expect(await req("DELETE", "/mcast/subscriptions/224.1.2.106")).toEqual({ status: 200, body: { group: "224.1.2.106", left: [] } });
    expect((await req("DELETE", "/mcast/subscriptions/172.30.0.9")).status).toBe(400);
  });

  it("test_clear_forwarding_stops_underlay_egress: stops underlay egress when the forwarding entry is cleared, and clears again without an error", async () => {
    await req("PUT", "/m2p", { group: "224.1.2.210", underlay: "ff04::e001:2d2" });
    await req("PUT", "/mcast/forwarding", { underlay: "ff04::e001:2d2", nextHops: [hop(SWITCH_A, "underlay")] });
    await join("web-1", "224.1.2.210");
    a.dev.inject([toGroup(a, "224.1.2.210", "first")]);
    await settled();
    expect(u.sent.length).toBe(1);
    expect((await req("DELETE", "/mcast/forwarding/ff04::e001:2d2")).body).toEqual({ cleared: "ff04::e001:2d2", existed: true });
    expect((await req("GET", "/mcast/forwarding")).body).toEqual([]);
    a.dev.inject([toGroup(a, "224.1.2.210", "second")]);
    await settled();
    expect(u.sent.length).toBe(1);
    expect((await req("DELETE", "/mcast/forwarding/ff04::e001:2d2")).body).toEqual({ cleared: "ff04::e001:2d2", existed: false });
    expect((await req("DELETE", "/mcast/forwarding/ff05::1")).status).toBe(400);
  });

  it("test_multiple_simultaneous_groups: keeps two groups apart: each reaches only its own members", async () => {
    await req("PUT", "/m2p", { group: "224.1.2.10", underlay: "ff04::e001:20a" });
    await req("PUT", "/m2p", { group: "224.1.2.11", underlay: "ff04::e001:20b" });
    await join("web-1", "224.1.2.10");
    await join("web-2", "224.1.2.11");
    expect([await members("224.1.2.10"), await members("224.1.2.11")]).toEqual([["web-1"], ["web-2"]]);
    for (const underlay of ["ff04::e001:20a", "ff04::e001:20b"]) await req("PUT", "/mcast/forwarding", { underlay, nextHops: [hop(SWITCH_A, "underlay")] });
    a.dev.inject([toGroup(a, "224.1.2.10", "group A packet")]);
    await settled();
    expect(b.dev.delivered.length).toBe(0);
    a.dev.inject([toGroup(a, "224.1.2.11", "group B packet")]);
    await settled();
    expect(b.dev.delivered.length).toBe(1);
    expect([...b.dev.delivered[0].subarray(30, 34)].join(".")).toBe("224.1.2.11");
  });
});
