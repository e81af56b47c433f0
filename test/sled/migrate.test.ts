// Live migration between two sled hosts: web-a moves from sled A to sled B
// while it talks to web-b on sled C. Pre-copy, pause, final copy, V2P update,
// resume: the established connection continues (no slow-path deny, no reset),
// web-b's sled re-steers to B at once, and A no longer has the port.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { SledHost } from "../../hosts/sled/sled.js";
import { UdpUnderlay } from "../../hosts/sled/underlay.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { migratePort } from "../../hosts/sled/migrate.js";
import { localControl } from "../../hosts/sled/control.js";
import { Dir } from "../../hosts/engine/batch.js";
import { ipFrame, tcp, udp, TCP_FLAGS } from "../helpers/frames.js";
import { until } from "../helpers/until.js";

const A = "fd00:1122:3344:101::1", B = "fd00:1122:3344:103::1", C = "fd00:1122:3344:102::1";
const portA = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));
portA.limits = { flows: 131072 };
const portB = structuredClone(portA);
portB.name = "web-b";
portB.guest = { mac: "a8:40:25:f0:00:06", ipv4: "172.30.0.6", ipv6: "fd00:1024::6" };
portB.sled.underlay = C;
portB.v2p = [{ ip: "172.30.0.5", mac: "a8:40:25:f0:00:05", underlay: A }];
portB.externalIps = { floating: [] };
const GW = "a8:40:25:ff:77:77";
const fromA = (flags: number, seq: number, ack: number) => ipFrame(GW, "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 6, tcp("172.30.0.5", "172.30.0.6", 40000, 80, flags, new Uint8Array(), seq, ack));
const fromB = (flags: number, seq: number, ack: number) => ipFrame(GW, "a8:40:25:f0:00:06", "172.30.0.6", "172.30.0.5", 6, tcp("172.30.0.6", "172.30.0.5", 80, 40000, flags, new Uint8Array(), seq, ack));

async function sled(name: string, addr: string) {
  const u = await UdpUnderlay.open({ address: addr, bind: { host: "::1", port: 0 }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01" });
  return { u, h: await SledHost.create({ name, underlay: u, underlayAddress: addr }) };
}

describe("live migration between sled hosts", () => {
  it("moves web-a from sled A to sled B with its connection intact", async () => {
    const a = await sled("a", A), b = await sled("b", B), c = await sled("c", C);
    for (const [x, others] of [[a, [b, c]], [b, [a, c]], [c, [a, b]]] as const) {
      for (const o of others) x.u.addPeer(o.h === a.h ? A : o.h === b.h ? B : C, `[::1]:${o.u.boundPort}`);
    }
    const devA = new MemoryDevice("vnic-a"), devB = new MemoryDevice("vnic-b"), devA2 = new MemoryDevice("vnic-a@b");
    await a.h.addPort(portA, devA);
    await c.h.addPort(portB, devB);
    // the connection before the move
    devA.inject([fromA(TCP_FLAGS.SYN, 100, 0)]);
    await devB.waitFor(1);
    devB.inject([fromB(TCP_FLAGS.SYN | TCP_FLAGS.ACK, 900, 101)]);
    await devA.waitFor(1);
    devA.inject([fromA(TCP_FLAGS.ACK, 101, 901)]);
    await devB.waitFor(2);
    // 100k more flows on web-a's port, straight through its engine
    const e = a.h.engine, batch = e.newBatch(256), id = a.h.port("web-a").id;
    for (let i = 0; i < 100_000; i += 256) {
      for (let j = 0; j < 256; j++) batch.set(j, ipFrame(GW, "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 17, udp("172.30.0.5", "172.30.0.6", 1024 + ((i + j) % 60000), 9000 + Math.floor((i + j) / 60000))), id, Dir.Out);
      batch.run(256, Date.now());
    }
    expect(e.flowCount(id)).toBeGreaterThan(100_000);

    const report = await migratePort({ port: "web-a", config: portA, from: localControl(a.h, A, () => devA2), to: localControl(b.h, B, () => devA2),
      others: [localControl(c.h, C, () => devB)] });
    console.log(`migration of ${b.h.engine.flowCount(b.h.port("web-a").id)} flows: blackout ${report.blackoutMs.toFixed(1)} ms, ` +
      `pre-copy ${report.preCopyPasses} passes ${report.preCopyBytes} bytes, final copy ${report.finalBytes} bytes, total ${report.totalMs.toFixed(0)} ms`);
    expect(a.h.ports.has("web-a")).toBe(false);
    expect(b.h.engine.flowCount(b.h.port("web-a").id)).toBeGreaterThan(100_000);

    // web-b keeps talking on the same connection: its sled now sends to B
    devB.inject([fromB(TCP_FLAGS.ACK | TCP_FLAGS.PSH, 901, 101)]);
    await devA2.waitFor(1);
    // and web-a, now on B, answers on its restored (established) flow
    const before = b.h.stats("web-a").counters;
    devA2.inject([fromA(TCP_FLAGS.ACK, 101, 902)]);
    await devB.waitFor(3);
    const flow = b.h.flows("web-a").find((f) => f.out.proto === 6)!;
    expect(flow.tcpState).toBe("established");
    expect(b.h.stats("web-a").counters.drops).toEqual(before.drops);
    for (const s of [a, b, c]) await s.h.close();
  }, 60_000);
});

describe("live migration over the sled API (what `wopte migrate` does)", () => {
  it("moves a port between two sled hosts through their HTTP APIs", async () => {
    const { SledApi } = await import("../../hosts/sled/api.js");
    const { apiControl } = await import("../../hosts/sled/control.js");
    const a = await sled("a", A), b = await sled("b", B);
    a.u.addPeer(B, `[::1]:${b.u.boundPort}`); b.u.addPeer(A, `[::1]:${a.u.boundPort}`);
    const dev = new MemoryDevice("vnic-a");
    await a.h.addPort(portA, dev);
    dev.inject([fromA(TCP_FLAGS.SYN, 100, 0)]); // a flow to carry over
    await until(() => a.h.flows("web-a").some((f) => f.out.proto === 6), "the SYN's flow on A");
    const apiA = new SledApi({ host: a.h }), apiB = new SledApi({ host: b.h });
    // A over its unix socket, B over TCP with a token: both ways a migration reaches a sled
    const { tempSocket, listenTcp } = await import("../helpers/api.js");
    const urlA = `unix:${(await apiA.listen({ socket: tempSocket() })).socket}`, urlB = (await listenTcp(apiB)).endpoint;
    const report = await migratePort({ port: "web-a", config: portA, from: apiControl(urlA, "a", A), to: apiControl(urlB, "b", B) });
    expect(report.blackoutMs).toBeGreaterThan(0);
    expect(a.h.ports.has("web-a")).toBe(false);
    const moved = b.h.flows("web-a").find((f) => f.out.proto === 6)!;
    expect(moved).toMatchObject({ origin: "out", tcpState: "syn-sent", out: { dport: 80, sport: 40000 } });
    expect(b.h.engine.portState(b.h.port("web-a").id)).toBe("running");
    expect(b.h.listV2p().find((m) => m.ip === "172.30.0.5")?.underlay).toBe(B);
    await apiA.close(); await apiB.close();
    await a.h.close(); await b.h.close();
  }, 30_000);
});
