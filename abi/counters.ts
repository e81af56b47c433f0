// The counters a port keeps (u64 each, at portCounters(id)): these first,
// then one per reason (abi/reason.ts), Ctr.Count + Reason.Count u64s in all
// (COUNTERS_PER_PORT). Hosts name them after these members (pktsIn, …).
// Appended, never renumbered: snapshots and metrics read them by number.

export enum Ctr {
  PktsIn = 0,            // frames from the network side
  PktsOut = 1,           // frames from the guest side
  BytesIn = 2,
  BytesOut = 3,
  FastIn = 4,            // frames a cached transformation handled (fast path)
  FastOut = 5,
  SlowIn = 6,            // frames that walked the layers (slow path)
  SlowOut = 7,
  FlowsCreated = 8,
  FlowsExpired = 9,      // flows removed after their idle lifetime
  FlowsClosed = 10,      // TCP flows removed once closed
  Hairpins = 11,         // replies the engine generated itself
  DropsIn = 12,          // frames dropped, by side (by reason: the counters after Count)
  DropsOut = 13,
  Reevaluated = 14,      // flows walked through the layers again (a rule or mapping changed)
  ToHost = 15,           // frames a ToHost rule handed to the host (verdict 4)
  Count = 16,
}

/** Where the drop counters start: Reason r is counter DROP_COUNTERS_AT + r. */
export const DROP_COUNTERS_AT: u32 = Ctr.Count;

/** What layerStat(port, layer, which) returns. */
export enum LayerStat {
  HitsIn = 0,
  HitsOut = 1,
  DefaultHitsIn = 2,
  DefaultHitsOut = 3,
  Denies = 4,
}
