// Flow logs: a port's flows starting, ending (with counters and duration)
// and being denied, as JSON lines.
import { describe, it, expect } from "vitest";
import { readFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { SledHost } from "../../hosts/sled/sled.js";
import { UdpUnderlay } from "../../hosts/sled/underlay.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { ipFrame, udp, geneve, tcp, TCP_FLAGS } from "../helpers/frames.js";
import { until } from "../helpers/until.js";

const cfg = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));
cfg.ttlMs = { udp: 50 };

describe("flow logs", () => {
  it("records start, end and deny events as JSON lines", async () => {
    let now = 1_000_000;
    const u = await UdpUnderlay.open({ address: "fd00:1122:3344:101::1", bind: { host: "::1", port: 0 }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01" });
    const sled = await SledHost.create({ name: "s", underlay: u, now: () => now, expireIntervalMs: 10 });
    const dev = new MemoryDevice("a");
    await sled.addPort(cfg, dev);
    const path = join(mkdtempSync(join(tmpdir(), "wopte-flowlog-")), "web-a.jsonl");
    await sled.setFlowLog("web-a", path);
    dev.inject([ipFrame("a8:40:25:ff:77:77", "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 17, udp("172.30.0.5", "172.30.0.6", 5000, 53, new Uint8Array(10)))]);
    sled.flush();
    // the flow, with the rule that let it in; the layers with every rule by name, predicates and action
    expect(sled.flows("web-a")).toEqual([expect.objectContaining({ allowedBy: "firewall: default" })]);
    const firewall = sled.layers("web-a").find((l) => l.name === "firewall")!;
    expect(firewall.rules).toContainEqual(expect.objectContaining({
      name: "allow-http-in", dir: "in", predicates: expect.arrayContaining([expect.objectContaining({ field: "dstPort", values: [80] })]),
      action: { kind: "statefulAllow" }, hits: 0 }));
    const gateway = sled.layers("web-a").find((l) => l.name === "gateway")!;
    expect(gateway.rules.find((r) => (r.action as { kind: string }).kind === "hairpin")).toMatchObject({ name: expect.stringMatching(/^reply /), action: { reply: expect.any(String) } });
    // an inbound SSH attempt the firewall denies
    (sled as unknown as { fromUnderlay(f: Uint8Array[]): void }).fromUnderlay([geneve("02:08:20:01:01:01", "02:08:20:ff:ff:01", "fd00:1122:3344:102::1", "fd00:1122:3344:101::1", { vni: 1024 },
      ipFrame("a8:40:25:f0:00:05", "a8:40:25:f0:00:06", "172.30.0.6", "172.30.0.5", 6, tcp("172.30.0.6", "172.30.0.5", 5555, 22, TCP_FLAGS.SYN)))]);
    sled.flush();
    now += 200; // past the UDP TTL
    const read = () => readFileSync(path, "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l));
    await until(() => read().some((l) => l.event === "end"), "the expiry pass to log the flow's end");
    const lines = read();
    expect(lines.map((l) => l.event)).toEqual(["start", "deny", "end"]);
    expect(lines[0]).toMatchObject({ port: "web-a", verdict: "allow", proto: 17, src: "172.30.0.5", dst: "172.30.0.6", sport: 5000, dport: 53, layer: "firewall", rule: "default" });
    expect(lines[1]).toMatchObject({ verdict: "deny", dir: "in", layer: "firewall", rule: "default", reason: "LayerDeny", dport: 22 });
    expect(lines[2]).toMatchObject({ event: "end", pktsOut: 1, bytesOut: 14 + 20 + 8 + 10, pktsIn: 0, layer: "firewall", rule: "default" });
    await sled.close();
  });
});
