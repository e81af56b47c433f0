// The host side of engine.wasm: ports, rule programs, tables, batches,
// counters and flow dumps, in the words of docs/abi.md. Hosts (sled,
// gateway, harness, snapshot tool) all go through this class.

import { ip16, parseMac, ipText, macText } from "../../layers/program/addr.js";
import { explainEngineError } from "./errors.js";
import { reasonName, PORT_COUNTERS, REASON_COUNT } from "./reasons.js";
import { Batch } from "./batch.js";
import { addrAt, EngineFn, EngineMemory } from "./memory.js";
import type { EngineExports } from "./wasm.js";
import { decodeFlow, FlowView, decodeFlowEvent, FlowEventView } from "./flows.js";
import { Reason } from "../../abi/reason.js";
import { LayerStat } from "../../abi/counters.js";
import { Dir } from "../../abi/batch.js";
import { R_FLAGS, RF_LIVE } from "../../abi/record.js";
import {
  E_USED, E_TABLE, E_KEY_VNI, E_KEY_HI, E_PORT_LO, E_PORT_HI, E_ENCAP_VNI, E_UNDERLAY_HI, E_MAC, E_HITS,
} from "../../abi/maps.js";
import { PortState } from "../../abi/port-config.js";
import { encodePortConfig, PortConfig } from "../../layers/program/port-config.js";

export type PortStateName = "ready" | "running" | "paused";
const STATE = { ready: PortState.Ready, running: PortState.Running, paused: PortState.Paused } as const;

/** A control call the engine refused; the message is in the operator's terms (hosts/engine/errors.ts), `op` and `reason` for code. */
export class EngineError extends Error {
  constructor(readonly op: string, readonly reason: number) {
    super(explainEngineError(op, reason));
  }
}

export type { EngineExports };

export class Engine implements EngineMemory {
  private u8cache: Uint8Array;
  private dvcache: DataView;

  private constructor(readonly x: EngineExports) {
    this.u8cache = new Uint8Array(x.memory.buffer);
    this.dvcache = new DataView(x.memory.buffer);
  }

  /** Load build/engine.wasm (or the given file/bytes) under Node. */
  static async load(wasm?: string | Uint8Array): Promise<Engine> {
    // A computed specifier: bundlers for the browser playground leave this Node-only module out.
    const wasmModule = "./wasm.js";
    const { instantiateEngine } = (await import(wasmModule)) as typeof import("./wasm.js");
    return new Engine(await instantiateEngine(wasm));
  }

  /** Wrap an engine instantiated elsewhere (the browser playground). */
  static fromExports(x: EngineExports): Engine {
    return new Engine(x);
  }

  /**
   * Byte view of engine memory, refreshed after memory growth. Growth detaches
   * the old buffer (its views report byteLength 0), which is much cheaper to
   * test than reading `memory.buffer` on every access.
   */
  get u8(): Uint8Array {
    if (this.u8cache.byteLength === 0) this.refresh();
    return this.u8cache;
  }
  get dv(): DataView {
    if (this.dvcache.byteLength === 0) this.refresh();
    return this.dvcache;
  }
  private refresh(): void {
    this.u8cache = new Uint8Array(this.x.memory.buffer);
    this.dvcache = new DataView(this.x.memory.buffer);
  }

  fn(name: string): EngineFn {
    const f = this.x[name];
    if (typeof f !== "function") throw new Error(`engine.wasm has no export ${name}`);
    return f as EngineFn;
  }
  constant(name: string): number {
    const g = this.x[name] as WebAssembly.Global | undefined;
    if (!g) throw new Error(`engine.wasm has no export ${name}`);
    return Number(g.value);
  }

  /** Copy bytes into freshly allocated engine memory; the caller frees it. */
  put(bytes: Uint8Array): number {
    const ptr = this.fn("alloc")(bytes.length);
    this.u8.set(bytes, ptr);
    return ptr;
  }
  private withBytes<T>(bytes: Uint8Array, f: (ptr: number) => T): T {
    const ptr = this.put(bytes);
    try { return f(ptr); } finally { this.fn("free")(ptr); }
  }
  private check(op: string, r: number): void {
    if (r !== 0) throw new EngineError(op, r);
  }

  // ---- ports
  createPort(id: number, c: PortConfig): void {
    const cfg = encodePortConfig(c);
    this.check("portCreate", this.withBytes(cfg, (p) => this.fn("portCreate")(id, p, cfg.length)));
  }
  reconfigurePort(id: number, c: PortConfig): void {
    const cfg = encodePortConfig(c);
    this.check("portReconfigure", this.withBytes(cfg, (p) => this.fn("portReconfigure")(id, p, cfg.length)));
  }
  destroyPort(id: number): void { this.check("portDestroy", this.fn("portDestroy")(id)); }
  portExists(id: number): boolean { return this.fn("portExists")(id) !== 0; }
  setPortState(id: number, s: PortStateName): void { this.check("portSetState", this.fn("portSetState")(id, STATE[s])); }
  portState(id: number): PortStateName | "none" {
    return (["none", "ready", "running", "paused"] as const)[this.fn("portState")(id)] ?? "none";
  }
  /** Drop every flow, zero the counters and hit counts; the port is left ready (not processing). */
  resetPort(id: number): void { this.check("portReset", this.fn("portReset")(id)); }
  portEpoch(id: number): number { return this.fn("portEpoch")(id) >>> 0; }

  // ---- rule programs
  loadProgram(id: number, program: Uint8Array): void {
    this.check("portLoadProgram", this.withBytes(program, (p) => this.fn("portLoadProgram")(id, p, program.length)));
  }
  replaceLayer(id: number, layer: Uint8Array): void {
    this.check("portReplaceLayer", this.withBytes(layer, (p) => this.fn("portReplaceLayer")(id, p, layer.length)));
  }
  /** Insert and remove single rules of layer `li` (an edit from encodeLayerEdit), all or nothing. */
  editLayer(id: number, li: number, edit: Uint8Array): void {
    this.check("portEditLayer", this.withBytes(edit, (p) => this.fn("portEditLayer")(id, li, p, edit.length)));
  }
  /** The bytes of layer `li` as the engine has them (as loaded, or as edits left them). */
  layerBytes(id: number, li: number): Uint8Array {
    const p = this.fn("layerBlob")(id, li), len = this.fn("layerBlobLen")(id, li);
    return this.u8.slice(p, p + len);
  }
  /** Benchmarks and diagnostics: find first matching rules by scanning every rule in order (the reference) instead of each layer's index. */
  setRuleScan(on: boolean): void { this.fn("ruleMatchByScan")(on ? 1 : 0); }

  // ---- NAT pools
  setNatPool(id: number, pool: number, ip: string, portLo: number, portHi: number): void {
    this.check("portSetNatPool", this.withBytes(ip16(ip), (p) => this.fn("portSetNatPool")(id, pool, p, portLo, portHi)));
  }
  removeNatPool(id: number, pool: number): void { this.check("portRemoveNatPool", this.fn("portRemoveNatPool")(id, pool)); }
  natUsage(id: number, pool: number): { inUse: number; size: number; exhausted: number } {
    return {
      inUse: this.fn("portNatInUse")(id, pool) >>> 0,
      size: this.fn("portNatPoolSize")(id, pool) >>> 0,
      exhausted: this.fn("portNatExhausted")(id, pool),
    };
  }

  // ---- bandwidth
  /**
   * Limit port `id` in direction `dir` ("in" from the network, "out" from the guest):
   * meter 0 is the whole port, 1..15 the flow classes rules assign. 0 bits/s removes the limit.
   */
  setMeter(id: number, meter: number, dir: "in" | "out", bitsPerSec: number, burstBytes: number, nowMs: number): void {
    this.check("portSetMeter", this.fn("portSetMeter")(id, meter, dir === "in" ? Dir.In : Dir.Out, bitsPerSec / 8, burstBytes, nowMs));
  }

  // ---- mapping tables
  mapSet(table: number, vni: number, ip: string, portLo: number, portHi: number,
         target: { encapVni: number; underlay: string; mac: string }): number {
    const key = ip16(ip), under = ip16(target.underlay);
    const buf = new Uint8Array(32);
    buf.set(key, 0); buf.set(under, 16);
    const mac = parseMac(target.mac);
    const r = this.withBytes(buf, (p) => this.fn("mapSet")(table, vni, p, portLo, portHi, target.encapVni,
      p + 16, Number(mac >> 32n), Number(mac & 0xffffffffn)));
    if (r < 0) throw new EngineError("mapSet", -r);
    return r;
  }
  mapRemove(table: number, vni: number, ip: string, portLo: number): boolean {
    return this.withBytes(ip16(ip), (p) => this.fn("mapRemove")(table, vni, p, portLo)) !== 0;
  }
  mapClear(table: number): number { return this.fn("mapClear")(table); }

  /** Every live mapping entry, decoded. */
  mapEntries(): { table: number; vni: number; ip: string; portLo: number; portHi: number; encapVni: number; underlay: string; mac: string; hits: number }[] {
    const base = this.fn("mapEntries")(), n = this.fn("mapEntrySlots")(), size = this.constant("MAP_ENTRY_SIZE");
    const out = [];
    const dv = this.dv, u8 = this.u8;
    for (let i = 0; i < n; i++) {
      const e = base + i * size;
      if (u8[e + E_USED] === 0) continue;
      out.push({
        table: dv.getUint32(e + E_TABLE, true), vni: dv.getUint32(e + E_KEY_VNI, true),
        ip: ipText(addrAt(dv, e + E_KEY_HI)), portLo: dv.getUint16(e + E_PORT_LO, true), portHi: dv.getUint16(e + E_PORT_HI, true),
        encapVni: dv.getUint32(e + E_ENCAP_VNI, true), underlay: ipText(addrAt(dv, e + E_UNDERLAY_HI)),
        mac: macText(dv.getBigUint64(e + E_MAC, true)), hits: Number(dv.getBigUint64(e + E_HITS, true)),
      });
    }
    return out;
  }

  // ---- flows
  expire(id: number, nowMs: number, budget: number): number { return this.fn("portExpire")(id, nowMs, budget); }
  flowCount(id: number): number { return this.fn("portFlowCount")(id) >>> 0; }
  flowCapacity(id: number): number { return this.fn("portFlowCapacity")(id) >>> 0; }
  bytesPerFlow(id: number): number { return this.fn("portFlowBytesPerFlow")(id) >>> 0; }
  clearFlows(id: number): void { this.check("portFlowsClear", this.fn("portFlowsClear")(id)); }

  /** Decode every live flow record of a port. */
  flows(id: number): FlowView[] {
    const base = this.fn("portFlowRecords")(id), n = this.fn("portFlowSlots")(id);
    const size = this.constant("FLOW_RECORD_SIZE");
    const out: FlowView[] = [];
    for (let i = 0; i < n; i++) {
      const rec = base + i * size;
      if ((this.u8[rec + R_FLAGS] & RF_LIVE) === 0) continue;
      out.push(decodeFlow(this.dv, rec, i));
    }
    return out;
  }

  // ---- flow logs
  /** Keep a ring of `capacity` flow events for this port (0 turns flow logging off). */
  setFlowLog(id: number, capacity: number): void { this.check("portFlowLog", this.fn("portFlowLog")(id, capacity)); }

  /** Take the port's waiting flow events, oldest first. */
  drainFlowLog(id: number, max = 4096): FlowEventView[] {
    const size = this.constant("FLOW_EVENT_SIZE");
    const buf = this.fn("alloc")(max * size);
    try {
      const n = this.fn("portFlowLogDrain")(id, buf, max);
      const dv = this.dv;
      const out: FlowEventView[] = [];
      for (let i = 0; i < n; i++) out.push(decodeFlowEvent(dv, buf + i * size));
      return out;
    } finally {
      this.fn("free")(buf);
    }
  }
  flowLogDropped(id: number): number { return this.fn("portFlowLogDropped")(id); }

  // ---- counters
  counters(id: number): Record<string, number> & { drops: Record<string, number> } {
    const base = this.fn("portCounters")(id);
    if (!base) throw new EngineError("portCounters", Reason.NoPort);
    const dv = this.dv;
    const out: Record<string, number> = {};
    PORT_COUNTERS.forEach((name, i) => (out[name] = Number(dv.getBigUint64(base + 8 * i, true))));
    const drops: Record<string, number> = {};
    for (let r = 0; r < REASON_COUNT; r++) {
      const v = Number(dv.getBigUint64(base + 8 * (PORT_COUNTERS.length + r), true));
      if (v) drops[reasonName(r)] = v;
    }
    return Object.assign(out, { drops });
  }

  /** Layers of a port with their rule hit counts. */
  layers(id: number): { name: string; stats: Record<string, number>; rules: { id: number; hits: number }[] }[] {
    const n = this.fn("portLayerCount")(id);
    const out = [];
    for (let li = 0; li < n; li++) {
      const blob = this.fn("layerBlob")(id, li);
      const u8 = this.u8, dv = this.dv;
      const name = new TextDecoder().decode(u8.subarray(blob + 8, blob + 24)).replace(/\0+$/, "");
      const ruleCount = dv.getUint32(blob + 28, true);
      const hits = this.fn("layerRuleHits")(id, li);
      const rules = [];
      let off = 32;
      for (let r = 0; r < ruleCount; r++) {
        const rule = blob + off;
        rules.push({ id: dv.getUint32(rule + 8, true), hits: Number(dv.getBigUint64(hits + 8 * r, true)) });
        off += dv.getUint16(rule, true);
      }
      const s = (w: number) => this.fn("layerStat")(id, li, w);
      out.push({ name, rules, stats: {
        hitsIn: s(LayerStat.HitsIn), hitsOut: s(LayerStat.HitsOut), defaultIn: s(LayerStat.DefaultHitsIn),
        defaultOut: s(LayerStat.DefaultHitsOut), denies: s(LayerStat.Denies),
      } });
    }
    return out;
  }

  /**
   * Set the replication mode of the Multicast option in the underlay frame at
   * [ptr, ptr + len) of a batch area (an engine output): 0 External, 1
   * Underlay, 2 Both. Returns 0 or the reason it was refused (docs/abi.md).
   */
  setReplication(ptr: number, len: number, mode: number): number {
    return this.fn("underlaySetReplication")(ptr, len, mode);
  }

  newBatch(slots = 64, slotSize = 2048, headroom = 128): Batch {
    return new Batch(this, slots, slotSize, headroom);
  }
}
