// Idle expiry of flows, driven by the host's clock (the engine reads no clock).
//
// Each call looks at a bounded number of records from a rotating cursor, so a
// sweep never stalls the datapath: the host calls it between batches with a
// budget, and a full table is covered in capacity/budget calls.

import { Port, count, Ctr } from "../port";
import { FlowTable, recordAt, flowRemove } from "./table";
import { R_FLAGS, R_LAST_SEEN, R_TCP, RF_LIVE, R_KEY_OUT, R_KEY_IN, R_ORIGIN, Dir } from "./record";
import { keyProto } from "./key";
import { TcpState } from "./tcp";
import { endFlow } from "../pipeline";

/** The idle time after which a flow in its current state expires, in ms. */
export function flowTtl(p: Port, rec: usize): u32 {
  const origin = <u32>load<u8>(rec + R_ORIGIN);
  const proto = keyProto(rec + (origin == Dir.Out ? R_KEY_OUT : R_KEY_IN));
  if (proto == 6) {
    switch (<u32>load<u8>(rec + R_TCP)) {
      case TcpState.SynSent: case TcpState.SynRcvd: return p.ttlTcpHandshake;
      case TcpState.Closing: return p.ttlTcpClosing;
      case TcpState.Closed: return p.ttlTcpClosed;
      default: return p.ttlTcpEstablished;
    }
  }
  if (proto == 17) return p.ttlUdp;
  if (proto == 1 || proto == 58) return p.ttlIcmp;
  return p.ttlOther;
}

/** Expire idle flows among the next `budget` records. Returns how many expired. */
export function expireFlows(p: Port, nowMs: u32, budget: u32): u32 {
  const t: FlowTable = p.flows;
  const limit = t.neverUsed;
  if (limit == 0) return 0;
  let expired: u32 = 0;
  let i = t.sweepCursor;
  const n = min(budget, limit);
  for (let k: u32 = 0; k < n; k++) {
    if (i >= limit) i = 0;
    const rec = recordAt(t, i);
    if ((<u32>load<u8>(rec + R_FLAGS) & RF_LIVE) != 0) {
      const idle = <i32>(nowMs - load<u32>(rec + R_LAST_SEEN));
      if (idle >= 0 && <u32>idle >= flowTtl(p, rec)) {
        const closed = <u32>load<u8>(rec + R_TCP) == TcpState.Closed;
        endFlow(p, rec, <f64>nowMs);
        flowRemove(t, rec);
        count(p, closed ? Ctr.FlowsClosed : Ctr.FlowsExpired, 1);
        expired++;
      }
    }
    i++;
  }
  t.sweepCursor = i >= limit ? 0 : i;
  return expired;
}
