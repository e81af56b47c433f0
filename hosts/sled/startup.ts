// A sled host's start, in order (docs/sled-api.md, "Durability"):
//   1. the ledger: opened and locked (one host per state directory), read;
//      a ledger that cannot be trusted stops the start here, naming the file;
//   2. the desired state: the ledger's, plus what the config file adds that
//      the ledger never took in (hosts/lib/seed.ts); no ledger: the config's;
//   3. ports, tables and forwarding brought to it (hosts/sled/desired.ts);
//   4. the ledger attached: every change from now on is written before it
//      is acknowledged, generations continuing from the ledger's; if step 2
//      changed anything, it is written now as the next generation;
//   5. the `afterPorts` steps: whatever needs the ports in place — flows
//      restored from a checkpoint go here — before the API opens.

import type { Logger } from "pino";
import type { SledHost } from "./sled.js";
import type { SledConfig } from "./config.js";
import type { GuestDevice } from "./devices.js";
import { Ledger, defaultLedgerDir } from "../lib/ledger.js";
import { planSeed, seedDigest, SeedItem } from "../lib/seed.js";
import { canonIp, ForwardingEntry } from "./multicast.js";
import { checkSledState, restoreSled, restorePort, sledState, EMPTY_SLED_STATE, SledState, PortToMake } from "./desired.js";
import type { M2pEntry } from "./multicast.js";

export interface SledStartOptions {
  host: SledHost;
  /** The sled config as loaded (hosts/sled/config.ts), with its port configs read. */
  config: SledConfig & { portConfigs: unknown[] };
  /** The config file's path, for messages. */
  configPath: string;
  /** The ledger's directory; false: no ledger (nothing survives a restart but the config). Default: defaultLedgerDir. */
  stateDir?: string | false;
  openDevice: (spec: unknown, port: string) => Promise<GuestDevice> | GuestDevice;
  log?: Logger;
  /** Steps that need the ports in place (flow checkpoints), run after the ledger is attached, before the API opens. */
  afterPorts?: ((host: SledHost, stateDir: string | undefined) => Promise<void> | void)[];
}

export interface SledStarted {
  ledger?: Ledger<SledState>;
  /** The directory of the ledger (and of anything else kept across restarts), when there is one. */
  stateDir?: string;
  /** The generation the sled came back to (0: none). */
  generation: number;
}

type ConfigItem = { port: PortToMake; where: string } | { m2p: M2pEntry } | { forwarding: ForwardingEntry };

/** The config file's items, keyed as the seed record keys them. */
function configItems(o: SledStartOptions): SeedItem<ConfigItem>[] {
  const c = o.config;
  const ports = c.ports.map((p, i): SeedItem<ConfigItem> => {
    const json = c.portConfigs[i] as Record<string, unknown>;
    const name = String(json.name ?? `port${i}`);
    const where = typeof p.config === "string" ? `${p.config} (port ${i} of ${o.configPath})` : `port ${i} of ${o.configPath}`;
    const id = typeof json.id === "number" ? json.id : undefined;
    return { key: `port:${name}`, value: { port: { name, id, config: json, device: p.device, state: "running" }, where } };
  });
  const m2p = c.multicast.m2p.map((m): SeedItem<ConfigItem> => ({ key: `m2p:${canonIp(m.group)}`, value: { m2p: m } }));
  const fwd = c.multicast.forwarding.map((e): SeedItem<ConfigItem> => ({ key: `forwarding:${canonIp(e.underlay)}`, value: { forwarding: e } }));
  return [...ports, ...m2p, ...fwd];
}

/** Steps 1-5 above; throws (LedgerError, RestoreError) with a message naming the file at fault. */
export async function startSled(o: SledStartOptions): Promise<SledStarted> {
  const { host, log } = o;
  const dir = o.stateDir === false ? undefined : o.stateDir ?? defaultLedgerDir("sled", host.name);
  const ledger = dir ? new Ledger<SledState>(dir, { kind: "sled", name: host.name, check: checkSledState }) : undefined;
  try {
    const saved = ledger?.read();
    const plan = planSeed(configItems(o), saved?.seeded);
    const state = saved?.state ?? EMPTY_SLED_STATE;
    for (const key of plan.changed) log?.warn({ item: key, ledger: ledger?.file }, "the config file says otherwise than the ledger: the ledger's stays (change it through the API, or reset the ledger)");
    for (const key of plan.gone) log?.warn({ item: key, ledger: ledger?.file }, "gone from the config file but kept in the ledger: remove it through the API if it should go");
    await restoreSled(host, state, o.openDevice, `the ledger ${ledger?.file}`);
    // what the config file adds that the ledger never took in, on top
    for (const { key, value } of plan.add) {
      if ("port" in value) {
        // a name the ledger holds already (a port made through the API): the ledger's stays
        if (host.ports.has(value.port.name)) log?.warn({ item: key, ledger: ledger?.file }, "the config file says otherwise than the ledger: the ledger's stays (change it through the API, or reset the ledger)");
        else await restorePort(host, value.port, o.openDevice, value.where);
      } else if ("m2p" in value) {
        if (!host.listM2p().some((m) => canonIp(m.group) === canonIp(value.m2p.group))) await host.setM2p(value.m2p);
      } else await host.setForwarding(value.forwarding);
    }
    const generation = saved?.generation ?? 0;
    host.attachLedger(ledger, generation);
    if (ledger) {
      ledger.seeded = plan.seeded;
      // the start changed the desired state (new config items, or no ledger yet): that is the next generation
      if (!saved || seedDigest(plan.seeded) !== seedDigest(saved.seeded) || seedDigest(sledState(host)) !== seedDigest(saved.state)) {
        await host.recordDesiredState();
      }
    }
    if (saved) log?.info({ ledger: ledger!.file, generation, ports: state.ports.length }, "desired state restored from the ledger");
    for (const step of o.afterPorts ?? []) await step(host, dir);
    return { ledger, stateDir: dir, generation: host.generation };
  } catch (err) {
    ledger?.unlock();
    throw err;
  }
}
