// Idle expiry of flows, driven by the host's clock (the engine reads no clock).
//
// Each call looks at a bounded number of records from a rotating cursor, so a
// sweep never stalls the datapath: the host calls it between batches with a
// budget, and a full table is covered in capacity/budget calls.
//
// A TCP flow has two lifetimes, as in OPTE (a TCP state entry beside the
// flow's layer entries): its TCP state expires by state (the handshake
// quickly, closing states after a TIME_WAIT hold, an established connection
// after hours), and the flow itself (firewall state, NAT binding) lives at
// least `ttlTcpClosed` after its last packet and as long as its TCP state
// does. A handshake that stalls past its TTL loses its TCP state but keeps
// the flow, so a slow SYN+ACK still gets through; a closed connection keeps
// its NAT binding for `ttlTcpClosed`.

import { Port, count } from "../port";
import { Ctr } from "../../abi/counters";
import { FlowTable, recordAt, flowRemove } from "./table";
import { R_FLAGS, R_LAST_SEEN, R_TCP, R_DIRTY, RF_LIVE, R_KEY_OUT, R_KEY_IN, R_ORIGIN, Dir } from "./record";
import { keyProto } from "./key";
import { TcpState, tcpReset, tcpIncipient, tcpQuiescent } from "./tcp";
import { endFlow, invalidateXforms } from "../pipeline";

/** How long a TCP state lasts without packets, in ms (Closed: it has none). */
export function tcpStateTtl(p: Port, st: u32): u32 {
  if (st == TcpState.Closed) return 0;
  if (st == TcpState.Established) return p.ttlTcpEstablished;
  if (tcpIncipient(st)) return p.ttlTcpHandshake;
  return p.ttlTcpClosing; // tcpQuiescent(st)
}

function recordProto(rec: usize): u32 {
  const origin = <u32>load<u8>(rec + R_ORIGIN);
  return keyProto(rec + (origin == Dir.Out ? R_KEY_OUT : R_KEY_IN));
}

/** The idle time after which a flow in its current state expires, in ms. */
export function flowTtl(p: Port, rec: usize): u32 {
  const proto = recordProto(rec);
  if (proto == 6) return max<u32>(p.ttlTcpClosed, tcpStateTtl(p, <u32>load<u8>(rec + R_TCP)));
  if (proto == 17) return p.ttlUdp;
  if (proto == 1 || proto == 58) return p.ttlIcmp;
  return p.ttlOther;
}

/** Expire idle flows (and TCP states) among the next `budget` records. Returns how many flows expired. */
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
      if (idle >= 0) {
        const st = <u32>load<u8>(rec + R_TCP);
        if (st != TcpState.Closed && <u32>idle >= tcpStateTtl(p, st)) {
          // The TCP state is over; the flow's next packet builds new state from Closed.
          tcpReset(rec);
          invalidateXforms(rec);
          store<u32>(rec + R_DIRTY, p.dirtyGen);
        }
        if (<u32>idle >= flowTtl(p, rec)) {
          const closed = recordProto(rec) == 6 && (st == TcpState.Closed || tcpQuiescent(st));
          endFlow(p, rec, <f64>nowMs);
          flowRemove(t, rec);
          count(p, closed ? Ctr.FlowsClosed : Ctr.FlowsExpired, 1);
          expired++;
        }
      }
    }
    i++;
  }
  t.sweepCursor = i >= limit ? 0 : i;
  return expired;
}
