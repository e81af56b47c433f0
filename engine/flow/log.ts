// Flow logs (RFD 63 "Flow Logging"): an optional per-port ring of flow
// events — a flow started, a flow ended (with its counters and duration), a
// new flow was denied (with the layer and rule) — that the host drains
// between batches and writes as JSON lines. The ring is bounded: when the host
// falls behind, new events are dropped and counted, never the datapath slowed.
//
// Event (96 bytes): 0 kind u8 (1 start, 2 end, 3 deny), 1 origin dir u8,
// 2 layer u8, 3 reason u8, 4 rule u32 (deny: the denying rule; start, end:
// the rule that allowed the flow, 255/0xffffffff when unknown), 8 key 40 (the flow as its first packet
// travelled), 48 pktsOut u64, 56 bytesOut u64, 64 pktsIn u64, 72 bytesIn u64,
// 80 createdSec u32, 84 lastSeenMs u32, 88 timeMs f64.

import { keyCopy } from "./key";
import { R_ORIGIN, R_PKTS_OUT, R_CREATED, R_LAST_SEEN, R_ALLOW, keyOff, allowLayer, allowRule } from "./record";

export const EVENT_SIZE: usize = 96;
export const enum FlowEvent { Start = 1, End = 2, Deny = 3 }

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
  store<u8>(e, <u8>kind);
  store<u8>(e + 1, <u8>origin);
  // the rule that let the flow in (none when it is not known: a restored flow not yet seen)
  const allow = load<u32>(rec + R_ALLOW);
  store<u8>(e + 2, <u8>allowLayer(allow));
  store<u8>(e + 3, 0);
  store<u32>(e + 4, allowRule(allow));
  keyCopy(e + 8, rec + keyOff(origin));
  memory.copy(e + 48, rec + R_PKTS_OUT, 32);
  store<u32>(e + 80, load<u32>(rec + R_CREATED));
  store<u32>(e + 84, load<u32>(rec + R_LAST_SEEN));
  store<f64>(e + 88, now);
}

/** A new flow denied by `layer`/`rule` for `reason`; `key` is its would-be key. */
export function logDeny(l: FlowLog, dir: u32, key: usize, layer: u32, rule: u32, reason: u32, now: f64): void {
  const e = slot(l);
  if (e == 0) return;
  memory.fill(e, 0, EVENT_SIZE);
  store<u8>(e, <u8>FlowEvent.Deny);
  store<u8>(e + 1, <u8>dir);
  store<u8>(e + 2, <u8>layer);
  store<u8>(e + 3, <u8>reason);
  store<u32>(e + 4, rule);
  keyCopy(e + 8, key);
  store<f64>(e + 88, now);
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
