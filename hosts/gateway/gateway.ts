// The gateway host: boundary services between the rack's Geneve/IPv6 network
// and an external network (RFD 63 "Boundary Services"), on the same engine.
// One engine port: its guest side is the external network, its network side
// the rack. The NAT ingress table is the only state; it changes through the
// API and recompiles the boundary program (dendrite's API shape: ranges are
// inclusive, an identical re-add is a no-op, overlapping ranges are refused).

import { Engine } from "../engine/engine.js";
import { Batch, Dir, Verdict } from "../engine/batch.js";
import { encodePortProgram } from "../../layers/program/encode.js";
import { boundaryLayer, externalL2Layer, natIngressMappings, BoundaryConfig, NatIngressEntry } from "../../layers/boundary/boundary.js";
import { BOUNDARY_VNI, TABLE } from "../../layers/vpc/constants.js";
import { z } from "zod";
import { ip16, ipText, isIP, prefix16 } from "../../layers/program/addr.js";
import * as field from "../../layers/program/fields.js";
import { ConfigError } from "../../layers/vpc/config.js";
import { Committer } from "../lib/committer.js";
import type { Ledger } from "../lib/ledger.js";
import { gatewayState, GatewayState } from "./desired.js";
import type { GuestDevice } from "../sled/devices.js";
import type { UnderlayDriver } from "../sled/underlay.js";
import { Conflict, NotFound } from "../sled/sled.js";
import { Faults } from "../lib/faults.js";

export interface GatewayOptions {
  name: string;
  underlay: UnderlayDriver;
  underlayAddress: string;
  underlayMac: string;
  underlayNextHopMac: string;
  external: GuestDevice;
  boundary: Omit<BoundaryConfig, "nat">;
  flowCapacity?: number;
  engine?: Engine;
  now?: () => number;
  /** Called after every batch with its size and duration (metrics). */
  onBatch?: (frames: number, seconds: number) => void;
}

export const GATEWAY_PORT = 0;
const HEADROOM = 128;

export class GatewayHost {
  private nat = new Map<string, NatIngressEntry>();
  private readonly changes = new Committer<GatewayState>({ state: () => gatewayState(this) });
  private readonly batch: Batch;
  private queue: { dir: Dir; frame: Uint8Array }[] = [];
  private flushQueued = false;
  private readonly timer: NodeJS.Timeout;
  /** Errors in timers and I/O callbacks: counted and shown in health, never thrown (hosts/lib/faults.ts). */
  readonly faults = new Faults();
  /** Frames bigger than an engine slot (9216 B), from either side. */
  readonly pumpDrops = { oversize: 0 };

  private constructor(readonly engine: Engine, private readonly o: GatewayOptions) {
    engine.createPort(GATEWAY_PORT, {
      vni: o.boundary.vni ?? BOUNDARY_VNI, flowCapacity: o.flowCapacity ?? 65536, netEncap: true,
      underlayIp: o.underlayAddress, underlayMac: o.underlayMac, nextHopMac: o.underlayNextHopMac, mtu: o.boundary.underlayMtu ?? 9000,
      // boundary flows are a cache only: keep them briefly
      ttl: { tcpEstablished: 60_000, udp: 30_000, icmp: 10_000 },
    });
    this.batch = engine.newBatch(256, HEADROOM + 9216 + 256, HEADROOM);
    this.reload();
    engine.setPortState(GATEWAY_PORT, "running");
    o.external.onFrames(this.faults.guard("external", (frames: Uint8Array[]) => this.enqueue(Dir.Out, frames)));
    o.underlay.onFrames(this.faults.guard("underlay", (frames: Uint8Array[]) => this.enqueue(Dir.In, frames)));
    this.timer = setInterval(this.faults.guard("expire", () => engine.expire(GATEWAY_PORT, (o.now ?? Date.now)(), 4096)), 250);
    this.timer.unref();
  }

  static async create(o: GatewayOptions): Promise<GatewayHost> {
    return new GatewayHost(o.engine ?? (await Engine.load()), o);
  }

  private config(): BoundaryConfig {
    return { ...this.o.boundary, nat: [...this.nat.values()] };
  }

  /** Recompile the boundary program and the NAT ingress table from the current mappings. */
  private reload(): void {
    const c = this.config();
    this.engine.loadProgram(GATEWAY_PORT, encodePortProgram([externalL2Layer(c), boundaryLayer(c)]));
    this.engine.mapClear(TABLE.natIngress);
    for (const m of natIngressMappings(c)) this.engine.mapSet(m.table, m.vni, m.ip, m.portLo, m.portHi, m.target);
  }

  private static key(ip: string, firstPort: number): string { return `${ipText(ip16(ip))}/${firstPort}`; }

  /** Bumped by every acknowledged change (NAT mappings, owned prefixes). */
  get generation(): number { return this.changes.generation; }

  /**
   * From now on every change is written to `ledger` (if any) before it is
   * acknowledged, numbered on from `generation` (the ledger's): called once
   * the gateway is back to the ledger's state (hosts/gateway/startup.ts).
   */
  attachLedger(ledger: Ledger<GatewayState> | undefined, generation: number): void {
    this.changes.continueFrom(generation, ledger && ((g, state) => ledger.write(g, state)));
  }

  /** Write the desired state as it is now as a new generation (after a start that changed it). */
  async recordDesiredState(): Promise<void> {
    await this.changes.commit(() => ({ result: undefined }));
  }

  /**
   * One change: `edit` changes the mappings or prefixes (or throws), the
   * boundary program and NAT table are rebuilt from them, and listeners (BGP)
   * hear of new prefixes. If any of that fails, the old mappings and prefixes
   * are put back and rebuilt: nothing changed.
   */
  private change<T>(edit: () => { result: T; unchanged?: boolean }, prefixesChanged = false): Promise<T> {
    return this.changes.commit(async () => {
      const before = { nat: new Map(this.nat), boundary: this.o.boundary };
      const restore = async () => {
        this.nat = new Map(before.nat);
        this.o.boundary = before.boundary;
        this.reload();
        if (prefixesChanged) await this.tellPrefixListeners().catch(() => undefined);
      };
      const { result, unchanged } = edit();
      if (unchanged) return { result, unchanged };
      try {
        this.reload();
        if (prefixesChanged) await this.tellPrefixListeners();
      } catch (err) {
        await restore();
        throw err;
      }
      return { result, undo: restore };
    });
  }

  /** Add a NAT ingress mapping. Resolves to false when an identical one exists (no-op). */
  addNat(input: NatIngressEntry): Promise<boolean> {
    return this.change(() => {
      const e = checkNatEntry(input);
      const k = GatewayHost.key(e.ip, e.firstPort);
      const same = this.nat.get(k);
      if (same && JSON.stringify(same) === JSON.stringify({ ...same, ...e })) return { result: false, unchanged: true };
      for (const [key, x] of this.nat) {
        if (key !== k && ipText(ip16(x.ip)) === ipText(ip16(e.ip)) && e.firstPort <= x.lastPort && e.lastPort >= x.firstPort) {
          throw new Conflict(`${e.ip} ports ${e.firstPort}-${e.lastPort} overlap the mapping ${x.firstPort}-${x.lastPort}`);
        }
      }
      this.nat.set(k, e);
      return { result: true };
    });
  }

  async removeNat(ip: string, firstPort: number): Promise<void> {
    await this.change(() => {
      if (!isIP(ip) || !this.nat.delete(GatewayHost.key(ip, firstPort))) throw new NotFound(`no NAT mapping for ${ip} from port ${firstPort}`);
      return { result: undefined };
    });
  }

  /** The external ranges this gateway owns (answers ARP for, advertises). */
  get ownedPrefixes(): string[] { return [...this.o.boundary.ownedPrefixes]; }

  /** Change the owned ranges; `onOwnedPrefixes` listeners (BGP) hear about it. */
  async setOwnedPrefixes(prefixes: string[]): Promise<void> {
    await this.change(() => {
      prefixes.forEach((p, i) => {
        try { prefix16(p); } catch (err) { throw new ConfigError([{ path: `ownedPrefixes.${i}`, message: (err as Error).message }]); }
      });
      this.o.boundary = { ...this.o.boundary, ownedPrefixes: [...prefixes] };
      return { result: undefined };
    }, true);
  }
  private readonly prefixListeners: ((p: string[]) => Promise<void> | void)[] = [];
  onOwnedPrefixes(f: (p: string[]) => Promise<void> | void): void { this.prefixListeners.push(f); }
  private async tellPrefixListeners(): Promise<void> {
    for (const f of this.prefixListeners) await f(this.ownedPrefixes);
  }

  listNat(ip?: string): NatIngressEntry[] {
    const all = [...this.nat.values()];
    return ip ? all.filter((x) => ipText(ip16(x.ip)) === ipText(ip16(ip))) : all;
  }

  private enqueue(dir: Dir, frames: Uint8Array[]): void {
    for (const frame of frames) this.queue.push({ dir, frame });
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.faults.guard("flush", () => { this.flushQueued = false; this.flush(); }));
  }

  flush(): void {
    const b = this.batch;
    while (this.queue.length) {
      const batch = this.queue.splice(0, b.slots);
      const take = batch.filter((x) => x.frame.length <= b.capacity);
      this.pumpDrops.oversize += batch.length - take.length;
      take.forEach((x, i) => b.set(i, x.frame, GATEWAY_PORT, x.dir));
      const t0 = process.hrtime.bigint();
      b.run(take.length, (this.o.now ?? Date.now)());
      this.o.onBatch?.(take.length, Number(process.hrtime.bigint() - t0) / 1e9);
      const toRack: Uint8Array[] = [], toExternal: Uint8Array[] = [];
      take.forEach((x, i) => {
        const v = b.verdict(i);
        // boundary programs have no ToHost rules; a frame handed over would have nowhere to go
        if (v === Verdict.Drop || v === Verdict.ToHost) return;
        const out = Uint8Array.from(b.output(i));
        ((v === Verdict.Pass) === (x.dir === Dir.Out) ? toRack : toExternal).push(out);
      });
      if (toRack.length) this.o.underlay.send(toRack);
      if (toExternal.length) this.o.external.send(toExternal);
    }
  }

  /** The underlay driver's frame and error counters. */
  underlayStats() { return this.o.underlay.stats(); }

  stats() {
    return { name: this.o.name, mappings: this.nat.size, flows: this.engine.flowCount(GATEWAY_PORT), counters: this.engine.counters(GATEWAY_PORT) };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.o.external.close();
    await this.o.underlay.close();
  }
}

/** A NAT ingress mapping as the engine takes it: 24-bit VNI, 16-bit ports (first ≤ last), 48-bit MAC. */
const NatEntrySchema = z.object({ ip: field.ip, firstPort: field.port, lastPort: field.port, sled: field.ipv6, vni: field.vni, mac: field.mac })
  .refine((e) => e.firstPort <= e.lastPort, { path: ["lastPort"], message: "the port range is empty (first > last)" });

/**
 * A NAT ingress mapping checked whole, with the shared field parsers, before
 * it goes near the engine: an entry the engine refused would otherwise sit
 * in the table and fail every later reload.
 */
export function checkNatEntry(e: NatIngressEntry): NatIngressEntry {
  const r = NatEntrySchema.safeParse(e);
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })));
  return r.data;
}
