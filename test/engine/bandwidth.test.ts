// Bandwidth enforcement with token buckets: a guest limited to 10 Mbit/s
// gets 10 Mbit/s ± 5 % of a bulk transfer; a flow class limits only the
// flows a rule puts in it.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { Engine } from "../../hosts/engine/engine.js";
import { Dir, Verdict } from "../../hosts/engine/batch.js";
import { compilePort } from "../../layers/vpc/compile.js";
import { applyPort } from "../../hosts/engine/apply-port.js";
import { encodeLayer, LayerDef } from "../../layers/program/encode.js";
import { ipFrame, udp } from "../helpers/frames.js";

const cfg = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));
const G = "a8:40:25:f0:00:05", GW = "a8:40:25:ff:77:77";
const frame = (dport: number) => ipFrame(GW, G, "172.30.0.5", "172.30.0.6", 17, udp("172.30.0.5", "172.30.0.6", 5000, dport, new Uint8Array(1000 - 42)));

/** Offer `rateBps` for `seconds` of host clock (from `startMs`) in 1000-byte frames; returns bits that passed per second. */
function offer(e: Engine, dport: number, rateBps: number, seconds: number, startMs = 10_000): number {
  const b = e.newBatch(64);
  const f = frame(dport);
  const perMs = rateBps / 8 / 1000 / f.length;
  let sent = 0, passed = 0, t = 0;
  for (let ms = 0; ms < seconds * 1000; ms++) {
    const due = Math.floor((ms + 1) * perMs) - sent;
    for (let i = 0; i < due; i++) b.set(i, f, 0, Dir.Out);
    b.run(due, startMs + ms);
    for (let i = 0; i < due; i++) if (b.verdict(i) === Verdict.Pass) passed++;
    sent += due;
    t = ms;
  }
  void t;
  return (passed * f.length * 8) / seconds;
}

describe("bandwidth limits", () => {
  it("holds a port to 10 Mbit/s ± 5 % under a 25 Mbit/s offer, counting the excess", async () => {
    const e = await Engine.load();
    applyPort(e, 0, compilePort(cfg));
    e.setMeter(0, 0, "out", 10e6, 15_000, 10_000);
    const got = offer(e, 53, 25e6, 2);
    expect(Math.abs(got - 10e6) / 10e6).toBeLessThan(0.05);
    expect(e.counters(0).drops.RateLimited).toBeGreaterThan(0);
  });

  it("limits only the flows a rule puts in a class", async () => {
    const e = await Engine.load();
    const compiled = compilePort(cfg);
    applyPort(e, 0, compiled);
    // a classifier layer: UDP to port 5001 is class 1
    const fw = compiled.layers.find((l) => l.name === "firewall")!;
    const classified: LayerDef = { ...fw, rules: [...fw.rules, { id: 900, dir: "out", priority: 1, predicates: [{ field: "proto", values: [17] }, { field: "dstPort", values: [5001] }], action: { kind: "modify", set: [{ op: "meter", class: 1 }] } }] };
    e.replaceLayer(0, encodeLayer(classified));
    e.setMeter(0, 1, "out", 2e6, 4_000, 10_000);
    const limited = offer(e, 5001, 8e6, 1);
    const free = offer(e, 5002, 8e6, 1);
    expect(Math.abs(limited - 2e6) / 2e6).toBeLessThan(0.05);
    expect(free).toBeGreaterThan(7.9e6);
  });
});

describe("bandwidth in the VPC config", () => {
  it("compiles port limits and flow classes into meters and a classifier layer", async () => {
    const c = structuredClone(cfg);
    c.bandwidth = { outMbps: 10, classes: [{ name: "bulk", protocols: ["udp"], ports: [5001], outMbps: 2 }] };
    const compiled = compilePort(c);
    expect(compiled.layers.map((l) => l.name)).toEqual(["gateway", "firewall", "router", "nat", "overlay", "bandwidth"]);
    expect(compiled.meters).toEqual([
      { meter: 0, dir: "out", bitsPerSec: 10e6, burstBytes: 375_000 },  // 300 ms of the rate
      { meter: 1, dir: "out", bitsPerSec: 2e6, burstBytes: 75_000 },
    ]);
    const e = await Engine.load();
    applyPort(e, 0, compiled);
    offer(e, 5001, 8e6, 1);                         // the bucket's initial burst goes first
    const limited = offer(e, 5001, 8e6, 1, 11_000);
    expect(Math.abs(limited - 2e6) / 2e6).toBeLessThan(0.05);
  });
});
