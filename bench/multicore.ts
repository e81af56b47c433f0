// Multi-core: shard flows across worker threads by flow hash (RSS-like), one
// engine instance per core, and add up their fast-path rates.

import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { fastPath } from "./engine-bench.js";

export async function multiCore(workers: number, flowsPerWorker = 100_000, frameBytes = 64): Promise<{ workers: number; mpps: number; perWorker: number[] }> {
  const runs = Array.from({ length: workers }, () => new Promise<number>((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { flowsPerWorker, frameBytes } });
    w.once("message", (m: number) => { resolve(m); void w.terminate(); });
    w.once("error", reject);
  }));
  const per = await Promise.all(runs);
  return { workers, mpps: per.reduce((a, b) => a + b, 0), perWorker: per };
}

if (!isMainThread && parentPort) {
  const { flowsPerWorker, frameBytes } = workerData as { flowsPerWorker: number; frameBytes: number };
  void fastPath(flowsPerWorker, frameBytes, 256, "patch", 5, 400).then((r) => parentPort!.postMessage(r.mpps));
}
