// Engine throughput: fast path (cached flows), slow path (new flows through
// every layer), rule-count scaling and memory per flow. Each figure is the
// median of several rounds after a warm-up (TurboFan; ENGINE-NOTES.md).

import { Engine } from "../hosts/engine/engine.js";
import { Dir, Verdict } from "../hosts/engine/batch.js";
import { examplePort, templateFrame, writeFlow, median } from "./setup.js";

export const LINE_RATE_MPPS = 14.88;

export interface FastResult { flows: number; frameBytes: number; batch: number; mode: string; mpps: number; nsPerPacket: number }

/**
 * Fast path: `flows` flows are created first, then batches cycle through
 * them. mode "hot": the same 256 flows stay in the slots (engine only);
 * "patch": the host rewrites each slot's 4 port bytes to the next flow (how
 * a host walks many flows); "copy": the host copies each whole frame in.
 */
export async function fastPath(flows: number, frameBytes: number, batch: number, mode: "hot" | "patch" | "copy", rounds = 5, roundMs = 300): Promise<FastResult> {
  const e = await examplePort(Math.max(1024, Math.ceil(flows * 1.05)));
  const b = e.newBatch(batch, 2048, 128);
  const tpl = templateFrame(frameBytes);
  // create every flow (slow path once each)
  for (let i = 0; i < flows; i += batch) {
    const n = Math.min(batch, flows - i);
    for (let j = 0; j < n; j++) { writeFlow(b, e.u8, j, tpl, i + j); b.describe(j, tpl.length, 0, Dir.Out); }
    b.run(n, 1);
  }
  if (e.flowCount(0) < flows) throw new Error(`only ${e.flowCount(0)} of ${flows} flows were created`);
  const ring = mode === "copy" ? Array.from({ length: 4096 }, (_, i) => { const f = Uint8Array.from(tpl); f[34] = (1024 + (i % 60000)) >> 8; f[35] = (1024 + i) & 0xff; return f; }) : [];
  let next = 0;
  const fill = () => {
    const u8 = e.u8;
    if (mode === "hot") return;
    for (let j = 0; j < batch; j++) {
      if (mode === "patch") {
        const p = b.framePtr(j);
        const i = next++ % flows;
        const sp = 1024 + (i % 60000), dp = 80 + Math.floor(i / 60000);
        u8[p + 34] = sp >> 8; u8[p + 35] = sp & 0xff; u8[p + 36] = dp >> 8; u8[p + 37] = dp & 0xff;
      } else {
        u8.set(ring[next++ & 4095], b.framePtr(j));
      }
    }
  };
  for (let j = 0; j < batch; j++) { writeFlow(b, e.u8, j, tpl, j % flows); b.describe(j, tpl.length, 0, Dir.Out); }
  const results: number[] = [];
  for (let r = -2; r < rounds; r++) { // two warm-up rounds
    let pkts = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < roundMs) {
      for (let k = 0; k < 16; k++) { fill(); b.run(batch, 2); pkts += batch; }
      t = performance.now();
    }
    if (r >= 0) results.push(pkts / ((t - t0) / 1000));
  }
  if (b.verdict(0) !== Verdict.Pass) throw new Error("fast path frames were not passed");
  const pps = median(results);
  return { flows, frameBytes, batch, mode, mpps: pps / 1e6, nsPerPacket: 1e9 / pps };
}

/** Slow path: every packet a new flow through all layers (and its record installed). */
export async function slowPath(newFlows = 200_000, firewallRules = 0, batch = 256): Promise<{ flowsPerSecond: number; nsPerFlow: number; firewallRules: number }> {
  const e = await examplePort(newFlows + 1024, firewallRules);
  const b = e.newBatch(batch, 2048, 128);
  const tpl = templateFrame(64);
  const rates: number[] = [];
  for (let r = -1; r < 3; r++) {
    e.clearFlows(0);
    const t0 = performance.now();
    for (let i = 0; i < newFlows; i += batch) {
      const n = Math.min(batch, newFlows - i);
      for (let j = 0; j < n; j++) { writeFlow(b, e.u8, j, tpl, i + j); b.describe(j, tpl.length, 0, Dir.Out); }
      b.run(n, 1);
    }
    const t = performance.now() - t0;
    if (e.flowCount(0) !== newFlows) throw new Error(`slow path made ${e.flowCount(0)} flows, expected ${newFlows}`);
    if (r >= 0) rates.push(newFlows / (t / 1000));
  }
  const fps = median(rates);
  return { flowsPerSecond: fps, nsPerFlow: 1e9 / fps, firewallRules };
}

/** Bytes of engine memory per flow: what the table reserves, and what filling it really took. */
export async function memoryPerFlow(capacity = 262_144): Promise<{ capacity: number; tableBytesPerFlow: number; measuredBytesPerFlow: number }> {
  const e = await Engine.load();
  const before = e.x.memory.buffer.byteLength;
  await examplePort(capacity, 0, e);
  const b = e.newBatch(256, 2048, 128);
  const tpl = templateFrame(64);
  for (let i = 0; i < capacity; i += 256) {
    for (let j = 0; j < 256; j++) { writeFlow(b, e.u8, j, tpl, i + j); b.describe(j, tpl.length, 0, Dir.Out); }
    b.run(Math.min(256, capacity - i), 1);
  }
  const after = e.x.memory.buffer.byteLength;
  return { capacity, tableBytesPerFlow: e.bytesPerFlow(0), measuredBytesPerFlow: Math.round((after - before) / capacity) };
}
