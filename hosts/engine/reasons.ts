// Names of the engine's drop/parse reasons (engine/reason.ts holds the numbers;
// test/engine/reasons.test.ts proves the two lists agree).

export const REASONS: Record<string, number> = {
  None: 0, Truncated: 1, BadVersion: 2, BadLength: 3, BadHeaderLength: 4, BadChecksum: 5,
  UnsupportedEtherType: 6, ExtHeaderLimit: 7, Fragment: 8, BadGeneve: 9, UnknownCriticalOption: 10,
  NotEncapsulated: 11, BadArp: 12, BadIcmp: 13, BadTcp: 14, BadUdp: 15, BadVlan: 16, HopByHopNotFirst: 17,
  LayerDeny: 32, NoPort: 33, PortNotRunning: 34, FlowTableFull: 35, NatExhausted: 36,
  NoEncapTarget: 37, SpoofedSource: 38, WrongVni: 39, NotForPort: 40, TtlExceeded: 41, TooBig: 42,
  XformUnsupported: 43, NoHeadroom: 44, HairpinFailed: 45, RateLimited: 46, TcpInvalid: 47,
  BadDescriptor: 48, Unroutable: 49,
  SnapshotCorrupt: 50, SnapshotVersion: 51, SnapshotMismatch: 52, SnapshotGap: 53,
  MulticastTcp: 54, NoMulticastTarget: 55, NotMember: 56, SourceFiltered: 57,
  PortPaused: 58,
};
export const REASON_COUNT = 59;

const byNumber = new Map<number, string>(Object.entries(REASONS).map(([k, v]) => [v, k]));

export function reasonName(n: number): string {
  return byNumber.get(n) ?? `Reason${n}`;
}

export function reasonNumber(name: string): number {
  const n = REASONS[name];
  if (n === undefined) throw new Error(`unknown reason ${name}`);
  return n;
}

/** The engine's per-port counters before the drop-reason block (engine/port.ts Ctr). */
export const PORT_COUNTERS = [
  "pktsIn", "pktsOut", "bytesIn", "bytesOut", "fastIn", "fastOut", "slowIn", "slowOut",
  "flowsCreated", "flowsExpired", "flowsClosed", "hairpins", "dropsIn", "dropsOut", "reevaluated", "toHost",
] as const;
export type PortCounterName = (typeof PORT_COUNTERS)[number];
