// Live migration of a guest's port between two sled hosts: pre-copy the flow
// state while the guest keeps running on the source, then pause it, copy what
// changed since the last pass, re-point the V2P mappings of every sled at the
// target, and resume on the target. The blackout is the time between pause
// and resume. Flow state moves (established connections, firewall state, SNAT
// ports), so connections survive without resets.

import type { PortConfigInput } from "../../layers/vpc/config.js";
import { Logger, silentLogger } from "../lib/log.js";

/** What migration needs from a sled: in-process (SledHost) or over the API. */
export interface SledControl {
  name: string;
  underlay: string;
  createPort(config: PortConfigInput, paused: boolean): Promise<void>;
  removePort(name: string): Promise<void>;
  setState(name: string, state: "running" | "paused"): Promise<void>;
  mark(name: string): Promise<number>;
  exportSnapshot(name: string, since?: number): Promise<Uint8Array>;
  restoreSnapshot(name: string, bytes: Uint8Array): Promise<void>;
  setV2p(m: { vni: number; ip: string; mac: string; underlay: string }): Promise<void>;
}

export interface MigrationReport {
  port: string;
  preCopyPasses: number;
  preCopyBytes: number;
  finalBytes: number;
  blackoutMs: number;
  totalMs: number;
}

export async function migratePort(o: {
  port: string; config: PortConfigInput; from: SledControl; to: SledControl; others?: SledControl[];
  maxPasses?: number; smallEnough?: number;
  /** Each phase is logged (info), each pre-copy pass (debug), a failure with the phase it stopped in (error). */
  log?: Logger;
}): Promise<MigrationReport> {
  const log = (o.log ?? silentLogger()).child({ port: o.port, from: o.from.name, to: o.to.name });
  let phase = "create the port on the target";
  try {
    return await migrate(o, log, (p) => { phase = p; });
  } catch (err) {
    log.error({ phase, err }, "migration failed");
    throw err;
  }
}

async function migrate(o: Parameters<typeof migratePort>[0], log: Logger, enter: (phase: string) => void): Promise<MigrationReport> {
  const t0 = performance.now();
  const cfg = structuredClone(o.config) as PortConfigInput & { sled: { underlay: string }; guest: { mac: string; ipv4?: string; ipv6?: string }; vni: number };
  cfg.sled = { ...cfg.sled, underlay: o.to.underlay };
  log.info({ underlay: o.to.underlay }, "migration started");
  await o.to.createPort(cfg, true);
  // pre-copy: the guest keeps running on the source
  enter("pre-copy");
  let since = await o.from.mark(o.port);
  let snap = await o.from.exportSnapshot(o.port);
  await o.to.restoreSnapshot(o.port, snap);
  log.debug({ pass: 1, bytes: snap.length }, "pre-copy pass");
  let preCopyBytes = snap.length, passes = 1;
  while (passes < (o.maxPasses ?? 3)) {
    const next = await o.from.mark(o.port);
    const inc = await o.from.exportSnapshot(o.port, since);
    await o.to.restoreSnapshot(o.port, inc);
    since = next;
    preCopyBytes += inc.length;
    passes++;
    log.debug({ pass: passes, bytes: inc.length }, "pre-copy pass");
    if (inc.length <= (o.smallEnough ?? 64 * 1024)) break;
  }
  // stop and copy
  enter("pause and final copy");
  const pausedAt = performance.now();
  await o.from.setState(o.port, "paused");
  log.info({ preCopyPasses: passes, preCopyBytes }, "guest paused on the source");
  const final = await o.from.exportSnapshot(o.port, since);
  await o.to.restoreSnapshot(o.port, final);
  enter("re-point V2P");
  const addrs = [cfg.guest.ipv4, cfg.guest.ipv6].filter((x): x is string => !!x);
  for (const sled of [o.from, o.to, ...(o.others ?? [])]) {
    for (const ip of addrs) await sled.setV2p({ vni: cfg.vni, ip, mac: cfg.guest.mac, underlay: o.to.underlay });
  }
  enter("resume on the target");
  await o.to.setState(o.port, "running");
  const blackoutMs = performance.now() - pausedAt;
  log.info({ blackoutMs: Math.round(blackoutMs * 10) / 10, finalBytes: final.length }, "guest resumed on the target");
  enter("remove the port from the source");
  await o.from.removePort(o.port);
  const report = { port: o.port, preCopyPasses: passes, preCopyBytes, finalBytes: final.length, blackoutMs, totalMs: performance.now() - t0 };
  log.info({ totalMs: Math.round(report.totalMs) }, "migration done");
  return report;
}
