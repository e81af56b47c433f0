// Gateway changes are transactions: a NAT mapping the engine cannot take is
// refused before it is stored (VNI 2^30, -5, 1.5, MAC "zz"), and when the
// engine refuses the reload of a valid one, the old mappings are put back
// and still served; later changes work; concurrent changes serialize.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { GatewayHost } from "../../hosts/gateway/gateway.js";
import { GatewayApi } from "../../hosts/gateway/api.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { EngineError } from "../../hosts/engine/engine.js";
import { MemoryUnderlay } from "../helpers/memory-underlay.js";
import { listenTcp, TestApi } from "../helpers/api.js";

const SLED = "fd00:1122:3344:101::1";
const mapping = (ip: string, firstPort = 0, lastPort = 65535) => ({ ip, firstPort, lastPort, sled: SLED, vni: 1024, mac: "a8:40:25:f0:00:05" });

describe("gateway changes are transactions", () => {
  let gw: GatewayHost, api: GatewayApi, t: TestApi;
  beforeEach(async () => {
    gw = await GatewayHost.create({
      name: "gw", underlay: new MemoryUnderlay(), underlayAddress: "fd00:1122:3344:1::1", underlayMac: "02:08:20:bb:00:01",
      underlayNextHopMac: "02:08:20:ff:ff:01", external: new MemoryDevice("ext"),
      boundary: { externalMac: "02:00:5e:00:53:01", nextHopMac: "02:00:5e:00:53:fe", ownedPrefixes: ["198.51.100.0/24"], externalIpv4: "198.51.100.1" },
    });
    api = new GatewayApi(gw);
    t = await listenTcp(api);
  });
  afterEach(async () => { await api.close(); await gw.close(); });
  const put = (path: string, body: unknown) => t.fetch(t.base + path, { method: "PUT", body: JSON.stringify(body) });
  const engineMaps = () => gw.engine.mapEntries().map(({ hits: _h, ...m }) => m);

  it("refuses mappings the engine cannot hold before storing them, and later changes still work", async () => {
    expect((await put("/nat/198.51.100.10/0/65535", { sled: SLED, vni: 1024, mac: "a8:40:25:f0:00:05" })).status).toBe(200);
    const before = { list: gw.listNat(), maps: engineMaps(), generation: gw.generation };
    for (const body of [{ vni: 2 ** 30 }, { vni: -5 }, { vni: 1.5 }, { mac: "zz" }, { sled: "10.0.0.1" }]) {
      const r = await put("/nat/198.51.100.11/0/65535", { sled: SLED, vni: 1024, mac: "a8:40:25:f0:00:06", ...body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect((await r.json()).error).toMatch(/vni|mac|sled/);
    }
    for (const path of ["/nat/198.51.100.11/10/5", "/nat/198.51.100.11/0/70000", "/nat/notanip/0/10"]) {
      expect((await put(path, { sled: SLED, vni: 1024, mac: "a8:40:25:f0:00:06" })).status, path).toBe(400);
    }
    expect({ list: gw.listNat(), maps: engineMaps(), generation: gw.generation }).toEqual(before);
    expect((await put("/nat/198.51.100.12/0/65535", { sled: SLED, vni: 1025, mac: "a8:40:25:f0:00:07" })).status).toBe(200);
    expect((await put("/advertised", ["198.51.100.0/24", "203.0.113.0/24"])).status).toBe(200);
    expect(gw.generation).toBe(before.generation + 2);
  });

  it("when the engine refuses the reload, the old mappings stay stored and in force", async () => {
    await gw.addNat(mapping("198.51.100.10"));
    const before = { list: gw.listNat(), maps: engineMaps(), generation: gw.generation };
    const e = gw.engine as unknown as { mapSet: (...a: unknown[]) => unknown };
    const real = e.mapSet.bind(gw.engine);
    e.mapSet = () => { e.mapSet = real; throw new EngineError("mapSet", 35); };
    await expect(gw.addNat(mapping("198.51.100.20"))).rejects.toThrow(EngineError);
    expect({ list: gw.listNat(), maps: engineMaps(), generation: gw.generation }).toEqual(before);
    expect(await gw.addNat(mapping("198.51.100.20"))).toBe(true);
    expect(gw.listNat().map((m) => m.ip)).toEqual(["198.51.100.10", "198.51.100.20"]);
  });

  it("when a prefix listener (BGP) fails, the owned prefixes and the program stay as they were", async () => {
    let fail = true;
    const heard: string[][] = [];
    gw.onOwnedPrefixes((p) => { heard.push(p); if (fail) { fail = false; throw new Error("birdc: configure failed"); } });
    await expect(gw.setOwnedPrefixes(["198.51.100.0/24", "203.0.113.0/24"])).rejects.toThrow(/birdc/);
    expect(gw.ownedPrefixes).toEqual(["198.51.100.0/24"]);
    expect(heard).toEqual([["198.51.100.0/24", "203.0.113.0/24"], ["198.51.100.0/24"]]); // told, then told back
    expect(gw.generation).toBe(0);
  });

  it("concurrent overlapping mappings: exactly one is stored", async () => {
    const r = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => gw.addNat(mapping("198.51.100.30", i * 100, 1000 + i * 100))));
    expect(r.filter((x) => x.status === "fulfilled")).toHaveLength(1);
    expect(gw.listNat()).toHaveLength(1);
    expect(gw.generation).toBe(1);
  });

  it("an identical re-add is a no-op: no new generation", async () => {
    expect(await gw.addNat(mapping("198.51.100.10"))).toBe(true);
    expect(await gw.addNat(mapping("198.51.100.10"))).toBe(false);
    expect(gw.generation).toBe(1);
  });
});
