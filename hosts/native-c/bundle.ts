// The replay bundle the native (wasm2c) host reads: everything a port needs
// and the frames to run, in the order the Node host makes its engine calls.
//
//   "WOPB" u32 version=1
//   u32 len + port config block, u32 len + port program
//   u32 n + n × {pool u32, ip 16, firstPort u32, lastPort u32}
//   u32 n + n × {table u32, vni u32, keyIp 16, portLo u32, portHi u32, encapVni u32, underlay 16, macHi u32, macLo u32}
//   u32 n + n × {meter u32, dir u32 (1 in, 2 out), bytesPerSec f64, burstBytes f64}
//   u32 n + n × {dir u32, timeMs f64, len u32, frame}
// All little-endian.

import { Engine } from "../engine/engine.js";
import type { CompiledPort } from "../../layers/vpc/compile.js";
import { ip16, parseMac } from "../../layers/program/addr.js";
import { encodePortConfig } from "../../layers/program/port-config.js";

export interface BundleFrame { dir: 1 | 2; timeMs: number; bytes: Uint8Array }

export function writeBundle(p: CompiledPort, frames: BundleFrame[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const u32 = (v: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v >>> 0, true); parts.push(b); };
  const f64 = (v: number) => { const b = new Uint8Array(8); new DataView(b.buffer).setFloat64(0, v, true); parts.push(b); };
  const raw = (b: Uint8Array) => parts.push(b);
  raw(new TextEncoder().encode("WOPB"));
  u32(1);
  const cfg = encodePortConfig(p.engineConfig);
  u32(cfg.length); raw(cfg);
  u32(p.program.length); raw(p.program);
  u32(p.natPools.length);
  for (const x of p.natPools) { u32(x.pool); raw(ip16(x.ip)); u32(x.firstPort); u32(x.lastPort); }
  u32(p.mappings.length);
  for (const m of p.mappings) {
    const mac = parseMac(m.target.mac);
    u32(m.table); u32(m.vni); raw(ip16(m.ip)); u32(m.portLo); u32(m.portHi); u32(m.target.encapVni);
    raw(ip16(m.target.underlay)); u32(Number(mac >> 32n)); u32(Number(mac & 0xffffffffn));
  }
  u32(p.meters.length);
  for (const m of p.meters) { u32(m.meter); u32(m.dir === "in" ? 1 : 2); f64(m.bitsPerSec / 8); f64(m.burstBytes); }
  u32(frames.length);
  for (const f of frames) { u32(f.dir); f64(f.timeMs); u32(f.bytes.length); raw(f.bytes); }
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of parts) { out.set(b, o); o += b.length; }
  return out;
}

export interface ReplayLine { index: number; verdict: number; reason: number; layer: number; rule: number; output: string }

export function parseReplayLines(text: string): ReplayLine[] {
  return text.trim().split("\n").filter(Boolean).map((l) => {
    const [index, verdict, reason, layer, rule, output = ""] = l.split(" ");
    return { index: +index, verdict: +verdict, reason: +reason, layer: +layer, rule: +rule, output };
  });
}

/** The same frames through the Node engine, in the same batches, as ReplayLines. */
export async function replayInNode(p: CompiledPort, frames: BundleFrame[]): Promise<ReplayLine[]> {
  const { applyPort } = await import("../engine/apply-port.js");
  const e = await Engine.load();
  applyPort(e, 0, p, 0);
  const b = e.newBatch(64, 2304, 128);
  const out: ReplayLine[] = [];
  for (let i = 0; i < frames.length;) {
    let k = 0;
    const t = frames[i].timeMs;
    while (i + k < frames.length && k < 64 && frames[i + k].timeMs === t) { b.set(k, frames[i + k].bytes, 0, frames[i + k].dir); k++; }
    b.run(k, t);
    for (let j = 0; j < k; j++) {
      out.push({ index: i + j, verdict: b.verdict(j), reason: b.reason(j), layer: b.layer(j), rule: b.rule(j),
        output: b.verdict(j) === 2 ? "" : Buffer.from(b.output(j)).toString("hex") });
    }
    i += k;
  }
  return out;
}
