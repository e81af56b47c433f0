// A gateway host's start, in the sled's order (hosts/sled/startup.ts): the
// ledger read (one that cannot be trusted stops the start, naming the file),
// its state restored (hosts/gateway/desired.ts), then what the config file
// adds that the ledger never took in (hosts/lib/seed.ts), then the ledger
// attached, generations continuing from its own. BGP starts after this, with
// the ranges restored.

import type { Logger } from "pino";
import type { GatewayHost } from "./gateway.js";
import type { GatewayConfig } from "./config.js";
import { Ledger, defaultLedgerDir } from "../lib/ledger.js";
import { planSeed, seedDigest, SeedItem } from "../lib/seed.js";
import type { NatIngressEntry } from "../../layers/boundary/boundary.js";
import { GatewayState, checkGatewayState, gatewayState, natKey } from "./desired.js";

/** A gateway that could not be brought back: names the mapping and where it came from. */
export class GatewayRestoreError extends Error {}

export interface GatewayStartOptions {
  gw: GatewayHost;
  config: GatewayConfig;
  configPath: string;
  /** The ledger's directory; false: none. Default: defaultLedgerDir("gateway", name). */
  stateDir?: string | false;
  log?: Logger;
}

type Item = { nat: NatIngressEntry } | { advertised: string[] };

export async function startGateway(o: GatewayStartOptions): Promise<{ ledger?: Ledger<GatewayState>; generation: number }> {
  const { gw, log } = o;
  const dir = o.stateDir === false ? undefined : o.stateDir ?? defaultLedgerDir("gateway", o.config.name);
  const ledger = dir ? new Ledger<GatewayState>(dir, { kind: "gateway", name: o.config.name, check: checkGatewayState }) : undefined;
  try {
    const saved = ledger?.read();
    const items: SeedItem<Item>[] = [
      ...o.config.nat.map((m): SeedItem<Item> => ({ key: `nat:${natKey(m)}`, value: { nat: m } })),
      { key: "advertised", value: { advertised: o.config.external.ownedPrefixes } },
    ];
    const plan = planSeed(items, saved?.seeded);
    for (const key of plan.changed) log?.warn({ item: key, ledger: ledger?.file }, "the config file says otherwise than the ledger: the ledger's stays (change it through the API, or reset the ledger)");
    for (const key of plan.gone) log?.warn({ item: key, ledger: ledger?.file }, "gone from the config file but kept in the ledger: remove it through the API if it should go");
    const at = (what: string, origin: string, f: () => Promise<unknown>) => f().catch((err: Error) => {
      throw new GatewayRestoreError(`${origin}: ${what}: ${err.message}`);
    });
    if (saved) {
      const origin = `the ledger ${ledger!.file}`;
      if (seedDigest(saved.state.advertised) !== seedDigest(gw.ownedPrefixes)) await at("the advertised ranges", origin, () => gw.setOwnedPrefixes(saved.state.advertised));
      for (const m of saved.state.nat) await at(`NAT mapping ${m.ip} ${m.firstPort}-${m.lastPort}`, origin, () => gw.addNat(m));
    }
    // what the config file adds that the ledger never took in, on top (without a ledger: all of it)
    for (const { value } of plan.add) {
      if ("nat" in value) {
        const m = value.nat;
        await at(`NAT mapping ${m.ip} ${m.firstPort}-${m.lastPort}`, o.configPath, () => gw.addNat(m));
      } else if (saved) {
        await at("the advertised ranges", o.configPath, () => gw.setOwnedPrefixes(value.advertised));
      }
    }
    const generation = saved?.generation ?? 0;
    gw.attachLedger(ledger, generation);
    if (ledger) {
      ledger.seeded = plan.seeded;
      // the start changed the desired state (new config items, or no ledger yet): that is the next generation
      if (!saved || seedDigest(plan.seeded) !== seedDigest(saved.seeded) || seedDigest(gatewayState(gw)) !== seedDigest(saved.state)) {
        await gw.recordDesiredState();
      }
      if (saved) log?.info({ ledger: ledger.file, generation, mappings: saved.state.nat.length }, "desired state restored from the ledger");
    }
    return { ledger, generation: gw.generation };
  } catch (err) {
    ledger?.unlock();
    throw err;
  }
}
