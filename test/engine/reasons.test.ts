// The host's names for the engine's numbers (hosts/engine/reasons.ts) must be
// the engine's own (engine/reason.ts, engine/port.ts): the numbers are part
// of the batch ABI and of snapshots, and a name off by one would send an
// operator after the wrong problem. The engine sources are read as text so
// the check needs nothing but the files and the built engine.
import { describe, it, expect, beforeAll } from "vitest";
import { readFileSync } from "node:fs";
import { Engine } from "../../hosts/engine/engine.js";
import { REASONS, REASON_COUNT, PORT_COUNTERS, reasonName, reasonNumber } from "../../hosts/engine/reasons.js";

/** `Name = 12,` members of `export const enum <name> { … }` in an engine source file. */
function enumMembers(file: string, name: string): Map<string, number> {
  const src = readFileSync(new URL(`../../engine/${file}`, import.meta.url), "utf8");
  const body = new RegExp(`export const enum ${name} \\{([\\s\\S]*?)\\n\\}`).exec(src);
  if (!body) throw new Error(`no enum ${name} in engine/${file}`);
  const out = new Map<string, number>();
  const code = body[1].replace(/\/\/.*$/gm, "");
  for (const m of code.matchAll(/(\w+)\s*=\s*(\d+)/g)) out.set(m[1], Number(m[2]));
  return out;
}

let e: Engine;
beforeAll(async () => { e = await Engine.load(); });

describe("reason names", () => {
  const engine = enumMembers("reason.ts", "Reason");

  it("every engine Reason has the same name and number on the host, and nothing else is there", () => {
    const { Count, ...numbers } = Object.fromEntries(engine);
    expect(Count).toBeGreaterThan(50);
    expect(REASONS).toEqual(numbers);
  });

  it("REASON_COUNT is the engine's Reason.Count and its exported REASON_COUNT", () => {
    expect(REASON_COUNT).toBe(engine.get("Count"));
    expect(e.constant("REASON_COUNT")).toBe(REASON_COUNT);
    expect(Math.max(...Object.values(REASONS))).toBeLessThan(REASON_COUNT);
  });

  it("names and numbers are one-to-one", () => {
    const numbers = Object.values(REASONS);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const [name, n] of Object.entries(REASONS)) {
      expect(reasonName(n)).toBe(name);
      expect(reasonNumber(name)).toBe(n);
    }
    expect(reasonName(31)).toBe("Reason31"); // an unassigned number still prints
  });
});

describe("port counter names", () => {
  it("PORT_COUNTERS follows the engine's Ctr enum, and the counter block is counters then reasons", () => {
    const ctr = enumMembers("port.ts", "Ctr");
    const { Count, ...slots } = Object.fromEntries(ctr);
    const host = Object.fromEntries(PORT_COUNTERS.map((n, i) => [n[0].toUpperCase() + n.slice(1), i]));
    expect(host).toEqual(slots);
    expect(PORT_COUNTERS.length).toBe(Count);
    expect(e.constant("COUNTERS_PER_PORT")).toBe(PORT_COUNTERS.length + REASON_COUNT);
  });
});
