// The rack in a box: two sleds and a gateway host, each a worker thread with
// its own engine, joined by an underlay switch (./switch.ts) that forwards
// Geneve frames by outer IPv6 destination over shared-memory rings. Guests are
// simulated endpoints in a worker per sled, joined to their ports by rings;
// the external server sits on the gateway's external side. The story: start
// the machines, wire them to the switch, start the traffic, report every
// second, stop, summarize.

import { Worker } from "node:worker_threads";
import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Topology, portConfigs, natEntries } from "./topology.js";
import type { WorkerSpec } from "./worker.js";
import { createVnicRings } from "../io/ring-device.js";
import { UnderlaySwitch, SwitchCounters } from "./switch.js";
import { liveView } from "./view.js";
import type { MachineReport, RackSummary } from "./report.js";
import type { EndpointStats } from "./endpoint.js";
import { LiveScreen } from "../lib/screen.js";

export interface RackOptions {
  durationMs: number;
  /** Real guests: network namespaces behind TAP devices, with the kernel's stack and real traffic (root). */
  tap?: boolean;
  /** Print the live view (hosts/rack/view.ts) to stdout about once a second. */
  live?: boolean;
  /** Called about once a second with the latest reports. */
  onTick?: (reports: MachineReport[], elapsedMs: number, underlay: SwitchCounters) => void;
  signal?: AbortSignal;
  /**
   * Stop generating traffic but keep every machine running and reporting, so
   * what is in flight arrives and is answered (a test then waits for the
   * counters to settle instead of allowing for frames in flight).
   */
  quiet?: AbortSignal;
}

function workerUrl(): URL {
  // compiled: dist/hosts/rack/worker.js; under vitest the .ts runs through its loader
  return new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url);
}

export async function runRack(t: Topology, o: RackOptions): Promise<RackSummary> {
  // every machine gets a port on the underlay switch
  const underlay = new UnderlaySwitch();
  const specs: WorkerSpec[] = [];
  const ports = portConfigs(t);
  t.sleds.forEach((s, si) => {
    const link = underlay.attach(s.name, s.underlay);
    if (o.tap) {
      specs.push({ role: "sled", name: s.name, underlay: s.underlay, link, ports: ports.get(s.name)!.map((p, gi) => ({ ...p, tap: `wrk${si}g${gi}` })) });
      return;
    }
    // guests run in their own worker, joined to the sled's ports by vhost-style rings
    const guests = ports.get(s.name)!.map((p) => ({ ...p, rings: createVnicRings(1024, 2048) }));
    specs.push({ role: "sled", name: s.name, underlay: s.underlay, link, ports: guests });
    specs.push({ role: "guests", name: s.name, guests });
  });
  specs.push({ role: "gateway", name: "gateway", underlay: t.boundary.underlay, link: underlay.attach("gateway", t.boundary.underlay, false),
    boundary: t.boundary, nat: natEntries(t), server: { ip: t.external.server.ip, traffic: t.external.server.traffic as never } });

  // start the machines, each a worker with its own engine; wait until all are up
  const reports = new Map<string, MachineReport>(specs.map((s) => [`${s.name}/${s.role}`, { machine: s.name, role: s.role, ports: [], endpoints: [] }]));
  const started = Date.now();
  const execArgv = import.meta.url.endsWith(".ts") ? process.execArgv : [];
  const everyWorker = specs.map((spec) => new Worker(workerUrl(), { workerData: spec, execArgv }));
  const errors: string[] = [];
  try {
    await Promise.all(everyWorker.map((w, i) => new Promise<void>((resolve, reject) => {
      let up = false;
      const failed = (e: unknown) => {
        if (up) errors.push(`${specs[i].name}/${specs[i].role}: ${String((e as Error)?.stack ?? e)}`);
        else reject(e instanceof Error ? e : new Error(String(e)));
      };
      w.on("message", (m: { type: string; error?: string } & MachineReport) => {
        if (m.type === "ready") { up = true; resolve(); }
        else if (m.type === "error") failed(m.error);
        else if (m.type === "stats") reports.set(`${m.machine}/${m.role}`, m);
      });
      w.on("error", failed);
    })));
  } catch (e) {
    await Promise.all(everyWorker.map((w) => w.terminate()));
    throw e;
  }
  underlay.start();
  const realGuests = o.tap ? startTapGuests(t, specs, o.durationMs, (r) => reports.set(`${r.machine}/guests`, r)) : undefined;
  for (const w of everyWorker) w.postMessage({ type: "start" });
  const quiet = () => { for (const w of everyWorker) w.postMessage({ type: "quiet" }); };
  if (o.quiet?.aborted) quiet(); else o.quiet?.addEventListener("abort", quiet, { once: true });
  const previous = new Map();
  const screen = new LiveScreen();
  if (o.live) screen.start();
  try {
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = Date.now() - started;
      if (o.live) screen.draw(liveView([...reports.values()], elapsed, previous, underlay.counters));
      o.onTick?.([...reports.values()], elapsed, { ...underlay.counters });
      if ((o.durationMs > 0 && elapsed >= o.durationMs) || o.signal?.aborted) { clearInterval(tick); resolve(); }
    }, 1000);
    o.signal?.addEventListener("abort", () => { clearInterval(tick); resolve(); });
  });
  } finally {
    screen.stop();
  }
  await realGuests?.done;
  // final reports, then stop (a machine that does not answer within 5 s is terminated anyway: a loaded two-core host can take seconds)
  await Promise.all(everyWorker.map((w, i) => new Promise<void>((resolve) => {
    const giveUp = setTimeout(() => { errors.push(`${specs[i].name}/${specs[i].role}: did not stop within 5 s`); resolve(); }, 5000);
    const onMsg = (m: { type: string }) => { if (m.type === "stopped") { clearTimeout(giveUp); w.off("message", onMsg); resolve(); } };
    w.on("message", onMsg);
    w.on("exit", () => { clearTimeout(giveUp); resolve(); });
    w.postMessage({ type: "stop" });
  })));
  underlay.close();
  await Promise.all(everyWorker.map((w) => w.terminate()));
  realGuests?.cleanup();
  return { seconds: (Date.now() - started) / 1000, machines: [...reports.values()], switched: underlay.counters.switched,
    unroutable: underlay.counters.unroutable, underlay: { ...underlay.counters }, errors };
}

/**
 * --tap: each guest becomes a network namespace behind its TAP device, with
 * its address, MAC and default route; hosts/rack/tap-traffic.js runs its
 * traffic (and serves the ports others connect to) with the kernel's stack.
 */
function startTapGuests(t: Topology, specs: WorkerSpec[], durationMs: number, report: (r: MachineReport) => void): { done: Promise<void>; cleanup: () => void } {
  const sh = (...a: string[]) => execFileSync(a[0], a.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  const namespaces: string[] = [];
  const everyTraffic = [...t.sleds.flatMap((s) => s.guests.flatMap((g) => g.traffic)), ...t.external.server.traffic];
  const runs: Promise<void>[] = [];
  const seconds = Math.max(2, Math.round((durationMs > 0 ? durationMs : 3_600_000) / 1000) - 1);
  for (const spec of specs) {
    if (spec.role !== "sled") continue;
    const results: (EndpointStats & { name: string })[] = [];
    for (const g of spec.ports) {
      const ns = `wopte-rack-${g.name}`.slice(0, 40);
      try { sh("ip", "netns", "del", ns); } catch { /* fresh */ }
      sh("ip", "netns", "add", ns);
      namespaces.push(ns);
      sh("ip", "link", "set", g.tap!, "netns", ns);
      const subnet = (g.json as { subnet: { ipv4: string } }).subnet.ipv4.split("/")[1];
      const gw = (g.json as { gateway: { ipv4: string } }).gateway.ipv4;
      for (const c of [["ip", "link", "set", "lo", "up"], ["ip", "link", "set", g.tap!, "address", g.mac], ["ip", "addr", "add", `${g.ip}/${subnet}`, "dev", g.tap!],
        ["ip", "link", "set", g.tap!, "up"], ["ip", "route", "add", "default", "via", gw]]) sh("ip", "netns", "exec", ns, ...c);
      const listen = [...new Set(everyTraffic.filter((x) => x.to === g.ip && x.kind !== "ping").map((x) => (x as { port: number }).port))];
      const script = fileURLToPath(new URL("./tap-traffic.js", import.meta.url));
      const child = spawn("ip", ["netns", "exec", ns, process.execPath, script, JSON.stringify({ listen, traffic: g.traffic, seconds })], { stdio: ["ignore", "pipe", "ignore"] });
      let out = "";
      child.stdout!.on("data", (d) => { out += d; });
      runs.push(new Promise((resolve) => child.on("exit", () => {
        try { results.push({ name: g.name, ...JSON.parse(out.trim().split("\n").pop() ?? "{}") }); } catch { /* no summary */ }
        report({ machine: spec.name, role: "guests", ports: [], endpoints: [...results] });
        resolve();
      })));
    }
  }
  return {
    done: Promise.all(runs).then(() => undefined),
    cleanup: () => { for (const ns of namespaces) { try { sh("ip", "netns", "del", ns); } catch { /* gone */ } } },
  };
}
