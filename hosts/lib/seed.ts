// How a host's config file and its ledger (hosts/lib/ledger.ts) combine at
// start. The config file seeds the desired state; the API changes it; the
// ledger holds the result. So for every item of the config (a port, a
// mapping, an advertisement), keyed by its name, the ledger remembers a
// digest of what the config said when the ledger took it in:
//   - an item the ledger never took in is new in the config: it is added;
//   - an item the ledger took in stays as the ledger has it (changed or
//     removed through the API), even when the config now says otherwise:
//     the host is told, and an operator changes it through the API or resets
//     the ledger;
//   - an item gone from the config stays too (remove it through the API).
// The rule is the same for the sled and the gateway (docs/sled-api.md,
// "Durability").

import { createHash } from "node:crypto";

export interface SeedItem<T> { key: string; value: T }

export interface SeedPlan<T> {
  /** Config items the ledger never took in: to add. */
  add: SeedItem<T>[];
  /** Config items that changed since the ledger took them in: the ledger's version stays. */
  changed: string[];
  /** Items the ledger took in that the config no longer has: they stay. */
  gone: string[];
  /** What the ledger has taken in from now on (the config's items as they are). */
  seeded: Record<string, string>;
}

/** A digest of a value independent of key order (JSON with sorted keys). */
export function seedDigest(value: unknown): string {
  const canon = (v: unknown): unknown => (Array.isArray(v) ? v.map(canon)
    : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])])) : v);
  return createHash("sha256").update(JSON.stringify(canon(value)) ?? "null").digest("hex").slice(0, 32);
}

/** Compare the config's items with what the ledger took in (`seeded`; undefined: no ledger, everything is new). */
export function planSeed<T>(items: SeedItem<T>[], seeded: Record<string, string> | undefined): SeedPlan<T> {
  const now: Record<string, string> = {};
  const add: SeedItem<T>[] = [], changed: string[] = [];
  for (const item of items) {
    const d = seedDigest(item.value);
    now[item.key] = d;
    const before = seeded?.[item.key];
    if (before === undefined) add.push(item);
    else if (before !== d) changed.push(item.key);
  }
  const gone = Object.keys(seeded ?? {}).filter((k) => !(k in now));
  return { add, changed, gone, seeded: now };
}
