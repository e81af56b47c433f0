// Names of the engine's drop/parse/control reasons and port counters: the
// members of the enums in abi/reason.ts and abi/counters.ts, which the engine
// compiles too, so a name cannot drift from its number.

import { Reason } from "../../abi/reason.js";
import { Ctr } from "../../abi/counters.js";

/** Members of a numeric enum by number, `Count` left out. */
function members<E extends Record<string, string | number>>(e: E): [string, number][] {
  return Object.entries(e)
    .filter((kv): kv is [string, number] => typeof kv[1] === "number" && kv[0] !== "Count")
    .sort((a, b) => a[1] - b[1]);
}

export const REASONS: Record<string, number> = Object.fromEntries(members(Reason));
export const REASON_COUNT: number = Reason.Count;

export function reasonName(n: number): string {
  const name = n !== Reason.Count ? Reason[n] : undefined;
  return name ?? `Reason${n}`;
}

export function reasonNumber(name: string): number {
  const n = REASONS[name];
  if (n === undefined) throw new Error(`unknown reason ${name}`);
  return n;
}

/** The per-port counters before the drop-reason block, by number: Ctr's members as pktsIn, bytesOut, … */
export type PortCounterName = Uncapitalize<Exclude<keyof typeof Ctr, "Count">>;
export const PORT_COUNTERS: readonly PortCounterName[] =
  members(Ctr).map(([name]) => (name[0].toLowerCase() + name.slice(1)) as PortCounterName);
