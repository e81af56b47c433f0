// Flow logs (RFD 63 "Flow Logging"): an optional per-port ring of flow
// events — a flow started, a flow ended (with its counters and duration), a
// new flow was denied (with the layer and rule) — that the host drains
// between batches and writes as JSON lines. The ring is bounded: when the host
// falls behind, new events are dropped and counted, never the datapath slowed.
//
// Events are 96 bytes, laid out in abi/flow-log.ts.

import { keyCopy } from "./key";
import { R_ORIGIN, R_PKTS_OUT, R_CREATED, R_LAST_SEEN, R_ALLOW, keyOff, allowLayer, allowRule } from "./record";

export { EVENT_SIZE, FlowEvent } from "../../abi/flow-log";
import {
  EVENT_SIZE, FlowEvent, EV_KIND, EV_DIR, EV_LAYER, EV_REASON, EV_RULE, EV_KEY, EV_PKTS_OUT, EV_CREATED, EV_LAST_SEEN, EV_TIME,
} from "../../abi/flow-log";

@unmanaged
export class FlowLog {
  events: usize;
  capacity: u32;
  head: u32;      // next slot to write
  count: u32;     // events waiting
  dropped: u64;   // events lost to a full ring
}

export function flowLogNew(capacity: u32): FlowLog {
  const l = changetype<FlowLog>(heap.alloc(offsetof<FlowLog>()));
  l.events = heap.alloc(<usize>capacity * EVENT_SIZE);
  l.capacity = capacity;
  l.head = 0; l.count = 0; l.dropped = 0;
  return l;
}

export function flowLogFree(l: FlowLog): void {
  heap.free(l.events);
  heap.free(changetype<usize>(l));
}

function slot(l: FlowLog): usize {
  if (l.count >= l.capacity) { l.dropped++; return 0; }
  const e = l.events + <usize>l.head * EVENT_SIZE;
  l.head = l.head + 1 == l.capacity ? 0 : l.head + 1;
  l.count++;
  return e;
}

/** A flow's start or end, from its record. */
export function logFlow(l: FlowLog, kind: u32, rec: usize, now: f64): void {
  const e = slot(l);
  if (e == 0) return;
  const origin = <u32>load<u8>(rec + R_ORIGIN);
  store<u8>(e + EV_KIND, <u8>kind);
  store<u8>(e + EV_DIR, <u8>origin);
  // the rule that let the flow in (none when it is not known: a restored flow not yet seen)
  const allow = load<u32>(rec + R_ALLOW);
  store<u8>(e + EV_LAYER, <u8>allowLayer(allow));
  store<u8>(e + EV_REASON, 0);
  store<u32>(e + EV_RULE, allowRule(allow));
  keyCopy(e + EV_KEY, rec + keyOff(origin));
  memory.copy(e + EV_PKTS_OUT, rec + R_PKTS_OUT, 32); // the four counters, in the record's order
  store<u32>(e + EV_CREATED, load<u32>(rec + R_CREATED));
  store<u32>(e + EV_LAST_SEEN, load<u32>(rec + R_LAST_SEEN));
  store<f64>(e + EV_TIME, now);
}

/** A new flow denied by `layer`/`rule` for `reason`; `key` is its would-be key. */
export function logDeny(l: FlowLog, dir: u32, key: usize, layer: u32, rule: u32, reason: u32, now: f64): void {
  const e = slot(l);
  if (e == 0) return;
  memory.fill(e, 0, EVENT_SIZE);
  store<u8>(e + EV_KIND, <u8>FlowEvent.Deny);
  store<u8>(e + EV_DIR, <u8>dir);
  store<u8>(e + EV_LAYER, <u8>layer);
  store<u8>(e + EV_REASON, <u8>reason);
  store<u32>(e + EV_RULE, rule);
  keyCopy(e + EV_KEY, key);
  store<f64>(e + EV_TIME, now);
}

/** Copy up to `max` waiting events, oldest first, to `dst`; returns how many. */
export function flowLogDrain(l: FlowLog, dst: usize, max: u32): u32 {
  const n = min(max, l.count);
  let tail = (l.head + l.capacity - l.count) % l.capacity;
  for (let i: u32 = 0; i < n; i++) {
    memory.copy(dst + <usize>i * EVENT_SIZE, l.events + <usize>tail * EVENT_SIZE, EVENT_SIZE);
    tail = tail + 1 == l.capacity ? 0 : tail + 1;
  }
  l.count -= n;
  return n;
}
