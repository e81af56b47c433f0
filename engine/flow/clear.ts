// Removing flows on the control plane's request: every flow of a port
// (portFlowsClear, portReset) or one by its record index (portFlowRemoveAt).
// Each gives back its SNAT port; the datapath's own removals (expiry, TCP
// close) are in expiry.ts.

import { Reason } from "../../abi/reason";
import { Port, bumpEpoch } from "../port";
import { recordAt, flowTableClear, flowRemove } from "./table";
import { R_FLAGS, RF_LIVE } from "./record";
import { releaseBinding, endFlow } from "../pipeline";
import { DeletionLog } from "../snapshot/deletions";

/** Drop every flow of `p`, releasing NAT bindings; cached decisions are void (epoch bump). */
export function clearFlows(p: Port): void {
  const t = p.flows;
  for (let i: u32 = 0; i < t.neverUsed; i++) {
    const rec = recordAt(t, i);
    if ((<u32>load<u8>(rec + R_FLAGS) & RF_LIVE) != 0) releaseBinding(p, rec);
  }
  flowTableClear(t);
  // incremental snapshots cannot express this: the next one must be full
  if (p.deletions != 0) changetype<DeletionLog>(p.deletions).oldestGen = p.dirtyGen + 1;
  bumpEpoch(p);
}

/** End and remove the flow in record `index`: 0, or NoSuchFlow when no live flow is there. */
export function removeFlowAt(p: Port, index: u32): u32 {
  const t = p.flows;
  if (index >= t.neverUsed) return Reason.NoSuchFlow;
  const rec = recordAt(t, index);
  if ((<u32>load<u8>(rec + R_FLAGS) & RF_LIVE) == 0) return Reason.NoSuchFlow;
  endFlow(p, rec, 0);
  flowRemove(t, rec);
  return 0;
}
