// Restart bench: how long a sled host takes to come back with its flows.
//
// A sled host with the example VPC port (its SNAT block widened to ports
// 1024–65535, its table to the flows asked for) is filled with flows: up to
// 60,000 TCP connections through SNAT, the rest to a VPC peer (as
// bench/snapshot.ts). Its flows are checkpointed into a state directory
// (hosts/sled/checkpoints.ts: export, write, fsync, rename), and a new host
// comes up from it. Figures, median of the rounds:
//  - in process: a new SledHost (engine loaded), the port added, the
//    checkpoint restored (read, checked, applied);
//  - the command: `wopte sled` from spawn to its "sled host running" line,
//    with the checkpoint and with an empty state directory (the difference is
//    what the flows cost a restart).

import os from "node:os";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { SledHost } from "../hosts/sled/sled.js";
import { MemoryDevice } from "../hosts/sled/devices.js";
import { UdpUnderlay } from "../hosts/sled/underlay.js";
import { FlowCheckpoints } from "../hosts/sled/checkpoints.js";
import { benchPortConfig, fill } from "./snapshot.js";
import { median } from "./setup.js";
import { packageRoot } from "../hosts/engine/wasm.js";

const ADDRESS = "fd00:1122:3344:101::1";
const MAX_SNAT = 60_000;

async function sled(): Promise<SledHost> {
  const underlay = await UdpUnderlay.open({ address: ADDRESS, bind: { host: "::1", port: 0 }, localMac: "02:08:20:00:00:01", nextHopMac: "02:08:20:ff:ff:01" });
  return SledHost.create({ name: "bench", underlay, underlayAddress: ADDRESS });
}

/** `wopte sled` from spawn to "sled host running": ms. */
function startCommand(config: string, state: string): Promise<number> {
  const t0 = performance.now();
  const p = spawn(process.execPath, [join(packageRoot(), "bin", "wopte.js"), "sled", "--config", config, "--state-dir", state,
    "--checkpoint-interval", "0", "--api-socket", join(state, "sled.sock")], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    p.stdout.on("data", (d) => {
      out += d;
      if (!out.includes("sled host running")) return;
      const ms = performance.now() - t0;
      if (process.env.WOPTE_BENCH_DEBUG) console.error(out);
      p.kill("SIGKILL"); // no last checkpoint: the next round starts from the same files
      resolve(ms);
    });
    p.stderr.on("data", (d) => { out += d; });
    p.on("exit", (code) => { if (!out.includes("sled host running")) reject(new Error(`wopte sled exited ${code}: ${out}`)); });
  });
}

export async function benchRestart(opts: { flows: number; rounds?: number }): Promise<Record<string, number>> {
  const flows = opts.flows, rounds = opts.rounds ?? 5;
  const snatFlows = Math.min(MAX_SNAT, Math.floor(flows / 2));
  const cfg = benchPortConfig(flows);
  const dir = mkdtempSync(join(tmpdir(), "wopte-restart-"));
  try {
    // a busy sled, checkpointed
    const a = await sled();
    const port = await a.addPort(structuredClone(cfg) as never, new MemoryDevice("vnic"));
    fill(a.engine, flows, snatFlows, port.id, Date.now()); // the host's clock: its expiry must not see them as old
    const cpA = new FlowCheckpoints(a, { dir, intervalMs: 0 });
    const writes: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      if (!(await cpA.checkpoint())) throw new Error("the checkpoint failed");
      writes.push(performance.now() - t0);
    }
    const bytes = cpA.stats.last!.bytes;
    await a.close();

    // in process: host, port, flows back
    const total: number[] = [], restore: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      const b = await sled();
      const p = await b.addPort(structuredClone(cfg) as never, new MemoryDevice("vnic"));
      const t1 = performance.now();
      const cp = new FlowCheckpoints(b, { dir, intervalMs: 0 });
      await cp.restore();
      const t2 = performance.now();
      if (b.engine.flowCount(p.id) !== flows || b.engine.natUsage(p.id, 0).inUse !== snatFlows) {
        throw new Error(`restored ${b.engine.flowCount(p.id)} of ${flows} flows, ${b.engine.natUsage(p.id, 0).inUse} of ${snatFlows} SNAT bindings`);
      }
      total.push(t2 - t0);
      restore.push(t2 - t1);
      await b.close();
    }

    // the command, with the checkpoint and without
    const portFile = join(dir, "port.json"), sledFile = join(dir, "sled.json");
    writeFileSync(portFile, JSON.stringify(cfg));
    writeFileSync(sledFile, JSON.stringify({ name: "bench", underlay: { address: ADDRESS, bind: { host: "::1", port: 0 } }, ports: [{ config: portFile }] }));
    const empty = join(dir, "empty");
    mkdirSync(empty);
    const withFlows: number[] = [], without: number[] = [];
    for (let r = 0; r < rounds; r++) {
      withFlows.push(await startCommand(sledFile, dir));
      without.push(await startCommand(sledFile, empty));
      rmSync(join(empty, "flows"), { recursive: true, force: true });
    }
    const re = median(restore);
    return {
      flows, snatFlows, checkpointBytes: bytes,
      checkpointWriteMs: median(writes),
      restartInProcessMs: median(total),
      restoreMs: re,
      restoreFlowsPerSec: flows / (re / 1000),
      commandStartWithFlowsMs: median(withFlows),
      commandStartEmptyMs: median(without),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// `node dist/bench/restart.js [flows]`: print the figures with the machine.
if (import.meta.url === `file://${process.argv[1]}`) {
  const flows = Number(process.argv[2] ?? 100_000);
  const r = await benchRestart({ flows });
  console.log(`wopte restart bench — ${os.cpus()[0]?.model ?? "cpu"} (${os.cpus().length} vCPU), node ${process.version}, engine build release (asc -O3)`);
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(26)} ${Number.isInteger(v) ? v : v.toFixed(1)}`);
}
