// The rack in a box: two sleds and a gateway host, each a worker thread with
// its own engine, joined by an underlay switch that forwards Geneve frames by
// outer IPv6 destination (the seed's switches, minus ECMP). Guests and the
// external server are simulated endpoints with traffic generators.

import { Worker } from "node:worker_threads";
import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ipText, ip16 } from "../../layers/program/addr.js";
import { Topology, portConfigs, natEntries } from "./topology.js";
import type { WorkerSpec } from "./worker.js";
import { createVnicRings } from "../io/ring-device.js";
import type { EndpointStats } from "./endpoint.js";

export interface PortStatsView {
  port: string; flows?: number; counters: Record<string, number> & { drops: Record<string, number> };
  nat?: { inUse: number; size: number }[];
}
export interface MachineReport { machine: string; role: "sled" | "guests" | "gateway"; ports: PortStatsView[]; endpoints: (EndpointStats & { name: string })[] }

export interface RackSummary {
  seconds: number;
  machines: MachineReport[];
  switched: number;
  unroutable: number;
}

export interface RackOptions {
  durationMs: number;
  /** Real guests: network namespaces behind TAP devices, with the kernel's stack and real traffic (root). */
  tap?: boolean;
  /** Called about once a second with the latest reports (the live view). */
  onTick?: (reports: MachineReport[], elapsedMs: number) => void;
  signal?: AbortSignal;
}

function workerUrl(): URL {
  // compiled: dist/hosts/rack/worker.js; under vitest the .ts runs through its loader
  return new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url);
}

export async function runRack(t: Topology, o: RackOptions): Promise<RackSummary> {
  const specs: WorkerSpec[] = [];
  const ports = portConfigs(t);
  t.sleds.forEach((s, si) => {
    if (o.tap) {
      specs.push({ role: "sled", name: s.name, underlay: s.underlay, ports: ports.get(s.name)!.map((p, gi) => ({ ...p, tap: `wrk${si}g${gi}` })) });
      return;
    }
    // guests run in their own worker, joined to the sled's ports by vhost-style rings
    const guests = ports.get(s.name)!.map((p) => ({ ...p, rings: createVnicRings(1024, 2048) }));
    specs.push({ role: "sled", name: s.name, underlay: s.underlay, ports: guests });
    specs.push({ role: "guests", name: s.name, guests });
  });
  specs.push({ role: "gateway", name: "gateway", underlay: t.boundary.underlay, boundary: t.boundary, nat: natEntries(t),
    server: { ip: t.external.server.ip, traffic: t.external.server.traffic as never } });

  const workers = new Map<string, Worker>(); // underlay address → worker
  const reports = new Map<string, MachineReport>();
  let switched = 0, unroutable = 0;
  const started = Date.now();
  const execArgv = import.meta.url.endsWith(".ts") ? process.execArgv : [];

  const all: Promise<Worker>[] = [];
  const everyWorker: Worker[] = [];
  for (const spec of specs) {
    const w = new Worker(workerUrl(), { workerData: spec, execArgv });
    everyWorker.push(w);
    if (spec.role !== "guests") workers.set(ipText(ip16(spec.underlay)), w);
    all.push(new Promise<Worker>((resolve, reject) => {
      w.on("message", (m: { type: string; frames?: ArrayBuffer[]; error?: string } & MachineReport) => {
        if (m.type === "ready") resolve(w);
        else if (m.type === "error") reject(new Error(m.error));
        else if (m.type === "stats") reports.set(`${m.machine}/${m.role}`, m);
        else if (m.type === "underlay") {
          // the switch: deliver each frame to the machine owning its outer destination
          const byDest = new Map<Worker, ArrayBuffer[]>();
          for (const b of m.frames!) {
            const f = new Uint8Array(b);
            const dst = f.length >= 54 ? ipText(f.subarray(38, 54)) : "";
            const to = workers.get(dst);
            if (!to) { unroutable++; continue; }
            byDest.set(to, [...(byDest.get(to) ?? []), b]);
            switched++;
          }
          for (const [to, frames] of byDest) to.postMessage({ type: "underlay", frames }, frames);
        }
      });
      w.on("error", reject);
    }));
  }
  await Promise.all(all);
  const realGuests = o.tap ? startTapGuests(t, specs, o.durationMs, (r) => reports.set(`${r.machine}/guests`, r)) : undefined;
  for (const w of everyWorker) w.postMessage({ type: "start" });
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = Date.now() - started;
      o.onTick?.([...reports.values()], elapsed);
      if ((o.durationMs > 0 && elapsed >= o.durationMs) || o.signal?.aborted) { clearInterval(tick); resolve(); }
    }, 1000);
    o.signal?.addEventListener("abort", () => { clearInterval(tick); resolve(); });
  });
  await realGuests?.done;
  // final reports, then stop
  await Promise.all(everyWorker.map((w) => new Promise<void>((resolve) => {
    const onMsg = (m: { type: string }) => { if (m.type === "stopped") { w.off("message", onMsg); resolve(); } };
    w.on("message", onMsg);
    w.postMessage({ type: "stop" });
  })));
  await new Promise((r) => setTimeout(r, 20));
  await Promise.all(everyWorker.map((w) => w.terminate()));
  realGuests?.cleanup();
  return { seconds: (Date.now() - started) / 1000, machines: [...reports.values()], switched, unroutable };
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
