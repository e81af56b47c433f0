// Micro-benchmarks with the `benchmark` package: one processBatch call of 64
// cached frames (engine only), loading a port program whose firewall has 1000
// rules, and a V2P mapping update.

import Benchmark from "benchmark";
import { threeLayerPort, FramePool, portProgram, VNI, V2P, PEER_IP, PEER_MAC, PORT } from "./setup.js";

export interface MicroResult { name: string; hz: number; rme: number; nsPerOp: number; samples: number }

export async function microBench(quick: boolean): Promise<MicroResult[]> {
  const e = await threeLayerPort(4096);
  const pool = new FramePool(e, 64, 64);
  pool.run(0, 64, 1); // create the 64 flows
  if (e.flowCount(PORT) !== 64) throw new Error("micro: flows were not created");
  const program1k = portProgram(1000);
  let k = 0;
  const opts = quick ? { maxTime: 0.4 } : { maxTime: 1.5 };
  const suite = new Benchmark.Suite()
    .add("processBatch, 64 cached 64 B frames", () => { pool.run(0, 64, 2); }, opts)
    .add("loadProgram, 3 layers, 1000-rule firewall", () => { e.loadProgram(PORT, program1k); }, opts)
    .add("mapSet, move a V2P mapping", () => {
      e.mapSet(V2P, VNI, PEER_IP, 0, 65535, { encapVni: VNI, underlay: (k++ & 1) ? "fd00:1122:3344:102::1" : "fd00:1122:3344:103::1", mac: PEER_MAC });
    }, opts);
  const out: MicroResult[] = [];
  await new Promise<void>((resolve) => {
    suite.on("cycle", (ev) => out.push({ name: ev.target.name, hz: ev.target.hz, rme: ev.target.stats.rme, nsPerOp: 1e9 / ev.target.hz, samples: ev.target.stats.sample.length }));
    suite.on("complete", () => resolve());
    suite.run({ async: true });
  });
  return out;
}
