// The flow record (engine/flow/record.ts says why it looks this way): one
// 232-byte record per flow, both directions. Hosts decode records for flow
// dumps at portFlowRecords(id) + i × FLOW_RECORD_SIZE.

export const REC_SIZE: usize = 232;

export const R_KEY_OUT: usize = 0;     // key 40: the flow as it leaves the guest (guest side → network)
export const R_KEY_IN: usize = 40;     // key 40: the flow as it arrives from the network (after decap)
export const R_X_OUT: usize = 80;      // transformation 44 (abi/xform.ts) for the out direction
export const R_X_IN: usize = 124;      // … and for the in direction
export const R_PKTS_OUT: usize = 168;  // u64
export const R_BYTES_OUT: usize = 176; // u64
export const R_PKTS_IN: usize = 184;   // u64
export const R_BYTES_IN: usize = 192;  // u64
export const R_CREATED: usize = 200;   // u32 host clock, seconds
export const R_LAST_SEEN: usize = 204; // u32 host clock, milliseconds (wrap-safe differences)
export const R_DIRTY: usize = 208;     // u32 snapshot generation of the last change
export const R_TCP: usize = 212;       // u8 TCP state (TcpState)
export const R_FLAGS: usize = 213;     // u8 RF_* flags
export const R_ORIGIN: usize = 214;    // u8 Dir of the flow's first packet
export const R_METER: usize = 215;     // u8 bandwidth class, 0 none
export const R_LAYER_BITS: usize = 216; // u32: 4 bits per layer index, LayerBit
export const R_NAT_POOL: usize = 220;  // u16 SNAT binding's pool (NO_NAT_POOL: none)
export const R_NAT_PORT: usize = 222;  // u16 … and port
export const R_GUEST_SEQ: usize = 224; // u32 TCP: the guest's last sequence number (valid with RF_GUEST_SEQ)
export const R_ALLOW: usize = 228;     // u32 the rule that let the flow in: layer index + 1 (low byte, 0 none), rule id (upper 24 bits)

// Record flags.
export const RF_KEY_OUT: u32 = 1;    // keyOut is indexed
export const RF_KEY_IN: u32 = 2;     // keyIn is indexed
export const RF_LIVE: u32 = 4;       // record is in use (free records have flags 0)
export const RF_GUEST_SEQ: u32 = 16; // guestSeq holds the guest's last TCP sequence number

export const NO_NAT_POOL: u32 = 0xffff;

/** R_ALLOW's rule ids are 24 bits: these stand for DEFAULT_RULE and NO_RULE (abi/batch.ts). */
export const ALLOW_DEFAULT_RULE: u32 = 0xfffffe;
export const ALLOW_NO_RULE: u32 = 0xffffff;

// Stateful decisions a layer records for a flow (4 bits per layer index).
export enum LayerBit {
  Allow = 1,
  SrcNat = 2,
  DstNat = 4,
}

// The flow key (40 bytes): what identifies one direction of a flow.
export const KEY_SIZE: usize = 40;
export const K_SRC_HI: usize = 0;     // u64 pairs: 128-bit addresses, IPv4 as ::ffff:a.b.c.d
export const K_SRC_LO: usize = 8;
export const K_DST_HI: usize = 16;
export const K_DST_LO: usize = 24;
export const K_SPORT: usize = 32;     // u16 (ICMP echo: the identifier in both)
export const K_DPORT: usize = 34;     // u16
export const K_PROTO_VNI: usize = 36; // u32: IP protocol in the low byte, VNI in the upper 24 bits

/** TCP states (OPTE's, from the guest's side). */
export enum TcpState {
  Closed = 0,
  Listen = 1,
  SynSent = 2,
  SynRcvd = 3,
  Established = 4,
  CloseWait = 5,
  LastAck = 6,
  FinWait1 = 7,
  FinWait2 = 8,
  TimeWait = 9,
}
