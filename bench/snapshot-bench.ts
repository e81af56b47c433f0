// Snapshot rates for a port with many flows: export, restore, bytes per flow.

import { Dir } from "../hosts/engine/batch.js";
import { Engine } from "../hosts/engine/engine.js";
import { examplePort, exampleFrame, writeExampleFlow, median } from "./setup.js";
import { exportSnapshot, restoreSnapshot } from "../hosts/snapshot/engine.js";

export async function snapshotBench(flows: number): Promise<{ flows: number; exportFlowsPerSec: number; restoreFlowsPerSec: number; bytesPerFlow: number }> {
  const e = await examplePort(flows + 1024);
  const b = e.newBatch(256, 2048, 128);
  const tpl = exampleFrame(64);
  for (let i = 0; i < flows; i += 256) {
    const n = Math.min(256, flows - i);
    for (let j = 0; j < n; j++) { writeExampleFlow(b, e.u8, j, tpl, i + j); b.describe(j, tpl.length, 0, Dir.Out); }
    b.run(n, 1000);
  }
  const exp: number[] = [], res: number[] = [];
  let snap: Uint8Array = new Uint8Array();
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    snap = exportSnapshot(e, 0, { now: 2000 });
    exp.push(flows / ((performance.now() - t0) / 1000));
  }
  const target: Engine = await examplePort(flows + 1024);
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    restoreSnapshot(target, 0, snap, 2000);
    res.push(flows / ((performance.now() - t0) / 1000));
  }
  if (target.flowCount(0) !== flows) throw new Error(`restored ${target.flowCount(0)} of ${flows} flows`);
  const fixed = 48 + 4 + 8 * 69 + 4 + 24 + 8;
  return { flows, exportFlowsPerSec: median(exp), restoreFlowsPerSec: median(res), bytesPerFlow: (snap.length - fixed) / flows };
}
