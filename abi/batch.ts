// The batch ABI (docs/abi.md "The datapath"): hosts write frames into a
// batch area, one 32-byte little-endian descriptor each, and make one
// processBatch call per batch; the engine fills in the rest.

export const DESC_SIZE: u32 = 32;

// Descriptor fields, written by the host:
export const D_PTR: u32 = 0;       // u32 frame start (an absolute address)
export const D_LEN: u32 = 4;       // u16 frame length
export const D_CAP: u32 = 6;       // u16 bytes writable from ptr (≥ len; room for a hairpin reply)
export const D_HEADROOM: u32 = 8;  // u16 bytes writable in front of ptr (room for encapsulation)
export const D_PORT: u32 = 10;     // u16 port id
export const D_DIR: u32 = 12;      // u8 Dir
// … and by the engine:
export const D_VERDICT: u32 = 13;  // u8 Verdict
export const D_REASON: u32 = 14;   // u8 drop reason; for a hairpin the engine sent in place of the frame (packet too big), why (`TooBig`); else 0
export const D_LAYER: u32 = 15;    // u8 deciding layer index (NO_LAYER: none): the layer that dropped, answered or handed the frame over; for a frame that passed, the layer whose rule allowed its flow
export const D_RULE: u32 = 16;     // u32 deciding rule id (DEFAULT_RULE, NO_RULE); for a pass, the flow's allowing rule (the first StatefulAllow of its origin direction's walk), fast path and replies included
export const D_OUT_PTR: u32 = 20;  // u32 output frame start (before ptr after encapsulation, after it after decapsulation)
export const D_OUT_LEN: u32 = 24;  // u16 output length (26: 2 bytes reserved)
export const D_HASH: u32 = 28;     // u32 flow hash (RSS/ECMP; the outer UDP source port is `0xc000 | hash & 0x3fff`), 0 for frames that are not flows

/** Which side of the port a frame comes from. */
export enum Dir {
  In = 1,  // from the network side
  Out = 2, // from the guest side
}

export enum Verdict {
  Pass = 1,
  Drop = 2,
  Hairpin = 3, // a reply goes back the way the frame came
  ToHost = 4,  // a ToHost rule handed the frame, unchanged, to the host (below)
}

/** The deciding layer when no layer decided (a parse drop, a hairpin before the layers). */
export const NO_LAYER: u32 = 0xff;
/** Rule ids a verdict reports besides a rule's own: a layer's default action, and no rule at all. */
export const DEFAULT_RULE: u32 = 0xfffffffe;
export const NO_RULE: u32 = 0xffffffff;
