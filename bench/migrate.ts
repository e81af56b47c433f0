// Live migration's blackout: how long a port is paused while it moves from
// one sled host to another (final copy of what changed since the pre-copy,
// restore, V2P update, resume), with N flows on it. Two sled hosts in this
// process on the udp underlay over ::1, as test/sled/migrate.test.ts; a
// fresh pair every round. A round counts only if every flow arrived on the
// new sled and the old one no longer has the port.
// Alone: `node dist/bench/migrate.js [flows] [rounds]`.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SledHost } from "../hosts/sled/sled.js";
import { UdpUnderlay } from "../hosts/sled/underlay.js";
import { MemoryDevice } from "../hosts/sled/devices.js";
import { migratePort } from "../hosts/sled/migrate.js";
import { localControl } from "../hosts/sled/control.js";
import { Dir } from "../hosts/engine/batch.js";
import { packageRoot } from "../hosts/engine/wasm.js";
import { ipFrame, udp } from "../hosts/lib/frames.js";
import { median, spread } from "./setup.js";

const A = "fd00:1122:3344:101::1", B = "fd00:1122:3344:103::1";
const GW = "a8:40:25:ff:77:77";

export interface MigrateResult {
  flows: number;
  rounds: number;
  /** per round, in order */
  blackoutMs: number[];
  totalMs: number[];
  finalBytes: number[];
  preCopyPasses: number[];
  blackoutMedianMs: number;
  blackoutSpreadPct: number;
  totalMedianMs: number;
}

async function sled(name: string, addr: string): Promise<{ u: UdpUnderlay; h: SledHost }> {
  const u = await UdpUnderlay.open({ address: addr, bind: { host: "::1", port: 0 }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01" });
  return { u, h: await SledHost.create({ name, underlay: u, underlayAddress: addr }) };
}

async function oneRound(flows: number): Promise<{ blackoutMs: number; totalMs: number; finalBytes: number; preCopyPasses: number }> {
  const port = JSON.parse(readFileSync(join(packageRoot(), "examples", "port-a.json"), "utf8"));
  port.limits = { flows: Math.max(1024, 2 ** Math.ceil(Math.log2(flows * 1.25))) };
  const a = await sled("a", A), b = await sled("b", B);
  a.u.addPeer(B, `[::1]:${b.u.boundPort}`); b.u.addPeer(A, `[::1]:${a.u.boundPort}`);
  try {
    const dev = new MemoryDevice("vnic-a");
    await a.h.addPort(port, dev);
    // N UDP flows on web-a, straight through its engine
    const e = a.h.engine, batch = e.newBatch(256), id = a.h.port("web-a").id;
    for (let i = 0; i < flows; i += 256) {
      const n = Math.min(256, flows - i);
      for (let j = 0; j < n; j++) {
        const k = i + j;
        batch.set(j, ipFrame(GW, "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 17, udp("172.30.0.5", "172.30.0.6", 1024 + (k % 60000), 9000 + Math.floor(k / 60000))), id, Dir.Out);
      }
      batch.run(n, Date.now());
    }
    const before = e.flowCount(id);
    if (before < flows) throw new Error(`migrate bench: ${before} of ${flows} flows created on A`);
    const report = await migratePort({ port: "web-a", config: port, from: localControl(a.h, A, () => dev), to: localControl(b.h, B, () => dev) });
    const after = b.h.engine.flowCount(b.h.port("web-a").id);
    if (after < before) throw new Error(`migrate bench: ${after} of ${before} flows arrived on B`);
    if (a.h.ports.has("web-a")) throw new Error("migrate bench: A still has the port");
    return { blackoutMs: report.blackoutMs, totalMs: report.totalMs, finalBytes: report.finalBytes, preCopyPasses: report.preCopyPasses };
  } finally {
    await a.h.close();
    await b.h.close();
  }
}

export async function benchMigrate(flows: number, rounds = 3): Promise<MigrateResult> {
  await oneRound(Math.min(flows, 1000)); // warm-up: compile the host and engine paths
  const all: Awaited<ReturnType<typeof oneRound>>[] = [];
  for (let r = 0; r < rounds; r++) all.push(await oneRound(flows));
  const blackout = all.map((x) => x.blackoutMs);
  return {
    flows, rounds,
    blackoutMs: all.map((x) => x.blackoutMs), totalMs: all.map((x) => x.totalMs),
    finalBytes: all.map((x) => x.finalBytes), preCopyPasses: all.map((x) => x.preCopyPasses),
    blackoutMedianMs: median(blackout), blackoutSpreadPct: spread(blackout),
    totalMedianMs: median(all.map((x) => x.totalMs)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const flows = Number(process.argv[2] ?? 100_000), rounds = Number(process.argv[3] ?? 3);
  benchMigrate(flows, rounds).then((r) => {
    console.log(`migration of ${flows} flows: blackout median ${r.blackoutMedianMs.toFixed(1)} ms (spread ${r.blackoutSpreadPct.toFixed(0)} %; ${r.blackoutMs.map((x) => x.toFixed(1)).join(", ")}), total ${r.totalMedianMs.toFixed(0)} ms`);
  }, (err) => { console.error(err); process.exit(1); });
}
