// The sled host: one engine, one port per guest VNIC, frames pumped between
// guest devices and the Geneve underlay in batches (RFD 63 "Instance to
// Instance" steps 5-10). Control-plane changes recompile the port's VPC
// config and swap only the layers that changed, so rule hit counters and
// flow state survive unrelated updates. Multicast reaches every local member
// port (hosts/sled/multicast.ts), and a guest's IGMPv3/MLDv2 reports, which
// the engine hands over with verdict ToHost, change its port's membership.

import { Engine } from "../engine/engine.js";
import { Batch, Dir, Verdict } from "../engine/batch.js";
import { reasonName } from "../engine/reasons.js";
import { ruleRef, ruleText, ruleName, ruleJson } from "../../layers/vpc/rule-names.js";
import { compilePort, CompiledPort, LAYER_ORDER, applyMeters } from "../../layers/vpc/compile.js";
import { encodeLayer } from "../../layers/program/encode.js";
import { TABLE } from "../../layers/vpc/constants.js";
import { ConfigError, PortConfigInput } from "../../layers/vpc/config.js";
import { macText, ip16 } from "../../layers/program/addr.js";
import { FlowLogFile } from "./flow-log.js";
import { Faults } from "../lib/faults.js";
import { Capture, CapturePoint } from "./capture.js";
import type { GuestDevice } from "./devices.js";
import type { FrameBatch } from "../io/ring.js";
import type { UnderlayDriver } from "./underlay.js";
import { SledMulticast, M2pEntry, innerGroupOf } from "./multicast.js";
import { groupsAfterReports, Membership, ReportCounters } from "./membership.js";

export interface SledPort {
  name: string;
  id: number;
  /** A packet capture in progress on this port. */
  capture?: Capture;
  /** Where this port's flow log goes (JSON lines), when it is on. */
  flowLog?: FlowLogFile;
  json: PortConfigInput;
  compiled: CompiledPort;
  device: GuestDevice;
  layerBytes: Map<string, Uint8Array>;
  /** Membership reports from the guest (hosts/sled/membership.ts). */
  reports: ReportCounters;
}

export interface V2pEntry { vni: number; ip: string; mac: string; underlay: string }

export interface SledOptions {
  name: string;
  underlay: UnderlayDriver;
  /** This sled's underlay address: frames the engine sends to it loop back to local ports. */
  underlayAddress?: string;
  engine?: Engine;
  batchSlots?: number;
  /** Records looked at per port per expiry tick. */
  expireBudget?: number;
  expireIntervalMs?: number;
  now?: () => number;
  /** Called after every batch with its size and duration (metrics). */
  onBatch?: (frames: number, seconds: number) => void;
}

export class NotFound extends Error {}
export class Conflict extends Error {}

type Pending = { port: SledPort; dir: Dir; frame: Uint8Array };

const HEADROOM = 128;
const SLOT = HEADROOM + 9216 + 256;

export class SledHost {
  readonly ports = new Map<string, SledPort>();
  private readonly byMacVni = new Map<string, SledPort>();
  private readonly v2p = new Map<string, V2pEntry>();
  private readonly mcast: SledMulticast<SledPort>;
  private readonly batch: Batch;
  private queue: Pending[] = [];
  /** The port and direction of each slot of the batch in flight. */
  private readonly slotPort: SledPort[] = [];
  private readonly slotDir: Dir[] = [];
  /** The capture index of each slot's input frame (-1: not captured), to mark drops. */
  private readonly slotCapture: number[] = [];
  /** Guest devices with output staged in the batch in flight. */
  private readonly touched = new Set<GuestDevice>();
  /** Frames bigger than an engine slot (9216 B), from either side. */
  readonly pumpDrops = { oversize: 0 };
  private flushing = false;
  private flushQueued = false;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  /** Underlay frames for no local port: unicast to an unknown MAC, multicast to a group no local port joined. */
  readonly underlayDrops = { unknownDestination: 0, noMembers: 0, malformed: 0 };
  /** Errors in timers and I/O callbacks: counted and shown in health, never thrown (hosts/lib/faults.ts). */
  readonly faults = new Faults();
  /** Bumped by every acknowledged change (the API carries it in its answers). */
  generation = 0;

  private readonly self: Uint8Array | undefined;

  private constructor(readonly engine: Engine, private readonly o: SledOptions) {
    this.now = o.now ?? (() => Date.now());
    this.self = o.underlayAddress ? ip16(o.underlayAddress) : undefined;
    this.batch = engine.newBatch(o.batchSlots ?? 256, SLOT, HEADROOM);
    this.mcast = new SledMulticast(engine);
    o.underlay.onFrames(this.faults.guard("underlay", (frames: Uint8Array[]) => this.fromUnderlay(frames)));
    this.timer = setInterval(this.faults.guard("expire", () => this.expire()), o.expireIntervalMs ?? 100);
    this.timer.unref();
  }

  static async create(o: SledOptions): Promise<SledHost> {
    return new SledHost(o.engine ?? (await Engine.load()), o);
  }

  get name(): string { return this.o.name; }
  get underlayAddress(): string | undefined { return this.o.underlayAddress; }
  /** The underlay driver's frame and error counters. */
  underlayStats() { return this.o.underlay.stats(); }

  // ---- ports

  port(name: string): SledPort {
    const p = this.ports.get(name);
    if (!p) throw new NotFound(`no port named ${name}`);
    return p;
  }

  private freeId(): number {
    const used = new Set([...this.ports.values()].map((p) => p.id));
    for (let id = 0; id < 1024; id++) if (!used.has(id)) return id;
    throw new Conflict("the sled has 1024 ports already");
  }

  /** Create a port from a VPC port config and attach its guest device. */
  addPort(json: PortConfigInput, device: GuestDevice): SledPort {
    const compiled = compilePort(json);
    const name = compiled.config.name;
    if (this.ports.has(name)) throw new Conflict(`port ${name} exists`);
    const key = `${compiled.config.vni}/${compiled.config.guest.mac.toLowerCase()}`;
    if (this.byMacVni.has(key)) throw new Conflict(`another port has MAC ${compiled.config.guest.mac} on VNI ${compiled.config.vni}`);
    const id = compiled.config.id ?? this.freeId();
    const e = this.engine;
    e.createPort(id, compiled.engineConfig);
    try {
      for (const pool of compiled.natPools) e.setNatPool(id, pool.pool, pool.ip, pool.firstPort, pool.lastPort);
      e.loadProgram(id, compiled.program);
      for (const m of compiled.mappings) e.mapSet(m.table, m.vni, m.ip, m.portLo, m.portHi, m.target);
      applyMeters(e, id, compiled, this.now());
    } catch (err) {
      e.destroyPort(id);
      throw err;
    }
    e.setPortState(id, "running");
    const port: SledPort = {
      name, id, json: structuredClone(json), compiled, device,
      layerBytes: new Map(compiled.layers.map((l) => [l.name, encodeLayer(l)])),
      reports: { learned: 0, bad: 0, ignoredRecords: 0 },
    };
    this.ports.set(name, port);
    this.byMacVni.set(key, port);
    for (const m of compiled.config.v2p) this.v2p.set(`${m.vni ?? compiled.config.vni}/${m.ip}`, { vni: m.vni ?? compiled.config.vni, ip: m.ip, mac: m.mac, underlay: m.underlay });
    for (const m of compiled.config.m2p) this.mcast.noteM2p(m);
    this.mcast.reindex(this.ports.values());
    if (device.onBatch && device.stage && device.commit) device.onBatch(this.faults.guard("guest", (fb: FrameBatch) => this.fromGuestBatch(port, fb)));
    else device.onFrames(this.faults.guard("guest", (frames: Uint8Array[]) => this.fromGuest(port, frames)));
    return port;
  }

  removePort(name: string): void {
    const p = this.port(name);
    p.device.close();
    p.flowLog?.close();
    this.engine.destroyPort(p.id);
    this.ports.delete(name);
    this.byMacVni.delete(`${p.compiled.config.vni}/${p.compiled.config.guest.mac.toLowerCase()}`);
    this.mcast.reindex(this.ports.values());
  }

  /** running, paused (no processing, dumps work), or reset (flows and counters cleared, then ready). */
  setPortState(name: string, state: "running" | "paused" | "ready" | "reset"): void {
    const id = this.port(name).id;
    if (state === "reset") this.engine.resetPort(id);
    else this.engine.setPortState(id, state);
  }

  /**
   * Change a port's config: `edit` mutates a copy of its JSON. The new config is
   * validated and compiled first (errors leave the port as it was), then only
   * the layers whose bytes changed are replaced; NAT pools are updated softly.
   */
  updatePort(name: string, edit: (json: PortConfigInput) => void): SledPort {
    const p = this.port(name);
    const json = structuredClone(p.json);
    edit(json);
    const compiled = compilePort(json);
    if (compiled.config.name !== p.name || compiled.config.vni !== p.compiled.config.vni ||
        compiled.config.guest.mac !== p.compiled.config.guest.mac) {
      throw new ConfigError([{ path: "name/vni/guest.mac", message: "cannot change on a live port; remove and re-create it" }]);
    }
    const e = this.engine;
    const oldPools = new Map(p.compiled.natPools.map((x) => [x.pool, x]));
    for (const pool of compiled.natPools) {
      const old = oldPools.get(pool.pool);
      if (!old || old.ip !== pool.ip || old.firstPort !== pool.firstPort || old.lastPort !== pool.lastPort) {
        e.setNatPool(p.id, pool.pool, pool.ip, pool.firstPort, pool.lastPort);
      }
      oldPools.delete(pool.pool);
    }
    for (const gone of oldPools.keys()) e.removeNatPool(p.id, gone);
    const sameLayers = compiled.layers.length === p.compiled.layers.length &&
      compiled.layers.every((l, i) => l.name === p.compiled.layers[i].name);
    if (!sameLayers) {
      // a layer appeared or went away (bandwidth classes): load the whole program
      e.loadProgram(p.id, compiled.program);
      p.layerBytes = new Map(compiled.layers.map((l) => [l.name, encodeLayer(l)]));
    } else {
      for (const name of LAYER_ORDER) {
        const l = compiled.layers.find((x) => x.name === name);
        if (!l) continue;
        const bytes = encodeLayer(l);
        const old = p.layerBytes.get(name);
        if (!old || Buffer.compare(Buffer.from(old), Buffer.from(bytes)) !== 0) {
          e.replaceLayer(p.id, bytes);
          p.layerBytes.set(name, bytes);
        }
      }
    }
    for (const m of compiled.mappings) e.mapSet(m.table, m.vni, m.ip, m.portLo, m.portHi, m.target);
    applyMeters(e, p.id, compiled, this.now());
    p.json = json;
    p.compiled = compiled;
    for (const m of compiled.config.m2p) this.mcast.noteM2p(m);
    this.mcast.reindex(this.ports.values());
    return p;
  }

  // ---- V2P (rack-wide, per VNI)

  setV2p(m: V2pEntry): void {
    this.engine.mapSet(TABLE.v2p, m.vni, m.ip, 0, 65535, { encapVni: m.vni, underlay: m.underlay, mac: m.mac });
    this.v2p.set(`${m.vni}/${m.ip}`, m);
  }
  removeV2p(vni: number, ip: string): void {
    if (!this.engine.mapRemove(TABLE.v2p, vni, ip, 0)) throw new NotFound(`no V2P mapping for ${ip} on VNI ${vni}`);
    this.v2p.delete(`${vni}/${ip}`);
  }
  listV2p(): V2pEntry[] { return [...this.v2p.values()]; }

  // ---- multicast: M2P (rack-wide) and each port's groups

  setM2p(m: M2pEntry): void { this.mcast.setM2p(m); }
  removeM2p(group: string): void {
    if (!this.mcast.removeM2p(group)) throw new NotFound(`no M2P mapping for ${group}`);
  }
  listM2p(): M2pEntry[] { return this.mcast.listM2p(); }
  /** Replace a port's groups (validated with the rest of its config; the layers follow). */
  setGroups(name: string, groups: Membership[]): SledPort {
    return this.updatePort(name, (j) => { j.multicast = groups; });
  }

  /**
   * A guest's membership reports (verdict ToHost), one batch's worth: its
   * port's groups become what they say, with one recompile for all of them.
   */
  private learnFromReports(port: SledPort, frames: Uint8Array[]): void {
    const { groups, reports } = groupsAfterReports(port.compiled.config.multicast, frames, port.reports);
    try {
      if (groups) this.setGroups(port.name, groups);
      port.reports.learned += reports;
    } catch (err) {
      // more groups or sources than a port config holds: counted, the port unchanged
      port.reports.bad += reports;
      port.reports.lastError = (err as Error).message;
    }
  }

  // ---- the datapath pump

  private fromGuest(port: SledPort, frames: Uint8Array[]): void {
    for (const frame of frames) this.queue.push({ port, dir: Dir.Out, frame });
    this.scheduleFlush();
  }

  /**
   * A guest device's batch, as views into its ring valid only during this
   * call. With nothing else waiting, the frames go straight into engine slots
   * and their results straight onto the output rings: one copy in, one copy
   * out, nothing allocated per frame. Otherwise they join the queue as copies,
   * so frames keep their order.
   */
  private fromGuestBatch(port: SledPort, fb: FrameBatch): void {
    if (this.flushing || this.queue.length) {
      for (let j = 0; j < fb.count; j++) this.queue.push({ port, dir: Dir.Out, frame: fb.buf.slice(fb.offsets[j], fb.offsets[j] + fb.lengths[j]) });
      this.scheduleFlush();
      return;
    }
    this.flushing = true;
    try {
      const b = this.batch;
      let j = 0;
      while (j < fb.count) {
        let n = 0;
        for (; j < fb.count && n < b.slots; j++) {
          const off = fb.offsets[j], len = fb.lengths[j];
          if (len > b.capacity) { this.pumpDrops.oversize++; continue; }
          this.slotCapture[n] = port.capture ? port.capture.add(CapturePoint.FromGuest, fb.buf.subarray(off, off + len)) : -1;
          b.setFrom(n, fb.buf, off, len, port.id, Dir.Out);
          this.slotPort[n] = port;
          this.slotDir[n] = Dir.Out;
          n++;
        }
        this.runAndDeliver(n);
      }
    } finally {
      this.flushing = false;
    }
    // frames the batch looped back to local ports (or queued meanwhile)
    if (this.queue.length) this.flush();
  }

  /**
   * Underlay frames go to the port owning the inner destination MAC on the
   * frame's VNI; a group's frames to every local member port but `except`
   * (the sender, when a local guest sent it).
   */
  private fromUnderlay(frames: Uint8Array[], except?: SledPort): void {
    for (const f of frames) {
      if (f.length < 70 + 14) { this.underlayDrops.malformed++; continue; }
      const opt = (f[62] & 0x3f) * 4;
      const vni = (f[66] << 16) | (f[67] << 8) | f[68];
      const inner = 70 + opt;
      if (f.length < inner + 14) { this.underlayDrops.malformed++; continue; }
      // to an underlay group, or to an Ethernet group address inside (RFC 7042 §2.1; the udp
      // driver rebuilds the outer header to this sled): IP multicast, or broadcast, which no port takes
      if (f[38] === 0xff || (f[inner] & 1) !== 0) {
        const group = innerGroupOf(f);
        const members = group ? this.mcast.membersOf(group).filter((p) => p !== except) : [];
        if (members.length === 0) this.underlayDrops[group ? "noMembers" : "unknownDestination"]++;
        for (const port of members) this.queue.push({ port, dir: Dir.In, frame: f });
        continue;
      }
      let mac = 0n;
      for (let i = 0; i < 6; i++) mac = (mac << 8n) | BigInt(f[inner + i]);
      const port = this.byMacVni.get(`${vni}/${macText(mac)}`);
      if (!port) { this.underlayDrops.unknownDestination++; continue; }
      this.queue.push({ port, dir: Dir.In, frame: f });
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushQueued || this.flushing) return;
    this.flushQueued = true;
    queueMicrotask(this.faults.guard("flush", () => { this.flushQueued = false; this.flush(); }));
  }

  /** Run everything queued through the engine, a batch at a time, and deliver the results. */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      const b = this.batch;
      while (this.queue.length) {
        const take = this.queue.splice(0, b.slots);
        let n = 0;
        for (const item of take) {
          if (item.frame.length > b.capacity) { this.pumpDrops.oversize++; continue; }
          this.slotCapture[n] = item.port.capture ? item.port.capture.add(item.dir === Dir.Out ? CapturePoint.FromGuest : CapturePoint.FromNetwork, item.frame) : -1;
          b.set(n, item.frame, item.port.id, item.dir);
          this.slotPort[n] = item.port;
          this.slotDir[n] = item.dir;
          n++;
        }
        this.runAndDeliver(n);
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Run slots [0, n) (their ports and directions in slotPort/slotDir) and send
   * each result on. Frames to the underlay and to guests are staged straight
   * from engine memory where the device can (one doorbell per device per
   * batch); loopback, group and ToHost frames are copied, as they go round
   * again or to the control plane.
   */
  private runAndDeliver(n: number): void {
    const b = this.batch;
    const t0 = process.hrtime.bigint();
    b.run(n, this.now());
    this.o.onBatch?.(n, Number(process.hrtime.bigint() - t0) / 1e9);
    const u8 = this.engine.u8;
    const underlay = this.o.underlay;
    const touched = this.touched;
    let remote: Uint8Array[] | undefined, local: Uint8Array[] | undefined;
    let groupSends: { from: SledPort; frame: Uint8Array }[] | undefined;
    let toGuest: Map<SledPort, Uint8Array[]> | undefined, reports: Map<SledPort, Uint8Array[]> | undefined;
    for (let i = 0; i < n; i++) {
      const v = b.verdict(i);
      const port = this.slotPort[i];
      if (v === Verdict.Drop) {
        if (port.capture && this.slotCapture[i] >= 0) port.capture.dropped(this.slotCapture[i], this.dropText(port, b.reason(i), b.layer(i), b.rule(i)));
        continue;
      }
      const at = b.outputAt(i), len = b.outputLength(i);
      if (v === Verdict.ToHost) {
        reports ??= new Map();
        const list = reports.get(port);
        if (list) list.push(u8.slice(at, at + len)); else reports.set(port, [u8.slice(at, at + len)]);
        continue;
      }
      const towardNetwork = (v === Verdict.Pass) === (this.slotDir[i] === Dir.Out);
      if (port.capture) port.capture.add(towardNetwork ? CapturePoint.ToNetwork : CapturePoint.ToGuest, u8.subarray(at, at + len));
      if (towardNetwork) {
        // to an underlay group (outer destination ff..): local members get it too
        if (len >= 54 && u8[at + 38] === 0xff) (groupSends ??= []).push({ from: port, frame: u8.slice(at, at + len) });
        // guest to guest on this sled: out of one port and into the other (both
        // ports' layers apply) without touching the underlay
        if (this.isLocalAt(u8, at, len)) (local ??= []).push(u8.slice(at, at + len));
        else if (underlay.stage) underlay.stage(u8, at, len);
        else (remote ??= []).push(u8.slice(at, at + len));
      } else {
        const dev = port.device;
        if (dev.stage) { dev.stage(u8, at, len); touched.add(dev); }
        else {
          toGuest ??= new Map();
          const list = toGuest.get(port) ?? [];
          list.push(u8.slice(at, at + len));
          toGuest.set(port, list);
        }
      }
    }
    underlay.commit?.();
    for (const dev of touched) dev.commit!();
    touched.clear();
    if (remote) underlay.send(remote);
    if (local) this.fromUnderlay(local);
    if (groupSends) for (const g of groupSends) this.fromUnderlay([g.frame], g.from);
    if (toGuest) for (const [port, frames] of toGuest) port.device.send(frames);
    // after the batch's frames are out: learning recompiles layers and may grow engine memory
    if (reports) for (const [port, frames] of reports) this.learnFromReports(port, frames);
  }

  private isLocalAt(u8: Uint8Array, at: number, len: number): boolean {
    const self = this.self;
    if (!self || len < 54) return false;
    for (let i = 0; i < 16; i++) if (u8[at + 38 + i] !== self[i]) return false;
    return true;
  }

  private expire(): void {
    const now = this.now();
    for (const p of this.ports.values()) {
      this.engine.expire(p.id, now, this.o.expireBudget ?? 1024);
      if (p.flowLog) this.writeFlowLog(p);
    }
  }

  /** Why the port dropped a frame, for a capture: "FirewallDeny by firewall: default in". */
  private dropText(port: SledPort, reason: number, layer: number, rule: number): string {
    const at = ruleText(ruleRef(port.compiled, layer, rule));
    return `${reasonName(reason)}${at ? ` by ${at}` : ""}`;
  }

  /** Capture up to `maxFrames` frames or `durationMs` of what the port sees; resolves to pcapng bytes. */
  capture(name: string, maxFrames: number, durationMs: number, maxBytes = Infinity): Promise<Uint8Array> {
    const p = this.port(name);
    if (p.capture) throw new Conflict(`a capture is already running on ${name}`);
    p.capture = new Capture(maxFrames, durationMs, () => { p.capture = undefined; }, maxBytes);
    return p.capture.done;
  }

  /** Turn a port's flow log on (appending JSON lines to `path`) or off. */
  setFlowLog(name: string, path: string | undefined, capacity = 8192): void {
    const p = this.port(name);
    // opened first: a path that cannot be opened is refused and the port is unchanged
    let file: FlowLogFile | undefined;
    try { file = path ? new FlowLogFile(path) : undefined; } catch (e) { throw new Conflict(`cannot open the flow log ${path}: ${(e as Error).message}`); }
    if (p.flowLog) { this.writeFlowLog(p); p.flowLog.close(); }
    this.engine.setFlowLog(p.id, path ? capacity : 0);
    p.flowLog = file;
  }

  private writeFlowLog(p: SledPort): void {
    const events = this.engine.drainFlowLog(p.id);
    if (!events.length || !p.flowLog) return;
    const layers = p.compiled.layers.map((l) => l.name);
    const lines = events.map((ev) => JSON.stringify({
      time: new Date(ev.timeMs).toISOString(), port: p.name, event: ev.event, verdict: ev.event === "deny" ? "deny" : "allow",
      dir: ev.dir, proto: ev.proto, src: ev.src, sport: ev.sport, dst: ev.dst, dport: ev.dport,
      ...(ev.layer !== undefined && ev.layer !== 0xff ? { layer: layers[ev.layer] ?? null, rule: ruleName(p.compiled, ev.layer, ev.rule!) } : {}),
      ...(ev.event === "deny" ? { reason: reasonName(ev.reason!) } : {}),
      ...(ev.event === "end" ? { pktsOut: ev.pktsOut, bytesOut: ev.bytesOut, pktsIn: ev.pktsIn, bytesIn: ev.bytesIn,
        durationMs: Math.max(0, (ev.lastSeenMs - ((ev.createdSec * 1000) % 2 ** 32)) >>> 0) } : {}),
    }));
    p.flowLog.append(lines);
  }

  // ---- dumps

  stats(name: string) {
    const p = this.port(name);
    const c = this.engine.counters(p.id);
    const nat = p.compiled.natPools.map((x) => ({ ...x, ...this.engine.natUsage(p.id, x.pool) }));
    return { port: name, id: p.id, state: this.engine.portState(p.id), flows: this.engine.flowCount(p.id),
      flowCapacity: this.engine.flowCapacity(p.id), epoch: this.engine.portEpoch(p.id), counters: c, nat,
      multicast: { groups: p.compiled.config.multicast.length, reports: { ...p.reports } } };
  }
  /** The port's flows, each with the rule that allowed it by name (`allowedBy`, "firewall: allow-ssh"). */
  flows(name: string) {
    const p = this.port(name);
    return this.engine.flows(p.id).map((f) => ({ ...f, allowedBy: f.allow ? ruleText(ruleRef(p.compiled, f.allow.layer, f.allow.rule)) : undefined }));
  }
  /** The port's layers with their counters, and every rule by name with its predicates, action and hits. */
  layers(name: string) {
    const p = this.port(name);
    return this.engine.layers(p.id).map((l, li) => {
      const def = p.compiled.layers[li];
      return { ...l, defaultIn: def?.defaultIn, defaultOut: def?.defaultOut, rules: l.rules.map((r) => {
        const rule = def?.rules.find((x) => x.id === r.id);
        return rule ? { ...ruleJson(p.compiled, li, rule), hits: r.hits } : { ...r, name: ruleName(p.compiled, li, r.id) };
      }) };
    });
  }
  summary() {
    return [...this.ports.values()].map((p) => ({
      name: p.name, id: p.id, vni: p.compiled.config.vni, mac: p.compiled.config.guest.mac,
      ipv4: p.compiled.config.guest.ipv4, ipv6: p.compiled.config.guest.ipv6,
      device: `${p.device.kind}:${p.device.name}`, state: this.engine.portState(p.id), flows: this.engine.flowCount(p.id),
    }));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const name of [...this.ports.keys()]) this.removePort(name);
    await this.o.underlay.close();
  }
}

export { reasonName };
