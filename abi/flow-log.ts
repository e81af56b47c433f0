// Flow-log events (engine/flow/log.ts): 96 bytes each, drained by the host
// with portFlowLogDrain.

export const EVENT_SIZE: usize = 96;

export const EV_KIND: usize = 0;         // u8 FlowEvent
export const EV_DIR: usize = 1;          // u8 Dir of the flow's first packet (deny: of the denied one)
export const EV_LAYER: usize = 2;        // u8 deny: the denying layer; start, end: the allowing one (NO_LAYER: unknown)
export const EV_REASON: usize = 3;       // u8 deny: why (abi/reason.ts), else 0
export const EV_RULE: usize = 4;         // u32 the rule of EV_LAYER (NO_RULE: unknown)
export const EV_KEY: usize = 8;          // key 40 (abi/record.ts): the flow as its first packet travelled
export const EV_PKTS_OUT: usize = 48;    // u64 × 4: pktsOut, bytesOut, pktsIn, bytesIn, as in the record
export const EV_BYTES_OUT: usize = 56;
export const EV_PKTS_IN: usize = 64;
export const EV_BYTES_IN: usize = 72;
export const EV_CREATED: usize = 80;     // u32 seconds
export const EV_LAST_SEEN: usize = 84;   // u32 ms
export const EV_TIME: usize = 88;        // f64 host clock (ms) of the event

export enum FlowEvent {
  Start = 1,
  End = 2,
  Deny = 3,
}
