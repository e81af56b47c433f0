// Decoding flow records (engine/flow/record.ts) for dumps, the CLI and the
// snapshot tool.

import { ipText, macText } from "../../layers/program/addr.js";
import { addrAt } from "./engine.js";

/** engine/flow/tcp.ts TcpState, by number (OPTE's states, from the guest's side). */
export const TCP_STATES = ["closed", "listen", "syn-sent", "syn-rcvd", "established", "close-wait", "last-ack",
  "fin-wait-1", "fin-wait-2", "time-wait"] as const;

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

const MOD_NAMES = ["ethSrc", "ethDst", "ipSrc", "ipDst", "sport", "dport", "ttlDec", "encap", "decap", "external"];

export function decodeKey(dv: DataView, k: number): FlowKeyView {
  const pv = dv.getUint32(k + 36, true);
  return {
    src: ipText(addrAt(dv, k)), dst: ipText(addrAt(dv, k + 16)),
    sport: dv.getUint16(k + 32, true), dport: dv.getUint16(k + 34, true),
    proto: pv & 0xff, vni: pv >>> 8,
  };
}

function wireMac(dv: DataView, at: number): string {
  let v = 0n;
  for (let i = 0; i < 6; i++) v = (v << 8n) | BigInt(dv.getUint8(at + i));
  return macText(v);
}

export function decodeXform(dv: DataView, x: number): XformView {
  const mods = dv.getUint16(x, true);
  const v: XformView = {
    valid: (mods & 0x8000) !== 0, epoch: dv.getUint16(x + 10, true),
    mods: MOD_NAMES.filter((_, i) => mods & (1 << i)),
  };
  if (mods & 1) v.ethSrc = wireMac(dv, x + 12);
  if (mods & 2) v.ethDst = wireMac(dv, x + 18);
  if (mods & 0xc) v.ip = ipText(addrAt(dv, x + 24));
  if (mods & 0x10) v.sport = dv.getUint16(x + 6, true);
  if (mods & 0x20) v.dport = dv.getUint16(x + 8, true);
  if (mods & 0x80) v.encapRef = dv.getUint32(x + 40, true);
  return v;
}

export function decodeFlow(dv: DataView, rec: number, index: number): FlowView {
  const flags = dv.getUint8(rec + 213);
  const natPool = dv.getUint16(rec + 220, true);
  const f: FlowView = {
    index,
    origin: dv.getUint8(rec + 214) === 2 ? "out" : "in",
    out: {
      ...decodeKey(dv, rec), indexed: (flags & 1) !== 0,
      pkts: Number(dv.getBigUint64(rec + 168, true)), bytes: Number(dv.getBigUint64(rec + 176, true)),
      xform: decodeXform(dv, rec + 80),
    },
    in: {
      ...decodeKey(dv, rec + 40), indexed: (flags & 2) !== 0,
      pkts: Number(dv.getBigUint64(rec + 184, true)), bytes: Number(dv.getBigUint64(rec + 192, true)),
      xform: decodeXform(dv, rec + 124),
    },
    tcpState: TCP_STATES[dv.getUint8(rec + 212)] ?? "unknown",
    createdSec: dv.getUint32(rec + 200, true),
    lastSeenMs: dv.getUint32(rec + 204, true),
    layerBits: dv.getUint32(rec + 216, true),
  };
  const allow = dv.getUint32(rec + 228, true);
  if ((allow & 0xff) !== 0) {
    const r = allow >>> 8;
    f.allow = { layer: (allow & 0xff) - 1, rule: r === 0xfffffe ? 0xfffffffe : r === 0xffffff ? 0xffffffff : r };
  }
  if (natPool !== 0xffff) f.nat = { pool: natPool, port: dv.getUint16(rec + 222, true) };
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

const EVENTS = ["", "start", "end", "deny"] as const;

/** One flow-log event (engine/flow/log.ts). */
export function decodeFlowEvent(dv: DataView, e: number): FlowEventView {
  const k = decodeKey(dv, e + 8);
  const v: FlowEventView = {
    event: EVENTS[dv.getUint8(e)] as FlowEventView["event"], dir: dv.getUint8(e + 1) === 2 ? "out" : "in",
    proto: k.proto, src: k.src, dst: k.dst, sport: k.sport, dport: k.dport, vni: k.vni,
    pktsOut: Number(dv.getBigUint64(e + 48, true)), bytesOut: Number(dv.getBigUint64(e + 56, true)),
    pktsIn: Number(dv.getBigUint64(e + 64, true)), bytesIn: Number(dv.getBigUint64(e + 72, true)),
    createdSec: dv.getUint32(e + 80, true), lastSeenMs: dv.getUint32(e + 84, true), timeMs: dv.getFloat64(e + 88, true),
  };
  // deny: the rule that denied; start and end: the rule that allowed the flow (255 when not known)
  v.layer = dv.getUint8(e + 2); v.rule = dv.getUint32(e + 4, true);
  if (v.event === "deny") v.reason = dv.getUint8(e + 3);
  return v;
}
