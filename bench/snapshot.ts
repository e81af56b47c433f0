// Snapshot bench: how fast a busy port's flow state leaves one engine and
// enters another (the blackout budget of a live migration), and how big it is.
//
// The port is the five-layer example VPC port with its SNAT block widened to
// ports 1024–65535. Up to 60,000 flows are TCP connections from the guest to
// an Internet address (each holds a SNAT binding: the typical flow the
// format's budget is set for); the rest go to a VPC peer over the overlay.
// Export is measured full; restore replaces the target's flows each round.
// Figures: flows/s, ns/flow, bytes/flow (all, SNAT'd TCP only, peer only).

import os from "node:os";
import { Dir } from "../hosts/engine/batch.js";
import { Engine } from "../hosts/engine/engine.js";
import { compilePort } from "../layers/vpc/compile.js";
import { applyPort } from "../hosts/engine/apply-port.js";
import { ipFrame, tcp, TCP_FLAGS } from "../hosts/lib/frames.js";
import { exampleConfig, exampleFrame, writeExampleFlow, median } from "./setup.js";
import { exportSnapshot, restoreSnapshot } from "../hosts/snapshot/engine.js";
import { decodeSnapshot, snapshotLayout } from "../hosts/snapshot/format.js";

const GUEST_MAC = "a8:40:25:f0:00:05", GW_MAC = "a8:40:25:ff:77:77";
const MAX_SNAT = 60_000;

/** The example port with room for `flows` and its SNAT block widened to ports 1024-65535. */
export function benchPortConfig(flows: number): Record<string, unknown> {
  const c = exampleConfig(flows + 1024) as { externalIps: { snat: { firstPort: number; lastPort: number } } };
  c.externalIps.snat.firstPort = 1024;
  c.externalIps.snat.lastPort = 65535;
  return c;
}

async function benchPort(flows: number): Promise<Engine> {
  const e = await Engine.load();
  applyPort(e, 0, compilePort(benchPortConfig(flows)));
  return e;
}

/** Run `flows` flows' first packets through engine port `port` at `now` (ms): the first ones SNAT'd to the Internet. */
export function fill(e: Engine, flows: number, snatFlows: number, port = 0, now = 1000): void {
  const peer = exampleFrame(64);
  const internet = ipFrame(GW_MAC, GUEST_MAC, "172.30.0.5", "203.0.113.9", 6,
    tcp("172.30.0.5", "203.0.113.9", 1024, 80, TCP_FLAGS.ACK, new Uint8Array(10)));
  const b = e.newBatch(256, 2048, 128);
  for (let i = 0; i < flows; i += 256) {
    const n = Math.min(256, flows - i);
    for (let j = 0; j < n; j++) {
      const k = i + j;
      const tpl = k < snatFlows ? internet : peer;
      writeExampleFlow(b, e.u8, j, tpl, k < snatFlows ? k : k - snatFlows);
      b.describe(j, tpl.length, port, Dir.Out);
    }
    b.run(n, now);
  }
  if (e.flowCount(port) !== flows) throw new Error(`bench port holds ${e.flowCount(port)} of ${flows} flows`);
}

export async function benchSnapshot(opts: { flows: number; rounds?: number }): Promise<Record<string, number>> {
  const flows = opts.flows, rounds = opts.rounds ?? 3;
  const snatFlows = Math.min(MAX_SNAT, Math.floor(flows / 2));
  const src = await benchPort(flows);
  fill(src, flows, snatFlows);

  const exp: number[] = [];
  let snap: Uint8Array = new Uint8Array();
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    snap = exportSnapshot(src, 0, { now: 2000 });
    exp.push((performance.now() - t0) / 1000);
  }
  const dst = await benchPort(flows);
  const res: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    restoreSnapshot(dst, 0, snap, 2000);
    res.push((performance.now() - t0) / 1000);
  }
  if (dst.flowCount(0) !== flows) throw new Error(`restored ${dst.flowCount(0)} of ${flows} flows`);
  if (dst.natUsage(0, 0).inUse !== snatFlows) throw new Error(`restored ${dst.natUsage(0, 0).inUse} of ${snatFlows} SNAT bindings`);

  // bytes per flow, by kind, from the decoded layout (the fixed part excluded)
  const small = await benchPort(2 * 1000);
  fill(small, 2000, 1000);
  const lay = snapshotLayout(exportSnapshot(small, 0, { now: 2000 }));
  const perKind = decodeSnapshot(exportSnapshot(small, 0, { now: 2000 })).flows;
  const snatBytes = lay.flowSizes.filter((_, i) => perKind[i].nat).reduce((a, b) => a + b, 0) / 1000;
  const peerBytes = lay.flowSizes.filter((_, i) => !perKind[i].nat).reduce((a, b) => a + b, 0) / 1000;
  const all = snapshotLayout(snap);

  const ex = median(exp), re = median(res);
  return {
    flows,
    snatFlows,
    snapshotBytes: snap.length,
    bytesPerFlow: all.flowBytes / flows,
    bytesPerSnatTcpFlow: snatBytes,
    bytesPerPeerTcpFlow: peerBytes,
    exportFlowsPerSec: flows / ex,
    exportNsPerFlow: (ex * 1e9) / flows,
    exportMBPerSec: snap.length / ex / 1e6,
    restoreFlowsPerSec: flows / re,
    restoreNsPerFlow: (re * 1e9) / flows,
  };
}

// `node dist/bench/snapshot.js [flows]`: print the figures with the machine.
if (import.meta.url === `file://${process.argv[1]}`) {
  const flows = Number(process.argv[2] ?? 1_000_000);
  const r = await benchSnapshot({ flows });
  console.log(`wopte snapshot bench — ${os.cpus()[0]?.model ?? "cpu"}, node ${process.version}, engine build release (asc -O3)`);
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(22)} ${Number.isInteger(v) ? v : v.toFixed(1)}`);
}
