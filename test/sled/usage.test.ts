// Usage records: per-interval deltas per port and the interval's top flows.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { SledHost } from "../../hosts/sled/sled.js";
import { UdpUnderlay } from "../../hosts/sled/underlay.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { UsageRecorder, parseDuration, toCsv, PortUsage, FlowUsage } from "../../hosts/sled/usage.js";
import { ipFrame, udp } from "../helpers/frames.js";

const cfg = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));

describe("usage records", () => {
  it("records bytes per interval per port and per flow, and filters by time", async () => {
    const u = await UdpUnderlay.open({ address: "fd00:1122:3344:101::1", bind: { host: "::1", port: 0 }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01" });
    const sled = await SledHost.create({ name: "s", underlay: u });
    const dev = new MemoryDevice("a");
    await sled.addPort(cfg, dev);
    const usage = new UsageRecorder(sled, 60_000);
    const t0 = Date.now();
    usage.sample(t0);
    const f = (dport: number, n: number) => ipFrame("a8:40:25:ff:77:77", "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 17, udp("172.30.0.5", "172.30.0.6", 5000, dport, new Uint8Array(n)));
    dev.inject([f(53, 100), f(53, 100), f(5001, 1000)]);
    sled.flush();
    usage.sample(t0 + 10_000);
    const ports = usage.query({ now: t0 + 10_000 }) as PortUsage[];
    expect(ports).toHaveLength(1);
    expect(ports[0]).toMatchObject({ port: "web-a", seconds: 10, pktsOut: 3, bytesOut: 2 * (42 + 100) + 42 + 1000 });
    const flows = usage.query({ flows: true, now: t0 + 10_000 }) as FlowUsage[];
    expect(flows.map((x) => [x.dport, x.bytesOut])).toEqual([[5001, 1042], [53, 284]]);
    expect(usage.query({ sinceMs: parseDuration("5s"), now: t0 + 20_000 })).toHaveLength(0);
    expect(toCsv(ports).split("\n")[0]).toBe("time,port,seconds,pktsIn,pktsOut,bytesIn,bytesOut,drops");
    usage.close();
    await sled.close();
  });
});
