// The port epoch: bumped on every rule or configuration change. A cached
// transformation carries the low 16 bits of the epoch it was composed at; a
// mismatch sends the flow's next packet through the layers again. When the
// 16 bits wrap, every cached transformation is invalidated explicitly so an
// old one can never look current again.

import { Port } from "../port";
import { recordAt } from "./table";
import { R_FLAGS, RF_LIVE, R_X_OUT, R_X_IN } from "./record";
import { X_MODS } from "./xform";

export function bumpEpoch(p: Port): void {
  p.epoch++;
  if ((p.epoch & 0xffff) != 0) return;
  const t = p.flows;
  for (let i: u32 = 0; i < t.neverUsed; i++) {
    const rec = recordAt(t, i);
    if ((<u32>load<u8>(rec + R_FLAGS) & RF_LIVE) == 0) continue;
    store<u16>(rec + R_X_OUT + X_MODS, 0);
    store<u16>(rec + R_X_IN + X_MODS, 0);
  }
}
