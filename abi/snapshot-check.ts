// Why a snapshot was refused, in detail: which of the checks every restore
// runs (engine/snapshot/check.ts; docs/snapshot-format.md "Checks") failed,
// and where the engine leaves the particulars (snapshotCheckDetail()). The
// engine and the hosts compile this one file (abi/README.md); the hosts name
// a check after its member. Appended, never renumbered.

export enum SnapCheck {
  None = 0,
  HeaderTruncated = 1,  // a: bytes given (a header is 48)
  BadMagic = 2,         // a: the magic found
  Version = 3,          // a: the version found
  BodyLength = 4,       // a: bytes the header's body length needs, b: bytes given
  Checksum = 5,         // a: the header's checksum, b: the content's
  Flags = 6,            // a: the header's unknown flag bits
  Truncated = 7,        // a: byte offset where a section ran out
  CounterLayout = 8,    // a: port counters, b: reasons in the snapshot; c, d: this engine's
  PoolCount = 9,        // a: pools listed (at most 8)
  PoolId = 10,          // a: a pool id out of range or listed twice
  PoolRange = 11,       // a: pool id, b: first port, c: last port
  PoolMismatch = 12,    // a: pool id, b-c: its ports in the snapshot, d: 1 if the port has a pool of that id (else none)
  FlowCount = 13,       // a: flows the header counts, b: flows the flow section counts
  FlowsTooMany = 14,    // a: flows claimed, b: most the body's bytes can hold, c: body bytes left
  TableFull = 15,       // a: flows the port would hold, b: its table's capacity
  FlowTruncated = 16,   // flow; a: byte offset of the entry
  FlowFlags = 17,       // flow; a: unknown flag bits
  ReplyKind = 18,       // flow; a: reply-key kind stored without the indexed bit
  TcpState = 19,        // flow; a: the state byte
  TcpFlags = 20,        // flow; a: unknown TCP tracking bits
  TcpNotTcp = 21,       // flow; a: IP protocol, b: TCP state, c: 1 if it carries a TCP sequence number
  Meter = 22,           // flow; a: bandwidth class
  Vni = 23,             // flow; a: the flow's VNI, b: the port's
  VniMixed = 24,        // flow, other flow (the first); a: the flow's VNI, b: the first flow's
  NatNoPool = 25,       // flow; a: SNAT pool id not among the snapshot's (and the port's) pools
  NatOutside = 26,      // flow; a: pool, b: port, c-d: the pool's first and last port
  NatTwice = 27,        // flow, other flow; a: pool, b: port
  NatHeld = 28,         // flow; a: pool, b: port held by a flow of the port the snapshot keeps
  KeyTwice = 29,        // flow, other flow; direction, key
  KeyHeld = 30,         // flow; direction, key: a flow of the port the snapshot keeps has it
  DeletionCount = 31,   // a: deletions the header counts, b: the section's
  DeletionLength = 32,  // a: bytes the deletions need, b: bytes left
  DeletionsInFull = 33, // a: deletions in a full snapshot
  DeletionDir = 34,     // flow = deletion index; a: the direction byte
  Count = 35,
}

/** The detail area at snapshotCheckDetail(): u32 fields at these offsets, then a 40-byte key. */
export const CHECK_DETAIL_SIZE: u32 = 72;
export const CD_CODE: u32 = 0;       // SnapCheck
export const CD_FLOW: u32 = 4;       // the flow (or deletion) it is about, from 0 in file order; CD_NONE if none
export const CD_OTHER: u32 = 8;      // the earlier flow, when two share a key or a SNAT port; CD_NONE if none
export const CD_VALUES: u32 = 12;    // four u32 values a, b, c, d (their meaning per check, above)
export const CD_DIR: u32 = 28;       // the key's direction: 1 in, 2 out, 0 no key
export const CD_KEY: u32 = 32;       // the key (engine layout, engine/flow/key.ts)
export const CD_NONE: u32 = 0xffffffff;
