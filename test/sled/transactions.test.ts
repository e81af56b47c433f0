// Changes to a sled host are transactions: validated whole, applied to the
// engine, then committed; when the engine refuses any step, nothing changed
// (no leaked engine port, no half-installed mapping, the old layers still in
// force, the same generation); concurrent changes run one after another.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { SledHost } from "../../hosts/sled/sled.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { EngineError } from "../../hosts/engine/engine.js";
import { MemoryUnderlay } from "../helpers/memory-underlay.js";
import { examplePortJson, PortJson } from "../helpers/example-port.js";

function portJson(n: number): PortJson {
  const c = examplePortJson();
  c.name = `web-${n}`;
  c.guest = { mac: `a8:40:25:f0:00:${String(n).padStart(2, "0")}`, ipv4: `172.30.0.${n}`, ipv6: `fd00:1024::${n}` };
  return c;
}

/** Everything of a port the engine and the host hold, for before/after comparisons. */
function observe(h: SledHost) {
  return {
    generation: h.generation,
    ports: h.summary().map(({ flows: _f, ...p }) => p),
    configs: [...h.ports.values()].map((p) => ({ name: p.name, json: p.json })),
    layers: [...h.ports.keys()].map((n) => h.layers(n).map((l) => ({ name: l.name, rules: l.rules.map((r) => r.id) }))),
    nat: [...h.ports.keys()].map((n) => h.stats(n).nat.map(({ pool, ip, firstPort, lastPort, size }) => ({ pool, ip, firstPort, lastPort, size }))),
    v2p: h.listV2p(), m2p: h.listM2p(),
    maps: h.engine.mapEntries().map(({ hits: _h, ...m }) => m),
  };
}

/** Make the engine refuse the `nth` call of `method` from now on (once). */
function refuseOnce(h: SledHost, method: "replaceLayer" | "editLayer" | "loadProgram" | "mapSet" | "setNatPool" | "setMeter", nth = 1): void {
  const e = h.engine as unknown as Record<string, (...a: unknown[]) => unknown>;
  const real = e[method].bind(h.engine);
  let calls = 0;
  e[method] = (...args: unknown[]) => {
    if (++calls === nth) { e[method] = real; throw new EngineError(method, 48); }
    return real(...args);
  };
}

describe("sled changes are transactions", () => {
  let h: SledHost;
  beforeEach(async () => { h = await SledHost.create({ name: "sled", underlay: new MemoryUnderlay(), underlayAddress: "fd00:1122:3344:101::1" }); });
  afterEach(async () => { await h.close(); });

  it("a port config too deep to copy is refused before the engine sees it: no leaked port, the next port gets id 0", async () => {
    const c = portJson(5);
    let deep: Record<string, unknown> = {};
    c.extra = deep;
    for (let i = 0; i < 20_000; i++) { const next = {}; deep.x = next; deep = next; }
    await expect(h.addPort(c, new MemoryDevice("a"))).rejects.toThrow();
    expect(h.engine.portExists(0)).toBe(false);
    expect(h.generation).toBe(0);
    expect((await h.addPort(portJson(6), new MemoryDevice("b"))).id).toBe(0);
    expect(h.generation).toBe(1);
  });

  for (const [step, nth] of [["loadProgram", 1], ["mapSet", 2], ["setMeter", 5]] as const) {
    it(`a new port whose ${step} the engine refuses leaves no engine port and no mapping behind`, async () => {
      await h.addPort(portJson(5), new MemoryDevice("a"));
      const before = observe(h);
      refuseOnce(h, step, nth);
      const c = portJson(6);
      c.v2p = [{ ip: "172.30.0.9", mac: "a8:40:25:f0:00:09", underlay: "fd00:1122:3344:109::1" }, ...c.v2p];
      await expect(h.addPort(c, new MemoryDevice("b"))).rejects.toThrow(EngineError);
      expect(h.engine.portExists(1)).toBe(false);
      expect(observe(h)).toEqual(before);
      await h.addPort(c, new MemoryDevice("b")); // and the same change goes through once the engine takes it
      expect(h.generation).toBe(before.generation + 1);
    });
  }

  // the update edits three layers in place (rules added) and replaces one: refusing the second edit undoes the first and the replacement
  for (const [step, nth] of [["replaceLayer", 1], ["editLayer", 2], ["mapSet", 1], ["setNatPool", 1], ["setMeter", 3]] as const) {
    it(`a port update whose ${step} the engine refuses leaves the port as it was`, async () => {
      await h.addPort(portJson(5), new MemoryDevice("a"));
      const before = observe(h);
      refuseOnce(h, step, nth);
      await expect(h.updatePort("web-5", (j) => {
        j.firewall = [...(j.firewall ?? []), { name: "ssh", direction: "in", action: "allow", protocols: ["tcp"], ports: [22] }];
        j.routes = [...(j.routes ?? []), { dest: "192.0.2.0/24", target: { type: "drop" } }];
        j.externalIps = { snat: { ip: "198.51.100.11", firstPort: 1024, lastPort: 2047 }, floating: [] };
        j.v2p = [...(j.v2p ?? []), { ip: "172.30.0.8", mac: "a8:40:25:f0:00:08", underlay: "fd00:1122:3344:108::1" }];
        j.bandwidth = { outMbps: 100 };
      })).rejects.toThrow(EngineError);
      expect(observe(h)).toEqual(before);
    });
  }

  it("removing a V2P mapping that is not there, or an M2P mapping, changes nothing and keeps the generation", async () => {
    await h.addPort(portJson(5), new MemoryDevice("a"));
    const before = observe(h);
    await expect(h.removeV2p(1024, "172.30.0.99")).rejects.toThrow(/no V2P mapping/);
    await expect(h.removeV2p(1024, "notanip")).rejects.toThrow(/no V2P mapping/);
    await expect(h.removeM2p("239.9.9.9")).rejects.toThrow(/no M2P mapping/);
    expect(observe(h)).toEqual(before);
  });

  it("concurrent changes serialize: every one of 30 concurrent rule adds and group joins lands, one generation each", async () => {
    await h.addPort(portJson(5), new MemoryDevice("a"));
    const g0 = h.generation;
    await Promise.all(Array.from({ length: 15 }, (_, i) => [
      h.updatePort("web-5", (j) => { j.firewall = [...(j.firewall ?? []), { name: `r${i}`, direction: "in", action: "allow", protocols: ["tcp"], ports: [1000 + i] }]; }),
      h.updatePort("web-5", (j) => { j.multicast = [...(j.multicast ?? []), { group: `239.1.1.${i + 1}`, mode: "exclude", sources: [] }]; }),
    ]).flat());
    const cfg = h.port("web-5").compiled.config;
    for (let i = 0; i < 15; i++) {
      expect(cfg.firewall.some((r) => r.name === `r${i}`)).toBe(true);
      expect(cfg.multicast.some((g) => g.group === `239.1.1.${i + 1}`)).toBe(true);
    }
    expect(h.generation).toBe(g0 + 30);
  });

  it("a removed port's device is closed and its engine port freed only once the removal is committed", async () => {
    const dev = new MemoryDevice("a");
    let closed = false;
    dev.close = () => { closed = true; };
    await h.addPort(portJson(5), dev);
    await h.removePort("web-5");
    expect(closed).toBe(true);
    expect(h.engine.portExists(0)).toBe(false);
    await expect(h.removePort("web-5")).rejects.toThrow(/no port named/);
  });
});
