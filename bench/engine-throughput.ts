// Engine throughput on the three-layer port (setup.ts): the fast path
// (cached flows, Geneve encap of guest frames), the slow path (a new flow
// per packet through every layer, plus firewall rule-count scaling) and the
// bytes of flow state per flow. Each rate is the median of several timed
// rounds after warm-up rounds (TurboFan; ENGINE-NOTES.md).

import { Engine } from "../hosts/engine/engine.js";
import { Verdict } from "../hosts/engine/batch.js";
import type { Batch } from "../hosts/engine/batch.js";
import {
  threeLayerPort, FramePool, framesBuffer, setFlow, describeAll, rounds, median, spread,
  HEADROOM, PORT, LINE_RATE_MPPS, FLOOR_MPPS,
} from "./setup.js";

export interface Timing { rounds: number; roundMs: number; warmup: number }
export const QUICK: Timing = { rounds: 3, roundMs: 150, warmup: 1 };
export const FULL: Timing = { rounds: 5, roundMs: 250, warmup: 2 };

export interface FastResult {
  flows: number; frameBytes: number; batch: number;
  /** "engine": pre-described frames, nothing per packet on the host; "copy": one u8.set per frame from a contiguous JS buffer. */
  mode: "engine" | "copy";
  mpps: number; nsPerPacket: number; lineRateRatio: number; floorRatio: number;
  /** (max − min) / median of the rounds, %. */
  spreadPct: number; roundsMpps: number[];
  note?: string;
}

/** Frames a JS buffer or engine pool may hold for one run (bytes). */
const JS_BUFFER_BYTES = 64 << 20;
const POOL_BYTES = 256 << 20;
const OUT_OVERHEAD = 14 + 40 + 8 + 8; // outer Ethernet + IPv6 + UDP + Geneve

/** A three-layer port with `flows` cached flows, ready for fast-path runs. */
export class FastBench {
  private constructor(readonly e: Engine, readonly flows: number, private readonly pool64: FramePool) {}

  static async create(flows: number): Promise<FastBench> {
    const e = await threeLayerPort(flows + 1024);
    // 256 frames past `flows` repeat the first flows so any window of ≤ 256 wraps evenly.
    const pool = new FramePool(e, flows + 256, 64, 0, flows);
    for (let k = 0; k < flows; k += 256) pool.run(k, Math.min(256, flows - k), 1);
    const made = e.flowCount(PORT);
    if (made !== flows) throw new Error(`created ${made} of ${flows} flows: ${JSON.stringify(e.counters(PORT).drops)}`);
    return new FastBench(e, flows, pool);
  }

  measure(mode: "engine" | "copy", size: number, batch: number, t: Timing): FastResult | undefined {
    const flows = this.flows;
    let step: () => void;
    let check: () => void;
    let note: string | undefined;
    if (mode === "engine") {
      let pool = this.pool64;
      if (size !== 64) {
        const stride = (HEADROOM + size + 63) & ~63;
        if ((flows + 256) * stride > POOL_BYTES) return undefined; // would not cover every flow
        pool = new FramePool(this.e, flows + 256, size, 0, flows);
      }
      let pos = 0;
      step = () => { pool.run(pos, batch, 2); pos += batch; if (pos >= flows) pos -= flows; };
      check = () => {
        if (pool.verdict(0) !== Verdict.Pass || pool.outLen(0) !== size + OUT_OVERHEAD) throw new Error(`engine-only ${size} B: frame 0 not encapsulated`);
      };
    } else {
      const b: Batch = this.e.newBatch(batch, 2048, HEADROOM);
      describeAll(b, size);
      // The buffer holds every flow's frame if it fits; otherwise a prefix of
      // them, and each copy gets its flow's ports written after it.
      const held = Math.min(flows, Math.floor(JS_BUFFER_BYTES / size));
      const patch = held < flows;
      if (patch) note = `buffer holds ${held} frames; ports + TCP checksum rewritten after each copy`;
      const buf = framesBuffer(size, held);
      const ptrs = Array.from({ length: batch }, (_, j) => b.framePtr(j));
      let i = 0;
      step = () => {
        const u8 = this.e.u8;
        for (let j = 0; j < batch; j++) {
          const k = patch ? i % held : i;
          u8.set(buf.subarray(k * size, k * size + size), ptrs[j]);
          if (patch) setFlow(u8, ptrs[j], i);
          if (++i === flows) i = 0;
        }
        b.run(batch, 2);
      };
      check = () => {
        if (b.verdict(0) !== Verdict.Pass || b.output(0).length !== size + OUT_OVERHEAD) throw new Error(`copy ${size} B: frame 0 not encapsulated`);
      };
    }
    const fastBefore = this.e.counters(PORT).fastOut;
    const r = rounds(step, batch, t.rounds, t.roundMs, t.warmup);
    check();
    const c = this.e.counters(PORT);
    if (c.slowOut !== this.flows) throw new Error(`fast-path run took the slow path (${c.slowOut - this.flows} frames)`);
    if (c.fastOut === fastBefore) throw new Error("no fast-path hits");
    const pps = median(r);
    return {
      flows, frameBytes: size, batch, mode, mpps: pps / 1e6, nsPerPacket: 1e9 / pps,
      lineRateRatio: pps / 1e6 / LINE_RATE_MPPS, floorRatio: pps / 1e6 / FLOOR_MPPS,
      spreadPct: spread(r), roundsMpps: r.map((x) => x / 1e6), note,
    };
  }
}

/** Every fast-path figure for one flow count. */
export async function fastPathSuite(flows: number, t: Timing): Promise<FastResult[]> {
  const fb = await FastBench.create(flows);
  const out: FastResult[] = [];
  for (const [mode, size, batch] of [
    ["engine", 64, 64], ["engine", 64, 256], ["copy", 64, 64], ["copy", 64, 256],
    ["engine", 1400, 256], ["copy", 1400, 256],
  ] as const) {
    const r = fb.measure(mode, size, batch, t);
    if (r) out.push(r);
  }
  return out;
}

export interface SlowResult { newFlows: number; extraFirewallRules: number; flowsPerSecond: number; nsPerFlow: number; spreadPct: number }

/** Slow path: every frame opens a new flow (unique 5-tuple) through all three layers and installs it. */
export async function slowPath(newFlows: number, extraFirewallRules: number, t: Timing): Promise<SlowResult> {
  const e = await threeLayerPort(newFlows + 1024, extraFirewallRules);
  const pool = new FramePool(e, newFlows, 64);
  const rates: number[] = [];
  for (let r = -t.warmup; r < t.rounds; r++) {
    e.clearFlows(PORT);
    const t0 = performance.now();
    for (let k = 0; k < newFlows; k += 256) pool.run(k, Math.min(256, newFlows - k), 1);
    const ms = performance.now() - t0;
    if (e.flowCount(PORT) !== newFlows) throw new Error(`slow path made ${e.flowCount(PORT)} flows, expected ${newFlows}`);
    if (r >= 0) rates.push(newFlows / (ms / 1000));
  }
  const fps = median(rates);
  return { newFlows, extraFirewallRules, flowsPerSecond: fps, nsPerFlow: 1e9 / fps, spreadPct: spread(rates) };
}

export interface MemoryResult { capacity: number; tableBytesPerFlow: number; grownBytesPerFlow: number; memoryGrownBytes: number }

/**
 * Flow state per flow: what the table reserves per flow (record + index
 * slots, from the engine), and how much engine memory grew creating a port
 * of `capacity` flows and filling it, divided by `capacity`. Memory grows in
 * whole pages and the allocator may grow more than it needs, so the second
 * figure is an upper bound.
 */
export async function memoryPerFlow(capacity: number): Promise<MemoryResult> {
  const e = await Engine.load();
  const b = e.newBatch(256, 256, HEADROOM); // allocated before the first measurement
  const before = e.x.memory.buffer.byteLength;
  await threeLayerPort(capacity, 0, e);
  describeAll(b, 64);
  const tpl = framesBuffer(64, 1);
  for (let i = 0; i < capacity; i += 256) {
    const n = Math.min(256, capacity - i);
    const u8 = e.u8;
    for (let j = 0; j < n; j++) { u8.set(tpl, b.framePtr(j)); setFlow(u8, b.framePtr(j), i + j); }
    b.run(n, 1);
  }
  if (e.flowCount(PORT) !== capacity) throw new Error(`filled ${e.flowCount(PORT)} of ${capacity} flows`);
  const grown = e.x.memory.buffer.byteLength - before;
  return { capacity, tableBytesPerFlow: e.bytesPerFlow(PORT), grownBytesPerFlow: Math.round(grown / capacity), memoryGrownBytes: grown };
}
