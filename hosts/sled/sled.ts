// The sled host: one engine, one port per guest VNIC, frames pumped between
// guest devices and the Geneve underlay in batches (RFD 63 "Instance to
// Instance" steps 5-10). Control-plane changes recompile the port's VPC
// config and swap only the layers that changed, so rule hit counters and
// flow state survive unrelated updates. Multicast reaches every local member
// port and the next hops of the group's forwarding entry (hosts/sled/multicast.ts),
// and a guest's IGMPv3/MLDv2 reports, which the engine hands over with verdict
// ToHost, change its port's membership.

import { Engine } from "../engine/engine.js";
import { Batch, Dir, Verdict } from "../engine/batch.js";
import { reasonName } from "../engine/reasons.js";
import { ruleRef, ruleText, ruleName, ruleJson } from "../../layers/vpc/rule-names.js";
import { compilePort, CompiledPort } from "../../layers/vpc/compile.js";
import { TABLE } from "../../layers/vpc/constants.js";
import { ConfigError, PortConfigInput } from "../../layers/vpc/config.js";
import { macText, ip16, ipText } from "../../layers/program/addr.js";
import { FlowLogFile } from "./flow-log.js";
import { Faults } from "../lib/faults.js";
import { Capture, CapturePoint } from "./capture.js";
import type { GuestDevice } from "./devices.js";
import type { FrameBatch } from "../io/ring.js";
import type { UnderlayDriver } from "./underlay.js";
import { SledMulticast, M2pEntry, ForwardingEntry, MulticastCounters, canonIp } from "./multicast.js";
import { geneveOf, innerGroupOf, toUnderlayGroup } from "../lib/underlay-frame.js";
import { groupsAfterReports, Membership, ReportCounters } from "./membership.js";
import { Committer, UndoLog } from "../lib/committer.js";
import type { Ledger } from "../lib/ledger.js";
import { sledState, SledState } from "./desired.js";
import { SledMappings } from "./mappings.js";
import { installPort, reprogramPort, layerBytesOf } from "./port-program.js";
import type { FlowCheckpoints } from "./checkpoints.js";
import { UnderlaySources } from "./underlay-sources.js";

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
  /** How the device was asked for (a sled config's or API request's device spec), to open it again after a restart. */
  deviceSpec?: unknown;
  layerBytes: Map<string, Uint8Array>;
  /** Membership reports from the guest (hosts/sled/membership.ts). */
  reports: ReportCounters;
}

export interface V2pEntry { vni: number; ip: string; mac: string; underlay: string }

export interface AddPortOptions {
  /** The engine port id (default: the config's `id`, else the lowest free one). */
  id?: number;
  /** The device spec to keep with the port (see SledPort.deviceSpec). */
  spec?: unknown;
  /** The state the port starts in (default running). */
  state?: "running" | "paused" | "ready";
}

const macVniKey = (c: CompiledPort) => `${c.config.vni}/${c.config.guest.mac.toLowerCase()}`;

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
  /** Drop Geneve whose outer source is no known sled nor boundary services (hosts/sled/underlay-sources.ts). */
  dropUnknownSources?: boolean;
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
  private readonly maps: SledMappings;
  private readonly mcast: SledMulticast<SledPort>;
  private readonly changes: Committer<SledState>;
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
  /** Underlay frames dropped before the engine: for no local port (unicast to an unknown MAC, a group no local port joined), malformed, from an unknown source. */
  readonly underlayDrops = { unknownDestination: 0, noMembers: 0, malformed: 0, unknownSource: 0 };
  /** The sources Geneve is taken from, when the sled drops the others. */
  readonly sources: UnderlaySources | undefined;
  /** Errors in timers and I/O callbacks: counted and shown in health, never thrown (hosts/lib/faults.ts). */
  readonly faults = new Faults();
  /** Flow checkpoints, when the sled keeps them (hosts/sled/checkpoints.ts): shown in health and metrics. */
  checkpoints: FlowCheckpoints | undefined;
  private readonly self: Uint8Array | undefined;

  private constructor(readonly engine: Engine, private readonly o: SledOptions) {
    this.now = o.now ?? (() => Date.now());
    this.self = o.underlayAddress ? ip16(o.underlayAddress) : undefined;
    this.batch = engine.newBatch(o.batchSlots ?? 256, SLOT, HEADROOM);
    this.maps = new SledMappings(engine);
    this.mcast = new SledMulticast(engine, this.maps);
    this.changes = new Committer<SledState>({ state: () => sledState(this) });
    if (o.dropUnknownSources) this.sources = new UnderlaySources(() => this.knownSources(), () => `${this.generation}/${o.underlay.peersVersion?.() ?? 0}`);
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

  // ---- the desired state: ports, V2P, M2P. Every change goes through `commit`.

  /** Bumped by every acknowledged change to the desired state. */
  get generation(): number { return this.changes.generation; }

  /**
   * From now on every change is written to `ledger` (if any) before it is
   * acknowledged, numbered on from `generation` (the ledger's): called once
   * the sled is back to the ledger's state (hosts/sled/startup.ts).
   */
  attachLedger(ledger: Ledger<SledState> | undefined, generation: number): void {
    this.changes.continueFrom(generation, ledger && ((g, state) => ledger.write(g, state)));
  }

  /** Write the desired state as it is now as a new generation (after a start that changed it). */
  recordDesiredState(): Promise<void> {
    return this.commit(() => undefined);
  }

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

  /** Run one change through the commit path: the engine is changed, or nothing is. */
  private commit<T>(change: (undo: UndoLog) => T, finish?: (result: T) => void): Promise<T> {
    return this.changes.commit(() => {
      const undo = new UndoLog();
      let result: T;
      try {
        result = change(undo);
      } catch (err) {
        undo.run();
        throw err;
      }
      return { result, undo: () => undo.run(), finish: finish && (() => finish(result)) };
    });
  }

  /**
   * Create a port from a VPC port config and attach its guest device (the
   * caller closes the device when this rejects). `spec` is how to open the
   * device again after a restart.
   */
  addPort(json: PortConfigInput, device: GuestDevice, o: AddPortOptions = {}): Promise<SledPort> {
    return this.commit((undo) => this.attachPort(json, device, o, undo));
  }

  private attachPort(json: PortConfigInput, device: GuestDevice, o: AddPortOptions, undo: UndoLog): SledPort {
    // copied and compiled before the engine sees anything: input too deep to copy fails here
    const copy = structuredClone(json);
    const compiled = compilePort(copy);
    const name = compiled.config.name;
    if (this.ports.has(name)) throw new Conflict(`port ${name} exists`);
    const key = macVniKey(compiled);
    if (this.byMacVni.has(key)) throw new Conflict(`another port has MAC ${compiled.config.guest.mac} on VNI ${compiled.config.vni}`);
    const id = o.id ?? compiled.config.id ?? this.freeId();
    const holder = [...this.ports.values()].find((p) => p.id === id);
    if (holder) throw new Conflict(`port id ${id} is taken by ${holder.name}`);
    installPort(this.engine, this.maps, id, compiled, o.state ?? "running", this.now(), undo);
    const port: SledPort = {
      name, id, json: copy, compiled, device, deviceSpec: o.spec,
      layerBytes: layerBytesOf(compiled),
      reports: { learned: 0, bad: 0, ignoredRecords: 0 },
    };
    this.ports.set(name, port);
    this.byMacVni.set(key, port);
    undo.push(() => { this.ports.delete(name); this.byMacVni.delete(key); this.mcast.reindex(this.ports.values()); });
    this.noteMappings(compiled, undo);
    this.mcast.reindex(this.ports.values());
    if (device.onBatch && device.stage && device.commit) device.onBatch(this.faults.guard("guest", (fb: FrameBatch) => this.fromGuestBatch(port, fb)));
    else device.onFrames(this.faults.guard("guest", (frames: Uint8Array[]) => this.fromGuest(port, frames)));
    return port;
  }

  /** The V2P and M2P mappings a port config installed, in the sled's lists. */
  private noteMappings(compiled: CompiledPort, undo: UndoLog): void {
    for (const m of compiled.config.v2p) this.noteV2p({ vni: m.vni ?? compiled.config.vni, ip: m.ip, mac: m.mac, underlay: m.underlay }, undo);
    for (const m of compiled.config.m2p) this.mcast.noteM2p(m, undo);
  }

  async removePort(name: string): Promise<void> {
    await this.commit((undo) => {
      const p = this.port(name);
      const key = macVniKey(p.compiled);
      // the port leaves the sled's tables now; its device and engine port go once the change is durable
      this.ports.delete(name);
      this.byMacVni.delete(key);
      this.mcast.reindex(this.ports.values());
      undo.push(() => { this.ports.set(name, p); this.byMacVni.set(key, p); this.mcast.reindex(this.ports.values()); });
      return p;
    }, (p) => {
      p.device.close();
      p.flowLog?.close();
      this.engine.destroyPort(p.id);
    });
  }

  /** running, paused (no processing, no rule or flow changes, dumps work), or reset (flows cleared, then ready; counters keep counting). */
  async setPortState(name: string, state: "running" | "paused" | "ready" | "reset"): Promise<void> {
    await this.commit((undo) => {
      const id = this.port(name).id;
      const before = this.engine.portState(id);
      if (state === "reset") {
        // flows cannot be put back: the state becomes ready now, the flows go once the change is durable
        this.engine.setPortState(id, "ready");
      } else {
        this.engine.setPortState(id, state);
      }
      if (before !== "none") undo.push(() => this.engine.setPortState(id, before));
      return id;
    }, (id) => { if (state === "reset") this.engine.resetPort(id); });
  }

  /**
   * Change a port's config: `edit` mutates a copy of its JSON. The new config is
   * validated and compiled first (errors leave the port as it was), then only
   * the layers whose bytes changed are replaced; NAT pools are updated softly.
   */
  updatePort(name: string, edit: (json: PortConfigInput) => void): Promise<SledPort> {
    return this.commit((undo) => this.reconfigure(this.port(name), edit, undo));
  }

  private reconfigure(p: SledPort, edit: (json: PortConfigInput) => void, undo: UndoLog): SledPort {
    // a paused port's rules stay as they are (the engine refuses each change; refused here before any is made)
    if (this.engine.portState(p.id) === "paused") throw new Conflict(`port ${p.name} is paused: set it running to change its config`);
    const json = structuredClone(p.json);
    edit(json);
    const compiled = compilePort(structuredClone(json));
    if (compiled.config.name !== p.name || compiled.config.vni !== p.compiled.config.vni ||
        compiled.config.guest.mac !== p.compiled.config.guest.mac) {
      throw new ConfigError([{ path: "name/vni/guest.mac", message: "cannot change on a live port; remove and re-create it" }]);
    }
    const before = { json: p.json, compiled: p.compiled, layerBytes: p.layerBytes };
    p.layerBytes = reprogramPort(this.engine, this.maps, p.id, p.compiled, p.layerBytes, compiled, this.now(), undo);
    p.json = json;
    p.compiled = compiled;
    undo.push(() => { Object.assign(p, before); this.mcast.reindex(this.ports.values()); });
    this.noteMappings(compiled, undo);
    this.mcast.reindex(this.ports.values());
    return p;
  }

  // ---- V2P (rack-wide, per VNI)

  private noteV2p(m: V2pEntry, undo: UndoLog): void {
    const key = `${m.vni}/${ipText(ip16(m.ip))}`, before = this.v2p.get(key);
    this.v2p.set(key, { ...m });
    undo.push(() => (before ? this.v2p.set(key, before) : this.v2p.delete(key)));
  }
  setV2p(m: V2pEntry): Promise<void> {
    return this.commit((undo) => {
      this.maps.set({ table: TABLE.v2p, vni: m.vni, ip: m.ip, portLo: 0, portHi: 65535, target: { encapVni: m.vni, underlay: m.underlay, mac: m.mac } }, undo);
      this.noteV2p(m, undo);
    });
  }
  removeV2p(vni: number, ip: string): Promise<void> {
    return this.commit((undo) => {
      if (!this.maps.remove(TABLE.v2p, vni, ip, 0, undo)) throw new NotFound(`no V2P mapping for ${ip} on VNI ${vni}`);
      const key = `${vni}/${ipText(ip16(ip))}`, before = this.v2p.get(key);
      this.v2p.delete(key);
      if (before) undo.push(() => this.v2p.set(key, before));
    });
  }
  listV2p(): V2pEntry[] { return [...this.v2p.values()]; }

  // ---- multicast: M2P (rack-wide) and each port's groups

  setM2p(m: M2pEntry): Promise<void> { return this.commit((undo) => this.mcast.setM2p(m, undo)); }
  removeM2p(group: string): Promise<void> {
    return this.commit((undo) => {
      if (!this.mcast.removeM2p(group, undo)) throw new NotFound(`no M2P mapping for ${group}`);
    });
  }
  listM2p(): M2pEntry[] { return this.mcast.listM2p(); }
  /** Replace a port's groups (validated with the rest of its config; the layers follow). */
  setGroups(name: string, groups: Membership[]): Promise<SledPort> {
    return this.updatePort(name, (j) => { j.multicast = groups; });
  }
  /**
   * Join a group or replace its filter (OPTE's mcast_subscribe): a group the
   * port has not joined must be carried by an M2P mapping, or be an underlay
   * group (ff04::/16) itself. INCLUDE {} takes no source: it leaves the group
   * (RFC 3376 §3.2). Joining again with the same filter changes nothing.
   */
  joinGroup(name: string, g: Membership): Promise<void> {
    return this.commit((undo) => {
      const key = canonIp(g.group);
      this.regroup(this.port(name), (now) => [...now.filter((x) => canonIp(x.group) !== key), g], undo);
    });
  }
  /** Replace a port's groups as joinGroup joins each: new groups need an M2P mapping, INCLUDE {} is no membership. */
  replaceGroups(name: string, groups: Membership[]): Promise<void> {
    return this.commit((undo) => this.regroup(this.port(name), () => groups, undo));
  }
  /** Leave a group (OPTE's mcast_unsubscribe): true if the port was a member; leaving a group it never joined is no error. */
  leaveGroup(name: string, group: string): Promise<boolean> {
    return this.commit((undo) => this.leave(this.port(name), group, undo));
  }
  /** Every local port leaves `group`, in one change (OPTE's mcast_unsubscribe_all); the ports that were members. */
  leaveGroupEverywhere(group: string): Promise<string[]> {
    return this.commit((undo) => this.mcast.membersOf(canonIp(group)).filter((p) => this.leave(p, group, undo)).map((p) => p.name));
  }
  private leave(p: SledPort, group: string, undo: UndoLog): boolean {
    const now = p.compiled.config.multicast;
    const rest = now.filter((x) => canonIp(x.group) !== canonIp(group));
    if (rest.length === now.length) return false;
    this.reconfigure(p, (j) => { j.multicast = rest; }, undo);
    return true;
  }
  /** The port's groups become `next(current)`, INCLUDE {} left out; a group new to the port needs an M2P mapping. */
  private regroup(p: SledPort, next: (now: Membership[]) => Membership[], undo: UndoLog): void {
    const now = p.compiled.config.multicast;
    const joined = new Set(now.map((x) => canonIp(x.group)));
    const kept = next(now).filter((g) => g.mode === "exclude" || g.sources.length > 0);
    for (const g of kept) {
      if (!joined.has(canonIp(g.group)) && !this.mcast.underlayOf(g.group)) {
        throw new Conflict(`no M2P mapping for ${g.group}: set one first (PUT /m2p), or join an underlay group in ff04::/16 itself`);
      }
    }
    this.reconfigure(p, (j) => { j.multicast = kept; }, undo);
  }
  /** Each group local ports joined, the underlay group carrying it, and each member's filter (OPTE's dump_mcast_subs). */
  subscriptions(): { group: string; underlay?: string; members: { port: string; mode: string; sources: string[] }[] }[] {
    return this.mcast.memberships().map(([group, ports]) => ({
      group, underlay: this.mcast.underlayOf(group),
      members: ports.map((p) => {
        const m = p.compiled.config.multicast.find((x) => canonIp(x.group) === group)!;
        return { port: p.name, mode: m.mode, sources: m.sources };
      }),
    }));
  }

  // ---- multicast forwarding (sled-wide, per underlay group)

  setForwarding(e: ForwardingEntry): Promise<void> { return this.commit((undo) => this.mcast.setForwarding(e, undo)); }
  clearForwarding(underlay: string): Promise<boolean> { return this.commit((undo) => this.mcast.clearForwarding(underlay, undo)); }
  listForwarding(): ForwardingEntry[] { return this.mcast.listForwarding(); }
  get multicastCounters(): MulticastCounters { return this.mcast.counters; }

  /**
   * A guest's membership reports (verdict ToHost), one batch's worth: its
   * port's groups become what they say, with one recompile for all of them,
   * committed like any other change (after the changes queued before it).
   */
  private learnFromReports(port: SledPort, frames: Uint8Array[]): void {
    let reports = 0;
    this.commit((undo) => {
      if (this.ports.get(port.name) !== port) return; // removed meanwhile
      const r = groupsAfterReports(port.compiled.config.multicast, frames, port.reports);
      reports = r.reports;
      const groups = r.groups;
      if (groups) this.reconfigure(port, (j) => { j.multicast = groups; }, undo);
    }).then(() => { port.reports.learned += reports; }, (err) => {
      // more groups or sources than a port config holds: counted, the port unchanged
      port.reports.bad += reports;
      port.reports.lastError = (err as Error).message;
    });
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
      const g = geneveOf(f);
      if (!g || f.length < g.inner + 14) { this.underlayDrops.malformed++; continue; }
      if (this.sources && !this.sources.allows(f)) { this.underlayDrops.unknownSource++; continue; }
      const { vni, inner } = g;
      // to an underlay group, or to an Ethernet group address inside (RFC 7042 §2.1; the udp
      // driver rebuilds the outer header to this sled): IP multicast, or broadcast, which no port takes
      if (toUnderlayGroup(f) || (f[inner] & 1) !== 0) {
        const group = innerGroupOf(f);
        const members = group ? this.mcast.membersOf(group).filter((p) => p !== except) : [];
        if (members.length === 0 && !except) this.underlayDrops[group ? "noMembers" : "unknownDestination"]++;
        this.mcast.counters[except ? "txLocal" : "rxLocal"] += members.length;
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
        if (toUnderlayGroup(u8, at, len)) {
          // to an underlay group: the other local members, and one copy per forwarding next hop
          (groupSends ??= []).push({ from: port, frame: u8.slice(at, at + len) });
          this.mcast.toNextHops(at, len, () => { if (underlay.stage) underlay.stage(u8, at, len); else (remote ??= []).push(u8.slice(at, at + len)); });
        } else if (this.isLocalAt(u8, at, len)) {
          // guest to guest on this sled: out of one port and into the other (both
          // ports' layers apply) without touching the underlay
          (local ??= []).push(u8.slice(at, at + len));
        } else if (underlay.stage) underlay.stage(u8, at, len);
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

  /** Who may send this sled Geneve: itself, its V2P sleds, multicast next hops, the driver's peers, boundary services. */
  private knownSources(): string[] {
    const out = this.o.underlayAddress ? [this.o.underlayAddress] : [];
    for (const m of this.v2p.values()) out.push(m.underlay);
    for (const e of this.mcast.listForwarding()) for (const h of e.nextHops) out.push(h.nextHop);
    for (const p of this.ports.values()) if (p.compiled.config.boundary) out.push(p.compiled.config.boundary.underlay);
    out.push(...(this.o.underlay.peerAddresses?.() ?? []));
    return out;
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
  setFlowLog(name: string, path: string | undefined, capacity = 8192): Promise<void> {
    let before: FlowLogFile | undefined;
    return this.commit((undo) => {
      const p = this.port(name);
      // opened first: a path that cannot be opened is refused and the port is unchanged
      let file: FlowLogFile | undefined;
      try { file = path ? new FlowLogFile(path) : undefined; } catch (e) { throw new Conflict(`cannot open the flow log ${path}: ${(e as Error).message}`); }
      before = p.flowLog;
      if (before) this.writeFlowLog(p);
      this.engine.setFlowLog(p.id, path ? capacity : 0);
      p.flowLog = file;
      undo.push(() => { file?.close(); this.engine.setFlowLog(p.id, before ? capacity : 0); p.flowLog = before; });
    }, () => before?.close());
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

  /**
   * Stop: after the changes already queued, close every device and the
   * underlay, so no frame comes in any more; then `quiet` (the last flow
   * checkpoint: it sees every flow as the sled stops), then free the engine
   * ports. The desired state is left as it is (a restart comes back to it).
   */
  async close(o: { quiet?: () => Promise<unknown> } = {}): Promise<void> {
    clearInterval(this.timer);
    await this.changes.serialized(() => { for (const p of this.ports.values()) p.device.close(); });
    await this.o.underlay.close();
    if (o.quiet) await o.quiet();
    await this.changes.serialized(() => {
      for (const p of this.ports.values()) this.engine.destroyPort(p.id);
      this.ports.clear();
      this.byMacVni.clear();
    });
  }

  /** Run `fn` between changes (a snapshot restore must not interleave with a change's undo). */
  serialized<T>(fn: () => T | Promise<T>): Promise<T> { return this.changes.serialized(fn); }
}

export { reasonName };
