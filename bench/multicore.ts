// Multi-core: shard flows across worker threads by flow hash (RSS-like), one
// engine instance per core, and add up their fast-path rates (host copies
// each 64-byte frame in, batches of 256).

import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { FastBench, Timing } from "./engine-throughput.js";

export async function multiCore(workers: number, t: Timing, flowsPerWorker = 100_000): Promise<{ workers: number; mpps: number; perWorker: number[] }> {
  const runs = Array.from({ length: workers }, () => new Promise<number>((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { flowsPerWorker, t } });
    w.once("message", (m: number) => { resolve(m); void w.terminate(); });
    w.once("error", reject);
  }));
  const per = await Promise.all(runs);
  return { workers, mpps: per.reduce((a, b) => a + b, 0), perWorker: per };
}

if (!isMainThread && parentPort) {
  const { flowsPerWorker, t } = workerData as { flowsPerWorker: number; t: Timing };
  void FastBench.create(flowsPerWorker).then((fb) => parentPort!.postMessage(fb.measure("copy", 64, 256, t)!.mpps));
}
