// A sled's desired state outlives the host: everything changed through its
// API is in the ledger when the change is acknowledged, and a new host on the
// same state directory comes back to it exactly (engine tables, layers, port
// states, flow logs, the generation). The config file seeds the state: a new
// port in it is added, a port the API removed stays removed, and a port the
// config now describes otherwise keeps the ledger's version (with a warning).
import { describe, it, expect } from "vitest";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { SledHost } from "../../hosts/sled/sled.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { SledConfigSchema } from "../../hosts/sled/config.js";
import { startSled } from "../../hosts/sled/startup.js";
import { sledState } from "../../hosts/sled/desired.js";
import { NotDurable } from "../../hosts/lib/committer.js";
import { MemoryUnderlay } from "../helpers/memory-underlay.js";
import { examplePortJson, PortJson } from "../helpers/example-port.js";
import { recordingLogger } from "../helpers/log-records.js";

function portJson(n: number): PortJson {
  const c = examplePortJson();
  c.name = `web-${n}`;
  c.guest = { mac: `a8:40:25:f0:00:${String(n).padStart(2, "0")}`, ipv4: `172.30.0.${n}`, ipv6: `fd00:1024::${n}` };
  return c;
}

/** A sled started as `wopte sled` starts one: config ports, then the ledger in `dir`. */
async function boot(dir: string, ports: PortJson[], o: { log?: ReturnType<typeof recordingLogger>["log"]; multicast?: unknown } = {}) {
  const config = { ...SledConfigSchema.parse({ name: "sled-a", underlay: { address: "fd00:1122:3344:101::1" },
    ports: ports.map((p) => ({ config: p })), ...(o.multicast ? { multicast: o.multicast } : {}) }), portConfigs: ports };
  const host = await SledHost.create({ name: "sled-a", underlay: new MemoryUnderlay(), underlayAddress: "fd00:1122:3344:101::1" });
  const started = await startSled({ host, config, configPath: "sled.json", stateDir: dir, openDevice: (_s, n) => new MemoryDevice(n), log: o.log });
  return { host, started, close: async () => { await host.close(); started.ledger?.unlock(); } };
}

/** What a client can see of the sled, and what the engine holds. */
function observe(h: SledHost) {
  return {
    generation: h.generation,
    state: sledState(h),
    engineStates: [...h.ports.values()].map((p) => [p.name, h.engine.portState(p.id)]).sort(),
    layers: [...h.ports.keys()].sort().map((n) => h.layers(n).map((l) => ({ name: l.name, rules: l.rules.map((r) => r.name) }))),
    maps: h.engine.mapEntries().map(({ hits: _h, ...m }) => m).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    forwarding: h.listForwarding(),
  };
}

const tmp = () => mkdtempSync(join(tmpdir(), "wopte-sled-ledger-"));

describe("sled ledger", () => {
  it("comes back to every change made through the API, with the same generation", async () => {
    const dir = tmp();
    const a = await boot(dir, [portJson(5)]);
    const h = a.host;
    const flowDir = tmp();
    await h.updatePort("web-5", (j) => { j.firewall = [...j.firewall, { name: "ssh", direction: "in", action: "allow", protocols: ["tcp"], ports: [22] }]; });
    await h.updatePort("web-5", (j) => { j.routes = [{ dest: "192.0.2.0/24", target: { type: "drop" } }]; });
    await h.updatePort("web-5", (j) => { j.bandwidth = { outMbps: 50, classes: [] }; });
    await h.updatePort("web-5", (j) => { j.externalIps = { snat: { ip: "198.51.100.7", firstPort: 1024, lastPort: 2047 }, floating: [] }; });
    await h.setV2p({ vni: 1024, ip: "172.30.0.9", mac: "a8:40:25:f0:00:09", underlay: "fd00:1122:3344:103::1" });
    await h.removeV2p(1024, "172.30.0.6"); // installed by the port's config: stays removed after the restart
    await h.setM2p({ group: "239.1.2.3", underlay: "ff04::1:2:3" });
    await h.joinGroup("web-5", { group: "239.1.2.3", mode: "include", sources: ["172.30.0.6"] });
    await h.setForwarding({ underlay: "ff04::1:2:3", nextHops: [{ nextHop: "fd00:1122:3344:1::9", vni: 77, replication: "both", sourceFilter: { mode: "exclude", sources: [] } }] });
    await h.addPort(portJson(7), new MemoryDevice("web-7"), { spec: { type: "memory" } });
    await h.addPort(portJson(8), new MemoryDevice("web-8"));
    await h.setFlowLog("web-7", join(flowDir, "web-7.log"));
    await h.setPortState("web-7", "paused");
    await h.setPortState("web-8", "reset");
    await h.removePort("web-5");
    await h.addPort(portJson(5), new MemoryDevice("web-5")); // back, without the changes above: it is a new port
    const before = observe(h);
    expect(before.generation).toBeGreaterThan(14);
    await a.close();

    const b = await boot(dir, [portJson(5)]);
    expect(observe(b.host)).toEqual(before);
    expect(b.host.port("web-7").flowLog?.path).toBe(join(flowDir, "web-7.log"));
    // the next change continues the numbering
    await b.host.setV2p({ vni: 1024, ip: "172.30.0.10", mac: "a8:40:25:f0:00:0a", underlay: "fd00:1122:3344:103::1" });
    expect(b.host.generation).toBe(before.generation + 1);
    await b.close();
  });

  it("takes the config file as the seed: new ports are added, ports the API removed or changed keep the ledger's say", async () => {
    const dir = tmp();
    const a = await boot(dir, [portJson(5), portJson(6)]);
    await a.host.removePort("web-6");
    await a.host.updatePort("web-5", (j) => { j.routes = [{ dest: "192.0.2.0/24", target: { type: "drop" } }]; });
    await a.host.removeV2p(1024, "172.30.0.6");
    const gen = a.host.generation;
    await a.close();
    const mid = await boot(dir, [portJson(5), portJson(6)]);
    expect(mid.host.listV2p().map((m) => m.ip)).toEqual(["fd00:1024::6"]);
    expect(mid.host.generation).toBe(gen);
    await mid.close();

    const edited = portJson(5);
    edited.firewall = [];
    const { log, records } = recordingLogger("info");
    const b = await boot(dir, [edited, portJson(6), portJson(7)], { log });
    expect([...b.host.ports.keys()].sort()).toEqual(["web-5", "web-7"]);
    expect(b.host.port("web-5").json.routes).toEqual([{ dest: "192.0.2.0/24", target: { type: "drop" } }]);
    expect(b.host.port("web-5").json.firewall.length).toBeGreaterThan(0);
    expect(records.filter((r) => r.level === 40).map((r) => r.item)).toEqual(["port:web-5"]);
    // the new port's config installs its V2P mappings, the one the API removed among them
    expect(b.host.listV2p().map((m) => m.ip)).toContain("172.30.0.6");
    // the start added web-7: that is a new generation on disk
    expect(b.host.generation).toBe(gen + 1);
    expect(b.started.ledger!.read()!.generation).toBe(gen + 1);
    await b.close();

    // nothing new in the config: the same generation, no write
    const c = await boot(dir, [edited, portJson(6), portJson(7)]);
    expect(c.host.generation).toBe(gen + 1);
    await c.close();
  });

  it("a change whose ledger cannot be written is undone and refused: the client hears NotDurable, the generation stays", async () => {
    const dir = tmp();
    const a = await boot(dir, [portJson(5)]);
    const before = observe(a.host);
    rmSync(dir, { recursive: true });
    await expect(a.host.updatePort("web-5", (j) => { j.firewall = []; })).rejects.toBeInstanceOf(NotDurable);
    await expect(a.host.setV2p({ vni: 1024, ip: "172.30.0.9", mac: "a8:40:25:f0:00:09", underlay: "fd00:1122:3344:103::1" })).rejects.toThrow(/undone/);
    expect(observe(a.host)).toEqual(before);
    await a.close();
  });

  it("with no ledger (stateDir false) a restart comes back to the config alone", async () => {
    const config = { ...SledConfigSchema.parse({ name: "sled-a", underlay: { address: "fd00:1122:3344:101::1" }, ports: [{ config: portJson(5) }] }), portConfigs: [portJson(5)] };
    const host = await SledHost.create({ name: "sled-a", underlay: new MemoryUnderlay() });
    const started = await startSled({ host, config, configPath: "sled.json", stateDir: false, openDevice: (_s, n) => new MemoryDevice(n) });
    expect(started.ledger).toBeUndefined();
    expect(host.listV2p().map((m) => m.ip)).toEqual(["172.30.0.6", "fd00:1024::6"]);
    await host.setV2p({ vni: 1024, ip: "172.30.0.9", mac: "a8:40:25:f0:00:09", underlay: "fd00:1122:3344:103::1" });
    expect(host.generation).toBe(1);
    expect(existsSync(join(process.env.WOPTE_STATE_DIR!, "sled", "sled-a"))).toBe(false);
    await host.close();
  });
});
