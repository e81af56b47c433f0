// A sled's desired state as its ledger holds it (hosts/lib/ledger.ts):
// everything the API can change. Each port with its VPC config as last
// accepted (firewall, routes, external IPs and NAT pools, multicast groups,
// meters: all in the config), its engine id, how its device was opened, its
// state (running, paused, ready) and its flow log file; the rack-wide tables
// as the sled lists them (V2P, M2P: those port configs installed and those
// the API set, minus those it removed); the multicast forwarding table.
// Flows and NAT bindings are not desired state: they are checkpointed apart.
//
// `restoreSled` brings a fresh sled host to such a state, through the same
// change methods the API uses (so it is validated as they validate), before
// the ledger is attached: nothing it does is written until it is done.

import { z } from "zod";
import type { SledHost, V2pEntry } from "./sled.js";
import type { GuestDevice } from "./devices.js";
import type { M2pEntry } from "./multicast.js";
import { ForwardingEntry, canonIp } from "./multicast.js";
import { M2pMapping } from "../../layers/vpc/config.js";
import { ip, ipv6, mac, vni, name } from "../../layers/program/fields.js";

export const SledPortState = z.strictObject({
  name,
  id: z.number().int().min(0).max(1023),
  /** The port's VPC config (layers/vpc/config.ts), validated again when the port is made. */
  config: z.record(z.string(), z.unknown()),
  /** How its guest device was asked for (a sled config's or API request's device spec). */
  device: z.unknown().optional(),
  state: z.enum(["running", "paused", "ready"]),
  /** The file its flow log appends to, when the log is on. */
  flowLog: z.string().min(1).optional(),
});
export type SledPortState = z.output<typeof SledPortState>;

export const SledState = z.strictObject({
  ports: z.array(SledPortState).max(1024),
  v2p: z.array(z.strictObject({ vni, ip, mac, underlay: ipv6 })),
  m2p: z.array(M2pMapping),
  forwarding: z.array(ForwardingEntry),
});
export type SledState = z.output<typeof SledState>;

export const EMPTY_SLED_STATE: SledState = { ports: [], v2p: [], m2p: [], forwarding: [] };

/** Check a state read back from a ledger; throws naming the first problem. */
export function checkSledState(state: unknown): SledState {
  const r = SledState.safeParse(state);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`state.${i.path.map(String).join(".")}: ${i.message}`);
  }
  return r.data;
}

/** The sled's desired state now (the committer's `state()`): what a restart comes back to. */
export function sledState(h: SledHost): SledState {
  const ports = [...h.ports.values()].sort((a, b) => a.id - b.id).map((p): SledPortState => {
    const s = h.engine.portState(p.id);
    return {
      name: p.name, id: p.id, config: p.json as Record<string, unknown>,
      ...(p.deviceSpec !== undefined ? { device: p.deviceSpec } : {}),
      state: s === "none" ? "ready" : s,
      ...(p.flowLog ? { flowLog: p.flowLog.path } : {}),
    };
  });
  // in a canonical order, so that a sled brought back to the same state writes the same ledger
  // (each key computed once: a sled with thousands of mappings writes its ledger on every change)
  const sorted = <T>(xs: T[], key: (x: T) => string): T[] => xs.map((x) => [key(x), x] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, x]) => x);
  return {
    ports,
    v2p: sorted(h.listV2p(), (m) => `${m.vni}/${canonIp(m.ip)}`),
    m2p: sorted(h.listM2p(), (m) => canonIp(m.group)),
    forwarding: sorted(h.listForwarding(), (e) => e.underlay),
  };
}

/** A port that could not be brought back: names the port and where it came from. */
export class RestoreError extends Error {}

export type OpenDevice = (spec: unknown, port: string) => Promise<GuestDevice> | GuestDevice;

/** A port to make: a ledger's (with its id), or a config file's (id when the config gives one). */
export type PortToMake = Omit<SledPortState, "id"> & { id?: number };

/** Make one port as it was (device, config, state, flow log); `origin` says where it came from, for errors. */
export async function restorePort(h: SledHost, p: PortToMake, openDevice: OpenDevice, origin: string): Promise<void> {
  let dev: GuestDevice;
  try {
    dev = await openDevice(p.device, p.name);
  } catch (err) {
    throw new RestoreError(`${origin}: cannot open the device of port ${p.name}: ${(err as Error).message}`);
  }
  try {
    await h.addPort(p.config as never, dev, { id: p.id, spec: p.device, state: p.state });
  } catch (err) {
    dev.close();
    throw new RestoreError(`${origin}: port ${p.name}: ${(err as Error).message}`);
  }
  if (p.flowLog) {
    try { await h.setFlowLog(p.name, p.flowLog); } catch (err) {
      throw new RestoreError(`${origin}: port ${p.name}'s flow log: ${(err as Error).message}`);
    }
  }
}

/**
 * Bring a sled host with no ports to a ledger's `state`: its ports in id
 * order, then the tables made equal to its lists (a port config installs its
 * mappings; the API may have removed or replaced them since), then the
 * forwarding table. `origin` names the ledger for errors.
 */
export async function restoreSled(h: SledHost, state: SledState, openDevice: OpenDevice, origin: string): Promise<void> {
  for (const p of [...state.ports].sort((a, b) => a.id - b.id)) await restorePort(h, p, openDevice, origin);
  const v2pKey = (m: V2pEntry) => `${m.vni}/${canonIp(m.ip)}`;
  const wantV2p = new Set(state.v2p.map(v2pKey));
  for (const m of h.listV2p()) if (!wantV2p.has(v2pKey(m))) await h.removeV2p(m.vni, m.ip);
  for (const m of state.v2p) await h.setV2p(m);
  const m2pKey = (m: M2pEntry) => canonIp(m.group);
  const wantM2p = new Set(state.m2p.map(m2pKey));
  for (const m of h.listM2p()) if (!wantM2p.has(m2pKey(m))) await h.removeM2p(m.group);
  for (const m of state.m2p) await h.setM2p(m);
  for (const e of state.forwarding) await h.setForwarding(e);
}
