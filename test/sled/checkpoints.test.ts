// A sled host checkpoints every port's flows into its state directory and
// gets them back when it starts again: the same connections, the same SNAT
// ports. A checkpoint the snapshot checks refuse, or one that cannot be
// read, leaves its port empty and the host running, counted; a checkpoint
// that cannot be written leaves the previous one. Files are written whole
// (a temporary file renamed), mode 0600, and go when their port goes.
import { describe, it, expect, afterEach } from "vitest";
import { mkdtempSync, readdirSync, statSync, writeFileSync, mkdirSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { SledHost } from "../../hosts/sled/sled.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { FlowCheckpoints } from "../../hosts/sled/checkpoints.js";
import { sledMetrics } from "../../hosts/sled/metrics.js";
import { MemoryUnderlay } from "../helpers/memory-underlay.js";
import { examplePortJson, PortJson } from "../helpers/example-port.js";
import { until } from "../helpers/until.js";
import { ipFrame, tcp, udp, TCP_FLAGS } from "../helpers/frames.js";

const G = "a8:40:25:f0:00:05", GW = "a8:40:25:ff:77:77";
const syn = (sport: number, mac = G) => ipFrame(GW, mac, "172.30.0.5", "203.0.113.9", 6, tcp("172.30.0.5", "203.0.113.9", sport, 443, TCP_FLAGS.SYN));
const dgram = (sport: number) => ipFrame(GW, G, "172.30.0.5", "172.30.0.6", 17, udp("172.30.0.5", "172.30.0.6", sport, 53, new Uint8Array(8)));

const hosts: SledHost[] = [];
afterEach(async () => { for (const h of hosts.splice(0)) await h.close(); });

async function sled(ports: PortJson[] = [examplePortJson()]): Promise<{ h: SledHost; devs: MemoryDevice[] }> {
  const h = await SledHost.create({ name: "a", underlay: new MemoryUnderlay(), underlayAddress: "fd00:1122:3344:101::1" });
  hosts.push(h);
  const devs: MemoryDevice[] = [];
  for (const p of ports) { const d = new MemoryDevice(p.name); devs.push(d); await h.addPort(p, d); }
  return { h, devs };
}

/** The port's flows as a comparable list: key, TCP state, SNAT binding. */
const flowsOf = (h: SledHost, port = "web-a") => h.flows(port)
  .map((f) => `${f.out.proto} ${f.out.src}:${f.out.sport}>${f.out.dst}:${f.out.dport} ${f.tcpState} ${f.nat ? `${f.nat.pool}/${f.nat.port}` : "-"}`).sort();

describe("flow checkpoints", () => {
  it("carry a port's flows and SNAT bindings into the next host, written whole and private", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wopte-cp-"));
    const { h, devs } = await sled();
    devs[0].inject([syn(40000), syn(40001), dgram(5000)]);
    await until(() => h.flows("web-a").length === 3, "three flows");
    h.engine.fn("portFlowRemoveAt")(h.port("web-a").id, h.flows("web-a").find((f) => f.out.sport === 40000)!.index); // its SNAT port is free again, not reused at once
    const before = flowsOf(h);
    expect(before.filter((f) => f.includes("/"))).toHaveLength(1);
    const cp = new FlowCheckpoints(h, { dir, intervalMs: 0 });
    expect(await cp.checkpoint()).toBe(true);
    expect(readdirSync(join(dir, "flows"))).toEqual(["web-a.snap"]);
    expect(statSync(join(dir, "flows", "web-a.snap")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "flows")).mode & 0o777).toBe(0o700);
    expect(cp.stats).toMatchObject({ written: 1, failed: 0, last: { ports: 1, flows: 2 } });

    const b = await sled();
    const cpB = new FlowCheckpoints(b.h, { dir, intervalMs: 0 });
    await cpB.restore();
    expect(cpB.stats).toMatchObject({ restored: 1, refused: 0, unreadable: 0 });
    expect(flowsOf(b.h)).toEqual(before);
    // the binding is held: a new connection gets another port than the restored one's
    const held = b.h.flows("web-a").find((f) => f.nat)!.nat!.port;
    b.devs[0].inject([syn(40002)]);
    await until(() => b.h.flows("web-a").length === 3, "the new connection");
    expect(b.h.flows("web-a").find((f) => f.out.sport === 40002)!.nat!.port).not.toBe(held);
    expect(b.h.engine.natUsage(b.h.port("web-a").id, 0).inUse).toBe(2);
  });

  it("a checkpoint the checks refuse, or one that cannot be read, leaves the port empty and the host running", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wopte-cp-"));
    const web = examplePortJson(), db = { ...examplePortJson(), name: "db", guest: { ...examplePortJson().guest, mac: "a8:40:25:f0:00:09" } };
    const { h, devs } = await sled([web, db]);
    devs[0].inject([syn(40000)]);
    devs[1].inject([syn(40000, "a8:40:25:f0:00:09")]);
    await until(() => h.flows("web-a").length === 1 && h.flows("db").length === 1, "a flow on each port");
    await new FlowCheckpoints(h, { dir, intervalMs: 0 }).checkpoint();

    // web-a comes back with another SNAT block; db's checkpoint is damaged
    const moved = structuredClone(web);
    moved.externalIps.snat.firstPort = 20000;
    const f = join(dir, "flows", "db.snap");
    const bytes = readFileSync(f); bytes[60] ^= 0xff; writeFileSync(f, bytes);
    const b = await sled([moved, db]);
    const cp = new FlowCheckpoints(b.h, { dir, intervalMs: 0 });
    await cp.restore();
    expect(cp.stats).toMatchObject({ restored: 0, refused: 2 });
    expect(cp.stats.refusals.map((r) => `${r.port}: ${r.error}`)).toEqual([
      expect.stringMatching(/^web-a: the snapshot's SNAT pool 0 \(ports 16384-32767\) differs from port web-a's/),
      expect.stringMatching(/^db: checksum mismatch/),
    ]);
    expect(b.h.flows("web-a")).toEqual([]);
    expect(b.h.flows("db")).toEqual([]);
    expect(readdirSync(join(dir, "flows")).sort()).toEqual(["db.snap.refused", "web-a.snap.refused"]);
    b.h.checkpoints = cp;
    expect(await sledMetrics(b.h).registry.metrics()).toMatch(/wopte_sled_checkpoint_restores_total\{result="refused"\} 2/);

    // a file that cannot be read (a directory where the file should be)
    const c = await sled([web]);
    mkdirSync(join(dir, "flows", "web-a.snap"));
    const cpC = new FlowCheckpoints(c.h, { dir, intervalMs: 0 });
    await cpC.restore();
    expect(cpC.stats).toMatchObject({ restored: 0, refused: 0, unreadable: 1 });
  });

  it("a checkpoint that cannot be written is counted and leaves the files as they were; a removed port's file goes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wopte-cp-"));
    const db = { ...examplePortJson(), name: "db", guest: { ...examplePortJson().guest, mac: "a8:40:25:f0:00:09" } };
    const { h } = await sled([examplePortJson(), db]);
    const cp = new FlowCheckpoints(h, { dir, intervalMs: 0 });
    await cp.checkpoint();
    expect(readdirSync(join(dir, "flows")).sort()).toEqual(["db.snap", "web-a.snap"]);
    await h.removePort("db");
    await cp.checkpoint();
    expect(readdirSync(join(dir, "flows"))).toEqual(["web-a.snap"]);

    const blocked = mkdtempSync(join(tmpdir(), "wopte-cp-"));
    writeFileSync(join(blocked, "flows"), "not a directory");
    const bad = new FlowCheckpoints(h, { dir: blocked, intervalMs: 0 });
    expect(await bad.checkpoint()).toBe(false);
    expect(bad.stats).toMatchObject({ written: 0, failed: 1, lastError: { message: expect.stringMatching(/EEXIST|ENOTDIR/) } });
    rmSync(blocked, { recursive: true });
  });

  it("checkpoints at its interval, and the last one at a clean stop sees every flow", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wopte-cp-"));
    const { h, devs } = await sled();
    const cp = new FlowCheckpoints(h, { dir, intervalMs: 20 });
    cp.start();
    await until(() => cp.stats.written >= 2, "two checkpoints at the interval");
    cp.stop();
    devs[0].inject([syn(40000), syn(40001)]);
    await until(() => h.flows("web-a").length === 2, "two flows");
    hosts.splice(hosts.indexOf(h), 1);
    await h.close({ quiet: () => cp.checkpoint(true) });
    expect(cp.stats.last!.flows).toBe(2);
    const b = await sled();
    await new FlowCheckpoints(b.h, { dir, intervalMs: 0 }).restore();
    expect(b.h.flows("web-a")).toHaveLength(2);
    expect(existsSync(join(dir, "flows", "web-a.snap.tmp"))).toBe(false);
  });
});
