// The rule-program encoder: layers and rules as plain data → the engine's
// binary rule-program format, version 4 (docs/rule-program.md). The VPC
// compiler (layers/vpc) builds these objects; the engine validates and runs
// the bytes.

import { prefix16, parseMac, ip16 } from "./addr.js";

export const PORT_PROGRAM_MAGIC = 0x50504f57; // "WOPP"
export const LAYER_MAGIC = 0x4c504f57;        // "WOPL"
export const PROGRAM_VERSION = 4;

export const FIELD = {
  ethSrc: 1, ethDst: 2, etherType: 3, ipVersion: 4, srcIp: 5, dstIp: 6, proto: 7, srcPort: 8,
  dstPort: 9, icmpType: 10, icmpCode: 11, vni: 12, ttl: 13, arpOp: 14, arpTargetIp: 15,
  arpSenderIp: 16, meta0: 17, meta1: 18, meta2: 19, meta3: 20, tcpFlags: 21, outerSrcIp: 22,
  outerDstIp: 23, isFragment: 24, vlan: 25, oxideOptions: 26, ipLength: 27, flowHash: 28, ndpTarget: 29,
  dstMapped: 30,
} as const;

export type MacField = "ethSrc" | "ethDst";
export type PrefixField = "srcIp" | "dstIp" | "arpTargetIp" | "arpSenderIp" | "outerSrcIp" | "outerDstIp" | "ndpTarget";
export type MaskField = "tcpFlags" | "oxideOptions";
export type RangeField = Exclude<keyof typeof FIELD, MacField | PrefixField | MaskField>;

export type Predicate =
  | { field: MacField; macs: string[]; not?: boolean }
  | { field: PrefixField; prefixes: string[]; not?: boolean }
  | { field: MaskField; masks: { mask: number; want: number }[]; not?: boolean }
  | { field: RangeField; values: (number | [number, number])[]; not?: boolean };

export type SetOp =
  | { op: "ethSrc" | "ethDst"; mac: string }
  | { op: "ipSrc" | "ipDst"; ip: string }
  | { op: "sport" | "dport"; port: number }
  | { op: "meta"; reg: 0 | 1 | 2 | 3; value: number }
  | { op: "ttlDec" }
  /** Put the flow in bandwidth class 1..15 (engine/meter.ts). */
  | { op: "meter"; class: number };

export type EncapKey = "innerDst" | "innerDstNoVni" | { vni: number; ip: string; port: number };

export type Action =
  | { kind: "allow" }
  | { kind: "deny"; reason?: number }
  | { kind: "statefulAllow" }
  | { kind: "modify"; set: SetOp[] }
  | { kind: "hairpin"; hairpin: number; params: Uint8Array }
  | {
      kind: "encap"; table: number; key: EncapKey; setInnerEthDst?: boolean; external?: boolean;
      /** The entry is a multicast group's underlay (M2P): group MACs inside and out, the Multicast option; TCP refused. */
      multicast?: boolean;
      /** Inner TCP carries the Oxide MSS option (body 0, for the host to fill when it segments). */
      mssOnTcp?: boolean;
    }
  | { kind: "decap" }
  | { kind: "snat"; pool: number }
  | { kind: "nat11Src"; ip: string }
  | { kind: "nat11Dst"; ip: string }
  /** Hand the frame, unchanged, to the host (verdict ToHost). */
  | { kind: "toHost" };

export type RuleDir = "in" | "out" | "both";

export interface Rule {
  /** Opaque id reported in verdicts, counters and dumps. */
  id: number;
  dir: RuleDir;
  /** Lower runs first; equal priorities keep their order in the list. */
  priority: number;
  predicates: Predicate[];
  action: Action;
}

export type DefaultAction = "allow" | "deny" | "statefulAllow";

export interface LayerDef {
  name: string;
  defaultIn: DefaultAction;
  defaultOut: DefaultAction;
  rules: Rule[];
}

const ACTION = { allow: 1, deny: 2, statefulAllow: 3, modify: 4, hairpin: 5, encap: 6, decap: 7, snat: 8, nat11Src: 9, nat11Dst: 10, toHost: 11 } as const;
const DIR = { in: 1, out: 2, both: 3 } as const;
const SETOP = { ethSrc: 1, ethDst: 2, ipSrc: 3, ipDst: 4, sport: 5, dport: 6, meta: 7, ttlDec: 11, meter: 12 } as const;
export const ENCAP_FLAG = { keyFromInnerDst: 1, setInnerEthDst: 2, external: 4, keyVniZero: 8, multicast: 16, mssOnTcp: 32 } as const;

/** A growable little-endian byte writer. */
class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): this { this.room(1); this.view.setUint8(this.len, v); this.len += 1; return this; }
  u16(v: number): this { this.room(2); this.view.setUint16(this.len, v, true); this.len += 2; return this; }
  u32(v: number): this { this.room(4); this.view.setUint32(this.len, v >>> 0, true); this.len += 4; return this; }
  u64(v: bigint): this { this.room(8); this.view.setBigUint64(this.len, v, true); this.len += 8; return this; }
  bytes(b: Uint8Array): this { this.room(b.length); this.buf.set(b, this.len); this.len += b.length; return this; }
  pad4(): this { while (this.len & 3) this.u8(0); return this; }
  patch16(at: number, v: number): void { this.view.setUint16(at, v, true); }
  patch32(at: number, v: number): void { this.view.setUint32(at, v >>> 0, true); }
  done(): Uint8Array { return this.buf.slice(0, this.len); }
}

function checkU(v: number, bits: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) throw new Error(`${what} out of range: ${v}`);
  return v;
}

function encodePredicate(w: Writer, p: Predicate): void {
  const field = FIELD[p.field];
  if (field === undefined) throw new Error(`unknown predicate field ${String((p as { field: string }).field)}`);
  const flags = p.not ? 1 : 0;
  if ("macs" in p) {
    if (p.macs.length === 0) throw new Error(`predicate ${p.field} needs at least one MAC`);
    w.u8(field).u8(flags).u16(p.macs.length);
    for (const m of p.macs) w.u64(parseMac(m));
  } else if ("prefixes" in p) {
    if (p.prefixes.length === 0) throw new Error(`predicate ${p.field} needs at least one prefix`);
    w.u8(field).u8(flags).u16(p.prefixes.length);
    for (const s of p.prefixes) {
      const { addr, len } = prefix16(s);
      w.bytes(addr).u8(len).u8(0).u16(0);
    }
  } else if ("masks" in p) {
    if (p.masks.length === 0) throw new Error(`predicate ${p.field} needs at least one mask`);
    w.u8(field).u8(flags).u16(p.masks.length);
    for (const m of p.masks) w.u32(checkU(m.mask, 32, "mask")).u32(checkU(m.want, 32, "want"));
  } else {
    if (p.values.length === 0) throw new Error(`predicate ${p.field} needs at least one value`);
    w.u8(field).u8(flags).u16(p.values.length);
    for (const v of p.values) {
      const [lo, hi] = typeof v === "number" ? [v, v] : v;
      if (checkU(lo, 32, p.field) > checkU(hi, 32, p.field)) throw new Error(`empty range ${lo}-${hi} for ${p.field}`);
      w.u32(lo).u32(hi);
    }
  }
}

function encodeAction(a: Action): Uint8Array {
  const w = new Writer();
  switch (a.kind) {
    case "allow": case "deny": case "statefulAllow": case "decap": case "toHost": break;
    case "modify":
      for (const s of a.set) {
        switch (s.op) {
          case "ethSrc": case "ethDst": w.u8(SETOP[s.op]).u8(8).u16(0).u64(parseMac(s.mac)); break;
          case "ipSrc": case "ipDst": w.u8(SETOP[s.op]).u8(16).u16(0).bytes(ip16(s.ip)); break;
          case "sport": case "dport": w.u8(SETOP[s.op]).u8(4).u16(0).u32(checkU(s.port, 16, "port")); break;
          case "meta": w.u8(SETOP.meta + checkU(s.reg, 2, "meta register")).u8(4).u16(0).u32(checkU(s.value, 32, "meta value")); break;
          case "ttlDec": w.u8(SETOP.ttlDec).u8(0).u16(0); break;
          case "meter":
            if (!Number.isInteger(s.class) || s.class < 1 || s.class > 15) throw new Error(`bandwidth class must be 1..15: ${s.class}`);
            w.u8(SETOP.meter).u8(4).u16(0).u32(s.class);
            break;
        }
      }
      break;
    case "hairpin": w.u32(a.hairpin).bytes(a.params); break;
    case "encap": {
      let flags = 0;
      if (a.setInnerEthDst) flags |= ENCAP_FLAG.setInnerEthDst;
      if (a.external) flags |= ENCAP_FLAG.external;
      if (a.multicast) flags |= ENCAP_FLAG.multicast;
      if (a.mssOnTcp) flags |= ENCAP_FLAG.mssOnTcp;
      if (a.key === "innerDst" || a.key === "innerDstNoVni") {
        flags |= ENCAP_FLAG.keyFromInnerDst;
        if (a.key === "innerDstNoVni") flags |= ENCAP_FLAG.keyVniZero;
        w.u32(flags).u32(a.table).u32(0).bytes(new Uint8Array(16)).u32(0);
      } else {
        w.u32(flags).u32(a.table).u32(checkU(a.key.vni, 24, "vni")).bytes(ip16(a.key.ip)).u32(checkU(a.key.port, 16, "port"));
      }
      break;
    }
    case "snat": w.u32(checkU(a.pool, 3, "pool")); break;
    case "nat11Src": case "nat11Dst": w.bytes(ip16(a.ip)); break;
  }
  return w.done();
}

function encodeRule(w: Writer, r: Rule): void {
  if (r.predicates.length > 255) throw new Error(`rule ${r.id}: too many predicates`);
  const start = w.len;
  w.u16(0) // size, patched
    .u8(DIR[r.dir])
    .u8(r.predicates.length)
    .u16(checkU(r.priority, 16, "priority"))
    .u8(ACTION[r.action.kind])
    .u8(r.action.kind === "deny" ? (r.action.reason ?? 0) : 0)
    .u32(checkU(r.id, 32, "rule id"));
  const params = encodeAction(r.action);
  w.u16(params.length).u16(0);
  for (const p of r.predicates) encodePredicate(w, p);
  w.bytes(params).pad4();
  const size = w.len - start;
  if (size > 0xffff) throw new Error(`rule ${r.id} is too large (${size} bytes)`);
  w.patch16(start, size);
}

/** One layer → its program bytes. */
export function encodeLayer(l: LayerDef): Uint8Array {
  const name = new TextEncoder().encode(l.name);
  if (name.length === 0 || name.length > 16) throw new Error(`layer name must be 1-16 bytes: ${l.name}`);
  const w = new Writer();
  w.u32(LAYER_MAGIC).u16(PROGRAM_VERSION).u16(0);
  const nameBuf = new Uint8Array(16);
  nameBuf.set(name);
  w.bytes(nameBuf).u8(ACTION[l.defaultIn]).u8(ACTION[l.defaultOut]).u16(0).u32(l.rules.length);
  for (const r of l.rules) encodeRule(w, r);
  return w.done();
}

export const LAYER_EDIT_MAGIC = 0x45504f57; // "WOPE"

/** One step of a layer edit: a rule inserted so that it has `position`, or the rule at `position` removed. */
export type EditStep = { op: "insert"; position: number; rule: Rule } | { op: "remove"; position: number };

/** Steps applied in turn to one layer (each position as the steps before it left the layer) → the edit bytes. */
export function encodeLayerEdit(steps: EditStep[]): Uint8Array {
  if (steps.length > 0xffff) throw new Error(`too many edit steps: ${steps.length}`);
  const w = new Writer();
  w.u32(LAYER_EDIT_MAGIC).u16(steps.length).u16(0);
  for (const s of steps) {
    w.u8(s.op === "insert" ? 1 : 2).u8(0).u16(0).u32(checkU(s.position, 32, "position"));
    if (s.op === "insert") encodeRule(w, s.rule);
  }
  return w.done();
}

/** One rule → its bytes, as they appear in a layer program. */
export function encodeRuleBytes(r: Rule): Uint8Array {
  const w = new Writer();
  encodeRule(w, r);
  return w.done();
}

/** All layers of a port, in outbound order → the port program bytes. */
export function encodePortProgram(layers: LayerDef[]): Uint8Array {
  const w = new Writer();
  w.u32(PORT_PROGRAM_MAGIC).u16(PROGRAM_VERSION).u16(layers.length);
  for (const l of layers) {
    const b = encodeLayer(l);
    w.u32(b.length).bytes(b);
  }
  return w.done();
}
