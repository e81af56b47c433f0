// A firewall rule added to or removed from a running port's policy is an edit
// of the firewall layer in place (engine portEditLayer), not a new layer: the
// engine ends up with exactly the layer the new config compiles to, the new
// rule decides at once, and the rules that stayed keep their hit counts.
import { describe, it, expect, afterEach } from "vitest";
import { SledHost } from "../../hosts/sled/sled.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { encodeLayer } from "../../layers/program/encode.js";
import { MemoryUnderlay } from "../helpers/memory-underlay.js";
import { examplePortJson } from "../helpers/example-port.js";
import { ipFrame, tcp, TCP_FLAGS } from "../helpers/frames.js";

const GW = "a8:40:25:ff:77:77", GUEST = "a8:40:25:f0:00:05";
const syn = (dport: number) => ipFrame(GW, GUEST, "172.30.0.5", "172.30.0.6", 6, tcp("172.30.0.5", "172.30.0.6", 40000 + dport, dport, TCP_FLAGS.SYN));

describe("firewall rule changes on a running port", () => {
  let h: SledHost;
  afterEach(async () => { await h.close(); });

  it("edit the firewall in place: the engine's layer is the new config's, the new rule decides, the others keep their hits", async () => {
    h = await SledHost.create({ name: "sled", underlay: new MemoryUnderlay(), underlayAddress: "fd00:1122:3344:101::1" });
    const c = examplePortJson();
    c.firewall = [...c.firewall, { name: "no-db", direction: "out", action: "deny", priority: 10, protocols: ["tcp"], ports: [5432] }];
    const dev = new MemoryDevice("a");
    await h.addPort(c, dev);
    const e = h.engine;
    const calls: string[] = [];
    for (const m of ["replaceLayer", "editLayer", "loadProgram"] as const) {
      const real = e[m].bind(e) as (...a: unknown[]) => void;
      (e as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => { calls.push(m); real(...a); };
    }
    const firewall = () => h.layers("web-a").find((l) => l.name === "firewall")!;
    const li = () => h.layers("web-a").findIndex((l) => l.name === "firewall");
    const denies = () => e.counters(h.port("web-a").id).drops.LayerDeny ?? 0;

    dev.inject([syn(5432)]);
    h.flush();
    expect(firewall().rules.find((r) => r.name === "no-db")!.hits).toBe(1);
    const before = denies();

    await h.updatePort("web-a", (j) => { j.firewall = [...j.firewall, { name: "no-redis", direction: "out", action: "deny", priority: 10, protocols: ["tcp"], ports: [6379] }]; });
    expect(calls).toEqual(["editLayer"]);
    const compiled = h.port("web-a").compiled;
    const fwDef = compiled.layers.find((l) => l.name === "firewall")!;
    expect(Buffer.from(e.layerBytes(h.port("web-a").id, li())).equals(Buffer.from(encodeLayer(fwDef)))).toBe(true);
    expect(firewall().rules.find((r) => r.name === "no-db")!.hits).toBe(1); // kept: the layer was not replaced
    dev.inject([syn(6379)]);
    h.flush();
    expect(firewall().rules.find((r) => r.name === "no-redis")!.hits).toBe(1);
    expect(denies()).toBe(before + 1);

    calls.length = 0;
    await h.updatePort("web-a", (j) => { j.firewall = j.firewall.filter((r: { name: string }) => r.name !== "no-redis"); });
    expect(calls).toEqual(["editLayer"]);
    expect(Buffer.from(e.layerBytes(h.port("web-a").id, li())).equals(Buffer.from(encodeLayer(h.port("web-a").compiled.layers.find((l) => l.name === "firewall")!)))).toBe(true);
    expect(firewall().rules.find((r) => r.name === "no-db")!.hits).toBe(1);
    dev.inject([syn(6379)]);
    h.flush();
    expect(denies()).toBe(before + 1); // no rule denies it now
  });
});
