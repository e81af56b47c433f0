// What the engine's snapshot checks refused, in words (engine/snapshot/
// check.ts and refusal.ts; docs/snapshot-format.md "Checks"). The engine
// records the check that failed, the flows it is about, a few numbers and a
// key; this names them: "two flows share key out tcp 10.0.0.5:40000 >
// 203.0.113.9:443 vni 10 (flows 0 and 2)". A restore's refusal, a dry-run
// check and `wopte snapshot verify` all read them from here, so they say the
// same thing about the same file.

import type { Engine } from "../engine/engine.js";
import { TCP_STATES } from "../engine/flows.js";
import { engineKeyAt, SnapshotKey } from "./format.js";
import { SnapCheck, CD_CODE, CD_FLOW, CD_OTHER, CD_VALUES, CD_DIR, CD_KEY, CD_NONE } from "../../abi/snapshot-check.js";

/** Every check's name, by number (abi/snapshot-check.ts). */
export const SNAP_CHECKS = Object.keys(SnapCheck).filter((k) => Number.isNaN(Number(k)) && k !== "Count") as SnapCheckName[];
export type SnapCheckName = Exclude<keyof typeof SnapCheck, "Count">;

const NONE = CD_NONE;

export interface SnapshotCheckDetail {
  check: SnapCheckName;
  /** The flow (or deletion) it is about, counted from 0 in file order (as `wopte snapshot inspect --json` lists them). */
  flow?: number;
  /** The earlier flow, when two share a key or a SNAT port. */
  otherFlow?: number;
  values: [number, number, number, number];
  dir?: "in" | "out";
  key?: SnapshotKey;
}

/** The engine's record of the last refused check (snapshotCheckDetail()). */
export function readCheckDetail(e: Engine): SnapshotCheckDetail {
  const at = e.fn("snapshotCheckDetail")();
  const dv = e.dv;
  const u = (o: number) => dv.getUint32(at + o, true);
  const code = u(CD_CODE), dir = u(CD_DIR);
  const v = CD_VALUES;
  const d: SnapshotCheckDetail = { check: (SnapCheck[code] ?? `check${code}`) as SnapCheckName, values: [u(v), u(v + 4), u(v + 8), u(v + 12)] };
  if (u(CD_FLOW) !== NONE) d.flow = u(CD_FLOW);
  if (u(CD_OTHER) !== NONE) d.otherFlow = u(CD_OTHER);
  if (dir === 1 || dir === 2) { d.dir = dir === 2 ? "out" : "in"; d.key = engineKeyAt(dv, at + CD_KEY); }
  return d;
}

const PROTO: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6" };
export function keyText(dir: string, k: SnapshotKey): string {
  const host = (a: string) => (a.includes(":") ? `[${a}]` : a);
  return `${dir} ${PROTO[k.proto] ?? `proto ${k.proto}`} ${host(k.src)}:${k.sport} > ${host(k.dst)}:${k.dport} vni ${k.vni}`;
}
const hex = (n: number) => `0x${n.toString(16)}`;
const state = (n: number) => TCP_STATES[n] ?? `state ${n}`;

/** What was refused, in a sentence; `port` names the target when there was one. */
export function describeCheck(d: SnapshotCheckDetail, port?: string): string {
  const [a, b, c, dd] = d.values;
  const f = `flow ${d.flow}`;
  const key = d.key && d.dir ? keyText(d.dir, d.key) : "";
  const thePort = port ? `port ${port}` : "the port";
  switch (d.check) {
    case "HeaderTruncated": return `truncated at byte ${a}: a snapshot header is 48 bytes`;
    case "BadMagic": return "not a wopte snapshot (bad magic)";
    case "Version": return `unknown snapshot version ${a} (this engine reads versions 1 and 2)`;
    case "BodyLength":
      if (b >= 0x80000000) return `${b} bytes: snapshots of 2 GiB or more are not read`;
      return a > b ? `truncated at byte ${b}: the header says ${a}` : `${b - a} stray bytes after the snapshot`;
    case "Checksum": return `checksum mismatch: header says ${hex(a)}, content has ${hex(b)}`;
    case "Flags": return `unknown flags ${hex(a)}`;
    case "Truncated": return `truncated at byte ${a}`;
    case "CounterLayout":
      return b === NONE ? `a version-1 snapshot with ${a} counters (version 1 is read with 74: 16 port counters and 58 reasons)`
        : `written by a newer build: ${a} port counters and ${b} drop reasons, this engine has ${c} and ${dd}`;
    case "PoolCount": return `${a} SNAT pools listed (a port has at most 8)`;
    case "PoolId": return `SNAT pool id ${a} is out of range (0-7) or listed twice`;
    case "PoolRange": return `SNAT pool ${a} runs from port ${b} to port ${c}, backwards`;
    case "PoolMismatch":
      return `the snapshot's SNAT pool ${a} (ports ${b}-${c}) ${dd ? `differs from ${thePort}'s` : `is not on ${thePort}`}: ` +
        "give the port the same externalIps (SNAT address and ports) as the source";
    case "FlowCount": return `the header counts ${a} flows, the flow section ${b}`;
    case "FlowsTooMany": return `the header counts ${a} flows; the ${c} bytes that follow hold at most ${b}`;
    case "TableFull":
      return port ? `${a} flows do not fit ${thePort}'s table of ${b} (limits.flows)` : `${a} flows do not fit the largest table a port can have (${b})`;
    case "FlowTruncated": return `${f} (at byte ${a}) runs past the end`;
    case "FlowFlags": return `${f}: unknown flag bits ${hex(a)}`;
    case "ReplyKind": return `${f}: a reply key (kind ${a}) stored but not marked indexed`;
    case "TcpState": return `${f}: invalid TCP state ${a === 0xff ? "(a version-1 state out of range)" : a} (states are 0-9)`;
    case "TcpFlags": return `${f}: unknown TCP tracking bits ${hex(a)}`;
    case "TcpNotTcp": return `${f}: a ${PROTO[a] ?? `protocol ${a}`} flow with ${c ? "a TCP sequence number" : `TCP state ${state(b)}`}`;
    case "Meter": return `${f}: bandwidth class ${a} (classes are 0-15)`;
    case "Vni": return `${f} of VNI ${a} for a port of VNI ${b} (${key})`;
    case "VniMixed": return `${f} is of VNI ${a}, flow 0 of VNI ${b}: a port's flows share one VNI (${key})`;
    case "NatNoPool": return `${f}: SNAT binding in pool ${a}, which the snapshot does not list`;
    case "NatOutside": return `${f}: SNAT port ${b} outside the port's pool ${a} (${c}-${dd})`;
    case "NatTwice": return `SNAT port ${b} held twice (pool ${a}, flows ${d.otherFlow} and ${d.flow})`;
    case "NatHeld": return `${f}: SNAT port ${b} (pool ${a}) is held by a flow of ${thePort} this incremental snapshot neither deletes nor replaces`;
    case "KeyTwice": return `two flows share key ${key} (flows ${d.otherFlow} and ${d.flow})`;
    case "KeyHeld": return `${f}: key ${key} belongs to a flow of ${thePort} this incremental snapshot neither deletes nor replaces`;
    case "DeletionCount": return `the header counts ${a} deletions, the deletion section ${b}`;
    case "DeletionLength": return a > b ? `the deletions need ${a} bytes, ${b} are left` : `${b - a} bytes after the last section`;
    case "DeletionsInFull": return `a full snapshot with ${a} deletions (only incremental ones delete)`;
    case "DeletionDir": return `deletion ${d.flow}: bad direction ${a} (1 in, 2 out)`;
    case "None": return "no check failed";
  }
  return `${d.check} ${d.values.join(" ")}`;
}
