// A gateway's NAT mappings and advertised ranges outlive the host: a new
// gateway on the same state directory serves exactly what the API last
// acknowledged, at the same generation; the config file only adds what the
// ledger never took in; and a change whose ledger cannot be written is
// answered 503 with nothing changed.
import { describe, it, expect } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { GatewayHost } from "../../hosts/gateway/gateway.js";
import { GatewayApi } from "../../hosts/gateway/api.js";
import { GatewayConfigSchema } from "../../hosts/gateway/config.js";
import { startGateway } from "../../hosts/gateway/startup.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { MemoryUnderlay } from "../helpers/memory-underlay.js";
import { listenTcp } from "../helpers/api.js";

const NAT = { ip: "198.51.100.10", firstPort: 16384, lastPort: 32767, sled: "fd00:1122:3344:101::1", vni: 1024, mac: "a8:40:25:f0:00:05" };

async function boot(dir: string, o: { nat?: unknown[]; ownedPrefixes?: string[] } = {}) {
  const config = GatewayConfigSchema.parse({
    name: "gw", underlay: { address: "fd00:1122:3344:1::1" }, nat: o.nat ?? [NAT],
    external: { device: { type: "memory" }, mac: "02:00:5e:00:53:01", nextHopMac: "02:00:5e:00:53:fe", ipv4: "198.51.100.1", ownedPrefixes: o.ownedPrefixes ?? ["198.51.100.0/24"] },
  });
  const gw = await GatewayHost.create({
    name: "gw", underlay: new MemoryUnderlay(), underlayAddress: "fd00:1122:3344:1::1", underlayMac: "02:08:20:bb:00:01", underlayNextHopMac: "02:08:20:ff:ff:01",
    external: new MemoryDevice("ext0"),
    boundary: { externalMac: config.external.mac, nextHopMac: config.external.nextHopMac, ownedPrefixes: config.external.ownedPrefixes, externalIpv4: "198.51.100.1" },
  });
  const started = await startGateway({ gw, config, configPath: "gateway.json", stateDir: dir });
  return { gw, close: async () => { await gw.close(); started.ledger?.unlock(); } };
}

const view = (gw: GatewayHost) => ({ generation: gw.generation, nat: gw.listNat(), advertised: gw.ownedPrefixes, maps: gw.engine.mapEntries().map(({ hits: _h, ...m }) => m) });

describe("gateway ledger", () => {
  it("comes back to the acknowledged mappings and ranges; the config adds only what the ledger never took in", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wopte-gw-ledger-"));
    const a = await boot(dir);
    await a.gw.addNat({ ...NAT, ip: "198.51.100.20", firstPort: 0, lastPort: 4095, vni: 1025 });
    await a.gw.removeNat(NAT.ip, NAT.firstPort);
    await a.gw.setOwnedPrefixes(["198.51.100.0/24", "203.0.113.0/24"]);
    const before = view(a.gw);
    expect(before.generation).toBe(4);
    await a.close();

    const b = await boot(dir);
    expect(view(b.gw)).toEqual(before);
    await b.close();

    // a mapping new in the config is added; the ranges the API set stay, whatever the config now says
    const c = await boot(dir, { nat: [NAT, { ...NAT, ip: "198.51.100.30" }], ownedPrefixes: ["192.0.2.0/24"] });
    expect(c.gw.listNat().map((m) => m.ip).sort()).toEqual(["198.51.100.20", "198.51.100.30"]);
    expect(c.gw.ownedPrefixes).toEqual(["198.51.100.0/24", "203.0.113.0/24"]);
    expect(c.gw.generation).toBe(5);
    await c.close();
  });

  it("a change whose ledger cannot be written is a 503 and changes nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wopte-gw-ledger-"));
    const a = await boot(dir);
    const api = new GatewayApi(a.gw);
    const t = await listenTcp(api);
    const before = view(a.gw);
    rmSync(dir, { recursive: true });
    const r = await t.fetch(`${t.base}/nat/198.51.100.40/0/99`, { method: "PUT", body: JSON.stringify({ sled: NAT.sled, vni: 7, mac: NAT.mac }) });
    expect(r.status).toBe(503);
    expect((await r.json()).error).toMatch(/the change was undone: its ledger could not be written/);
    expect(view(a.gw)).toEqual(before);
    await api.close();
    await a.close();
  });
});
