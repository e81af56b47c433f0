// Decoding flow records and flow-log events (layouts in abi/record.ts,
// abi/xform.ts, abi/flow-log.ts) for dumps, the CLI and the snapshot tool.

import { ipText } from "../../layers/program/addr.js";
import { addrAt, wireMac } from "./memory.js";
import {
  K_SRC_HI, K_DST_HI, K_SPORT, K_DPORT, K_PROTO_VNI, R_KEY_OUT, R_KEY_IN, R_X_OUT, R_X_IN, R_PKTS_OUT, R_BYTES_OUT,
  R_PKTS_IN, R_BYTES_IN, R_CREATED, R_LAST_SEEN, R_TCP, R_FLAGS, R_ORIGIN, R_LAYER_BITS, R_NAT_POOL, R_NAT_PORT, R_ALLOW,
  RF_KEY_OUT, RF_KEY_IN, NO_NAT_POOL, ALLOW_DEFAULT_RULE, ALLOW_NO_RULE, TcpState,
} from "../../abi/record.js";
import { X_MODS, X_SPORT, X_DPORT, X_EPOCH, X_ETH_SRC, X_ETH_DST, X_IP_HI, X_ENCAP, Mod } from "../../abi/xform.js";
import {
  EV_KIND, EV_DIR, EV_LAYER, EV_REASON, EV_RULE, EV_KEY, EV_PKTS_OUT, EV_BYTES_OUT, EV_PKTS_IN, EV_BYTES_IN,
  EV_CREATED, EV_LAST_SEEN, EV_TIME, FlowEvent,
} from "../../abi/flow-log.js";
import { Dir, DEFAULT_RULE, NO_RULE } from "../../abi/batch.js";

/** TcpState's members by number, as OPTE writes them: "syn-sent", "fin-wait-1", … */
export const TCP_STATES: readonly string[] = Object.entries(TcpState)
  .filter((kv): kv is [string, number] => typeof kv[1] === "number")
  .sort((a, b) => a[1] - b[1])
  .map(([name]) => name.replace(/([a-z])([A-Z0-9])/g, "$1-$2").toLowerCase());

export interface FlowKeyView {
  src: string; dst: string; sport: number; dport: number; proto: number; vni: number;
}

export interface XformView {
  valid: boolean; epoch: number; mods: string[];
  ethSrc?: string; ethDst?: string; ip?: string; sport?: number; dport?: number; encapRef?: number;
}

export interface FlowView {
  index: number;
  origin: "in" | "out";
  out: FlowKeyView & { indexed: boolean; pkts: number; bytes: number; xform: XformView };
  in: FlowKeyView & { indexed: boolean; pkts: number; bytes: number; xform: XformView };
  tcpState: string;
  createdSec: number;
  lastSeenMs: number;
  nat?: { pool: number; port: number };
  layerBits: number;
  /** The rule that let the flow in (engine/flow/record.ts R_ALLOW): layer index and rule id; undefined when not known. */
  allow?: { layer: number; rule: number };
}

/** How a dump names each Mod bit; every bit but Valid has a name (the compiler checks). */
const MOD_NAMES: Record<Exclude<keyof typeof Mod, "Valid">, string> = {
  EthSrc: "ethSrc", EthDst: "ethDst", IpSrc: "ipSrc", IpDst: "ipDst", Sport: "sport", Dport: "dport",
  TtlDec: "ttlDec", Encap: "encap", Decap: "decap", EncapExternal: "external", EncapMss: "mss",
  EncapMulticast: "multicast",
};
const MOD_BITS = (Object.keys(MOD_NAMES) as (keyof typeof MOD_NAMES)[])
  .map((k) => [Mod[k], MOD_NAMES[k]] as const).sort((a, b) => a[0] - b[0]);

export function decodeKey(dv: DataView, k: number): FlowKeyView {
  const pv = dv.getUint32(k + K_PROTO_VNI, true);
  return {
    src: ipText(addrAt(dv, k + K_SRC_HI)), dst: ipText(addrAt(dv, k + K_DST_HI)),
    sport: dv.getUint16(k + K_SPORT, true), dport: dv.getUint16(k + K_DPORT, true),
    proto: pv & 0xff, vni: pv >>> 8,
  };
}

export function decodeXform(dv: DataView, x: number): XformView {
  const mods = dv.getUint16(x + X_MODS, true);
  const v: XformView = {
    valid: (mods & Mod.Valid) !== 0, epoch: dv.getUint16(x + X_EPOCH, true),
    mods: MOD_BITS.filter(([bit]) => mods & bit).map(([, name]) => name),
  };
  if (mods & Mod.EthSrc) v.ethSrc = wireMac(dv, x + X_ETH_SRC);
  if (mods & Mod.EthDst) v.ethDst = wireMac(dv, x + X_ETH_DST);
  if (mods & (Mod.IpSrc | Mod.IpDst)) v.ip = ipText(addrAt(dv, x + X_IP_HI));
  if (mods & Mod.Sport) v.sport = dv.getUint16(x + X_SPORT, true);
  if (mods & Mod.Dport) v.dport = dv.getUint16(x + X_DPORT, true);
  if (mods & Mod.Encap) v.encapRef = dv.getUint32(x + X_ENCAP, true);
  return v;
}

/** A rule id as the engine reports it, from its 24-bit form in a record. */
function allowedRule(r: number): number {
  return r === ALLOW_DEFAULT_RULE ? DEFAULT_RULE : r === ALLOW_NO_RULE ? NO_RULE : r;
}

export function decodeFlow(dv: DataView, rec: number, index: number): FlowView {
  const flags = dv.getUint8(rec + R_FLAGS);
  const natPool = dv.getUint16(rec + R_NAT_POOL, true);
  const u64 = (at: number) => Number(dv.getBigUint64(rec + at, true));
  const f: FlowView = {
    index,
    origin: dv.getUint8(rec + R_ORIGIN) === Dir.Out ? "out" : "in",
    out: {
      ...decodeKey(dv, rec + R_KEY_OUT), indexed: (flags & RF_KEY_OUT) !== 0,
      pkts: u64(R_PKTS_OUT), bytes: u64(R_BYTES_OUT), xform: decodeXform(dv, rec + R_X_OUT),
    },
    in: {
      ...decodeKey(dv, rec + R_KEY_IN), indexed: (flags & RF_KEY_IN) !== 0,
      pkts: u64(R_PKTS_IN), bytes: u64(R_BYTES_IN), xform: decodeXform(dv, rec + R_X_IN),
    },
    tcpState: TCP_STATES[dv.getUint8(rec + R_TCP)] ?? "unknown",
    createdSec: dv.getUint32(rec + R_CREATED, true),
    lastSeenMs: dv.getUint32(rec + R_LAST_SEEN, true),
    layerBits: dv.getUint32(rec + R_LAYER_BITS, true),
  };
  const allow = dv.getUint32(rec + R_ALLOW, true);
  if ((allow & 0xff) !== 0) f.allow = { layer: (allow & 0xff) - 1, rule: allowedRule(allow >>> 8) };
  if (natPool !== NO_NAT_POOL) f.nat = { pool: natPool, port: dv.getUint16(rec + R_NAT_PORT, true) };
  return f;
}

export interface FlowEventView {
  event: "start" | "end" | "deny";
  dir: "in" | "out";
  proto: number; src: string; dst: string; sport: number; dport: number; vni: number;
  layer?: number; rule?: number; reason?: number;
  pktsOut: number; bytesOut: number; pktsIn: number; bytesIn: number;
  createdSec: number; lastSeenMs: number; timeMs: number;
}

const EVENTS: Record<number, FlowEventView["event"]> = { [FlowEvent.Start]: "start", [FlowEvent.End]: "end", [FlowEvent.Deny]: "deny" };

/** One flow-log event (engine/flow/log.ts). */
export function decodeFlowEvent(dv: DataView, e: number): FlowEventView {
  const k = decodeKey(dv, e + EV_KEY);
  const u64 = (at: number) => Number(dv.getBigUint64(e + at, true));
  const v: FlowEventView = {
    event: EVENTS[dv.getUint8(e + EV_KIND)], dir: dv.getUint8(e + EV_DIR) === Dir.Out ? "out" : "in",
    proto: k.proto, src: k.src, dst: k.dst, sport: k.sport, dport: k.dport, vni: k.vni,
    pktsOut: u64(EV_PKTS_OUT), bytesOut: u64(EV_BYTES_OUT), pktsIn: u64(EV_PKTS_IN), bytesIn: u64(EV_BYTES_IN),
    createdSec: dv.getUint32(e + EV_CREATED, true), lastSeenMs: dv.getUint32(e + EV_LAST_SEEN, true),
    timeMs: dv.getFloat64(e + EV_TIME, true),
  };
  // deny: the rule that denied; start and end: the rule that allowed the flow (255 when not known)
  v.layer = dv.getUint8(e + EV_LAYER); v.rule = dv.getUint32(e + EV_RULE, true);
  if (v.event === "deny") v.reason = dv.getUint8(e + EV_REASON);
  return v;
}
