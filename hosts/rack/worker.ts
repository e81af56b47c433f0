// One machine of the rack in a box, in its own worker thread with its own
// engine.wasm: a sled (its guests' ports and the simulated guests) or the
// gateway (boundary services and the external server). Underlay frames go to
// and from the main thread's switch in batches over shared-memory rings.

import { parentPort, workerData } from "node:worker_threads";
import { SledHost } from "../sled/sled.js";
import { GatewayHost } from "../gateway/gateway.js";
import type { GuestDevice } from "../sled/devices.js";
import type { UnderlayDriver } from "../sled/underlay.js";
import { Endpoint, Traffic } from "./endpoint.js";
import type { GuestPort } from "./topology.js";
import type { NatIngressEntry } from "../../layers/boundary/boundary.js";
import { RingDevice, GuestRings, VnicRings } from "../io/ring-device.js";
import { TapDevice } from "../io/tap.js";

export type GuestSpec = GuestPort & { rings?: VnicRings; tap?: string };
export type WorkerSpec =
  | { role: "sled"; name: string; underlay: string; link: VnicRings; ports: GuestSpec[] }
  | { role: "guests"; name: string; guests: GuestSpec[] }
  | { role: "gateway"; name: string; underlay: string; link: VnicRings; boundary: { externalMac: string; routerMac: string; ownedPrefixes: string[]; externalIpv4: string };
      nat: NatIngressEntry[]; server: { ip: string; traffic: Traffic[] } };

const TICK_MS = 5;

/** This machine's underlay NIC: a link of two rings to the switch in the main thread. */
class SwitchLink implements UnderlayDriver {
  private readonly nic: RingDevice;
  private readonly counters = { tx: 0, rx: 0, txErrors: 0, rxErrors: 0 };
  constructor(rings: VnicRings) { this.nic = new RingDevice("underlay", rings); }
  send(frames: Uint8Array[]): void {
    const queued = this.nic.send(frames);
    this.counters.tx += queued;
    this.counters.txErrors += frames.length - queued;
  }
  stage(buf: Uint8Array, off: number, len: number): void {
    if (this.nic.stage(buf, off, len)) this.counters.tx++; else this.counters.txErrors++;
  }
  commit(): void { this.nic.commit(); }
  onFrames(cb: (f: Uint8Array[]) => void): void {
    this.nic.onFrames((frames) => { this.counters.rx += frames.length; cb(frames); });
  }
  stats() { return { ...this.counters }; }
  async close(): Promise<void> { this.nic.close(); }
}

/** A VNIC wired to a simulated endpoint. */
class WireDevice implements GuestDevice {
  readonly kind = "sim";
  private cb: ((f: Uint8Array[]) => void) | undefined;
  endpoint!: Endpoint;
  constructor(readonly name: string) {}
  onFrames(cb: (f: Uint8Array[]) => void): void { this.cb = cb; }
  fromEndpoint(frames: Uint8Array[]): void { this.cb?.(frames); }
  send(frames: Uint8Array[]): void { this.endpoint.receive(frames); }
  close(): void { this.cb = undefined; }
}

async function main(): Promise<void> {
  const spec = workerData as WorkerSpec;
  // quiet: no new traffic; endpoints still answer and the machine still reports
  let quiet = false;
  parentPort!.on("message", (m: { type: string }) => {
    if (m.type === "start") start();
    if (m.type === "quiet") quiet = true;
    if (m.type === "stop") {
      clearInterval(timer);
      report();
      // close devices before the thread goes: a TAP's native reader must not outlive this worker
      void shutdown().then(() => parentPort!.postMessage({ type: "stopped" }));
    }
  });
  const endpoints: Endpoint[] = [];
  let report: () => void = () => {};
  let shutdown: () => Promise<void> = async () => {};
  let timer: NodeJS.Timeout | undefined;
  if (spec.role === "sled") {
    const underlay = new SwitchLink(spec.link);
    // each guest VNIC is a pair of vhost-style rings shared with the guests' worker
    const sled = await SledHost.create({ name: spec.name, underlay, underlayAddress: spec.underlay });
    // (with --tap, each guest is a network namespace behind a real TAP device)
    for (const p of spec.ports) await sled.addPort(p.json as never, p.tap ? TapDevice.open(p.tap) : new RingDevice(p.name, p.rings!));
    shutdown = () => sled.close();
    report = () => parentPort!.postMessage({ type: "stats", machine: spec.name, role: "sled",
      ports: [...sled.ports.keys()].map((n) => sled.stats(n)), endpoints: [] });
  } else if (spec.role === "guests") {
    const links: GuestRings[] = [];
    for (const g of spec.guests) {
      const rings = new GuestRings(g.rings!);
      // a guest boots knowing its address and its gateway's; it ARPs for the gateway's MAC (the engine answers)
      const e = new Endpoint(g.name, g.mac, g.ip, { arpFor: g.gatewayIp }, (f) => { rings.send(f); }, g.traffic);
      rings.onFrames((f) => e.receive(f));
      endpoints.push(e);
      links.push(rings);
    }
    shutdown = async () => { for (const l of links) l.close(); };
    report = () => parentPort!.postMessage({ type: "stats", machine: spec.name, role: "guests", ports: [], endpoints: endpoints.map((e) => ({ name: e.name, ...e.stats })) });
  } else {
    const dev = new WireDevice("external");
    const underlay = new SwitchLink(spec.link);
    const gw = await GatewayHost.create({
      name: spec.name, underlay, underlayAddress: spec.underlay, underlayMac: "02:08:20:bb:00:01", underlayNextHopMac: "02:08:20:ff:ff:01",
      external: dev, boundary: { externalMac: spec.boundary.externalMac, nextHopMac: spec.boundary.routerMac, ownedPrefixes: spec.boundary.ownedPrefixes,
        externalIpv4: spec.boundary.externalIpv4 },
    });
    for (const e of spec.nat) await gw.addNat(e);
    // the server sits behind the customer's router: it sends to the gateway's external MAC
    dev.endpoint = new Endpoint("server", spec.boundary.routerMac, spec.server.ip, { mac: spec.boundary.externalMac }, (f) => dev.fromEndpoint(f), spec.server.traffic);
    endpoints.push(dev.endpoint);
    shutdown = () => gw.close();
    report = () => parentPort!.postMessage({ type: "stats", machine: spec.name, role: "gateway",
      ports: [{ port: "boundary", ...gw.stats(), nat: [] }], endpoints: endpoints.map((e) => ({ name: e.name, ...e.stats })) });
  }
  // Traffic starts when every machine of the rack is up (the main thread says so).
  let lastReport = 0;
  const start = () => {
    timer = setInterval(() => {
      const now = Date.now();
      if (!quiet) for (const e of endpoints) e.tick(now);
      if (now - lastReport >= 1000) { lastReport = now; report(); }
    }, TICK_MS);
  };
  parentPort!.postMessage({ type: "ready", machine: spec.name });
}

void main().catch((err) => { parentPort!.postMessage({ type: "error", error: String(err?.stack ?? err) }); });
