// Micro-benchmarks with the `benchmark` package: one batch call of cached
// frames, loading a 1000-rule firewall layer, a V2P mapping update.

import Benchmark from "benchmark";
import { Dir } from "../hosts/engine/batch.js";
import { examplePort, templateFrame, writeFlow, exampleConfig } from "./setup.js";
import { compilePort, layerBytes } from "../layers/vpc/compile.js";

export async function microBench(quick: boolean): Promise<{ name: string; hz: number; rme: number }[]> {
  const e = await examplePort(4096);
  const b = e.newBatch(64, 2048, 128);
  const tpl = templateFrame(64);
  for (let j = 0; j < 64; j++) { writeFlow(b, e.u8, j, tpl, j); b.describe(j, tpl.length, 0, Dir.Out); }
  b.run(64, 1);
  const fw = layerBytes(compilePort(exampleConfig(4096, 1000)), "firewall");
  let k = 0;
  const suite = new Benchmark.Suite();
  const opts = quick ? { maxTime: 0.5 } : { maxTime: 2 };
  suite.add("processBatch of 64 cached 64-byte frames", () => { b.run(64, 2); }, opts)
    .add("replace a 1000-rule firewall layer", () => { e.replaceLayer(0, fw); }, opts)
    .add("V2P mapping update", () => { e.mapSet(1, 1024, "172.30.0.6", 0, 65535, { encapVni: 1024, underlay: (k++ & 1) ? "fd00:1122:3344:102::1" : "fd00:1122:3344:103::1", mac: "a8:40:25:f0:00:06" }); }, opts);
  const out: { name: string; hz: number; rme: number }[] = [];
  await new Promise<void>((resolve) => {
    suite.on("cycle", (ev: { target: { name: string; hz: number; stats: { rme: number } } }) => out.push({ name: ev.target.name, hz: ev.target.hz, rme: ev.target.stats.rme }));
    suite.on("complete", () => resolve());
    suite.run({ async: true });
  });
  return out;
}
