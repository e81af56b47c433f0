// Engine errors in the operator's terms: what was being done, what was wrong
// and what to do, instead of the export's name and a reason number
// ("portSnapshotRestore: SnapshotMismatch"). The engine's reasons stay
// values (abi/reason.ts); this is how a host says them.

import { reasonName } from "./reasons.js";

/** What each control call was doing, as a person would put it. */
const DOING: Record<string, string> = {
  portCreate: "create the port", portReconfigure: "change the port", portDestroy: "remove the port",
  portSetState: "change the port's state", portLoadProgram: "load the port's rules", portReplaceLayer: "replace a layer of the port's rules", portEditLayer: "edit a layer of the port's rules",
  portSetNatPool: "set a SNAT pool", portRemoveNatPool: "remove a SNAT pool", mapSet: "add the mapping", mapRemove: "remove the mapping",
  portSnapshotBegin: "export the snapshot", portSnapshotRestore: "restore the snapshot", portSetMeter: "set a bandwidth limit",
  portCounters: "read the port's counters", portFlowLog: "set the flow log",
  portFlowsClear: "clear the port's flows", portFlowRemoveAt: "remove the flow", portReset: "reset the port",
  underlaySetReplication: "set the replication mode",
};

/** Why, per reason, with the way out where there is one. */
const WHY: Record<string, string> = {
  NoPort: "there is no such port in the engine",
  PortExists: "a port with that id exists already: remove it first, or pick another id",
  BadArgument: "a value is out of range (port ids are 0-1023; a state, SNAT pool id or port range, bandwidth setting, replication mode, rule position, flow capacity, MTU or lifetime)",
  NoSuchPool: "the port has no SNAT pool with that id",
  NoSuchFlow: "there is no flow at that index (it ended, or the index is past the table)",
  NoSuchLayer: "the port's rules have no such layer (a name its program lacks, or an index out of range)",
  PortPaused: "the port is paused: resume it first",
  BadDescriptor: "an address outside the engine's batch areas",
  BadVersion: "a format version the engine does not know",
  BadLength: "its bytes do not add up (a length field, a count, a block too short)",
  Truncated: "its bytes end too early",
  FlowTableFull: "the table is full: raise limits.flows or remove entries",
  SnapshotCorrupt: "it is damaged (bad magic, checksum or lengths): take it again",
  SnapshotVersion: "it was written in a format version this engine does not read: take it with this version",
  SnapshotMismatch: "it does not fit this port: it has a NAT binding outside the port's SNAT pools or more flows than its table holds; give the port the same externalIps and limits.flows as the source",
  SnapshotGap: "the changes since that generation are no longer all recorded: take a full snapshot (without --since)",
  NatExhausted: "the SNAT port block has no free port",
  NoEncapTarget: "the mapping table has no room or no such entry",
};

export function explainEngineError(op: string, reason: number): string {
  const name = reasonName(reason);
  const doing = DOING[op] ?? op;
  return `could not ${doing}: ${WHY[name] ?? name}`;
}
