// The ledger file as an operator meets it: every write is a whole new
// generation with the one before kept beside it; whatever was done to the
// file after it was written (cut short, edited, replaced by a newer format,
// another host's) stops the host with a message naming the file and the way
// back; one host per directory.
import { describe, it, expect } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync, truncateSync, existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import fc from "fast-check";
import { Ledger, LedgerError, defaultLedgerDir } from "../../hosts/lib/ledger.js";
import { planSeed, seedDigest } from "../../hosts/lib/seed.js";

type S = { items: string[] };
const check = (s: unknown): S => {
  if (!s || typeof s !== "object" || !Array.isArray((s as S).items)) throw new Error("state.items: expected a list");
  return s as S;
};
const dir = () => mkdtempSync(join(tmpdir(), "wopte-ledger-"));
const open = (d: string, name = "sled-a") => new Ledger<S>(d, { kind: "sled", name, check });

describe("ledger file", () => {
  it("reads back what was written last, with its generation, and keeps the one before as .prev", async () => {
    const d = dir();
    const l = open(d);
    expect(l.read()).toBeUndefined();
    await l.write(1, { items: ["a"] });
    expect(existsSync(l.prev)).toBe(false);
    l.seeded = { "port:a": "x" };
    await l.write(2, { items: ["a", "b"] });
    expect(l.read()).toMatchObject({ generation: 2, state: { items: ["a", "b"] }, seeded: { "port:a": "x" } });
    expect(JSON.parse(readFileSync(l.prev, "utf8"))).toMatchObject({ generation: 1, state: { items: ["a"] } });
    expect(existsSync(join(d, "ledger.json.tmp"))).toBe(false);
    expect(statSync(l.file).mode & 0o777).toBe(0o600);
    l.unlock();
    // a new host on the directory reads the same
    const again = open(d);
    expect(again.read()?.generation).toBe(2);
    again.unlock();
  });

  it("refuses a ledger cut short at any length, naming the file and the previous good one", async () => {
    const d = dir();
    const l = open(d);
    await l.write(7, { items: ["x", "y"] });
    await l.write(8, { items: ["x", "y", "z"] });
    const whole = readFileSync(l.file);
    l.unlock();
    fc.assert(fc.property(fc.integer({ min: 0, max: whole.length - 2 }), (cut) => {
      writeFileSync(l.file, whole.subarray(0, cut));
      const r = open(d);
      try {
        expect(() => r.read()).toThrow(LedgerError);
        expect(() => r.read()).toThrow(new RegExp(`${l.file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} .*previous good ledger is .*\\.prev \\(generation 7\\)`));
      } finally { r.unlock(); }
    }), { numRuns: 60 });
  });

  it("refuses a changed byte, an unknown version, another host's ledger, a state of the wrong shape", async () => {
    const d = dir();
    const l = open(d);
    await l.write(3, { items: ["a"] });
    const text = readFileSync(l.file, "utf8");
    l.unlock();
    const refused = (t: string, name = "sled-a") => {
      writeFileSync(l.file, t);
      const r = open(d, name);
      try { r.read(); return ""; } catch (e) { expect(e).toBeInstanceOf(LedgerError); return (e as Error).message; } finally { r.unlock(); }
    };
    expect(refused(text.replace('"items":["a"]', '"items":["b"]'))).toMatch(/fails its checksum/);
    expect(refused(text.replace('"version":1', '"version":2'))).toMatch(/format version 2; this wopte reads version 1/);
    expect(refused(text, "sled-b")).toMatch(/belongs to the sled host "sled-a", not to the sled host "sled-b"/);
    expect(refused("")).toMatch(/is empty/);
    expect(refused("[]")).toMatch(/is not a wopte ledger/);
    const bad = JSON.parse(text);
    bad.state = { items: 5 };
    bad.sha256 = (await import("node:crypto")).createHash("sha256").update(JSON.stringify(bad.state)).digest("hex");
    expect(refused(JSON.stringify(bad))).toMatch(/holds a state this host cannot take: state\.items: expected a list/);
    expect(refused(text)).toBe("");
  });

  it("is one host's: a second one on the directory is refused while the first runs; a lock left by a dead process is taken over", () => {
    const d = dir();
    const l = open(d);
    expect(() => open(d)).not.toThrow(); // the same process (a restart in a test) may reopen it
    writeFileSync(join(d, "ledger.lock"), "1\n"); // pid 1 is always alive
    expect(() => open(d)).toThrow(/is in use by process 1/);
    writeFileSync(join(d, "ledger.lock"), "999999999\n");
    expect(() => open(d)).not.toThrow();
    // pid 1 again, but not the process that took the lock (its start time differs): a reboot's leftover
    writeFileSync(join(d, "ledger.lock"), "1 123456789\n");
    expect(() => open(d)).not.toThrow();
    l.unlock();
    expect(existsSync(join(d, "ledger.lock"))).toBe(false);
  });

  it("keeps writing when ledger.json was removed by hand while the host runs", async () => {
    const d = dir();
    const l = open(d);
    await l.write(1, { items: ["a"] });
    rmSync(l.file);
    await l.write(2, { items: ["b"] });
    expect(l.read()?.generation).toBe(2);
    l.unlock();
  });

  it("fails a write (for the committer to undo) when the directory is gone", async () => {
    const d = dir();
    const l = open(d);
    rmSync(d, { recursive: true });
    await expect(l.write(1, { items: [] })).rejects.toThrow(/ENOENT/);
  });

  it("is kept under the state directory by kind and name", () => {
    expect(defaultLedgerDir("gateway", "gw-1", { WOPTE_STATE_DIR: "/srv/w" })).toBe("/srv/w/gateway/gw-1");
  });
});

describe("config seed", () => {
  it("adds config items the ledger never took in, keeps the ledger's for the rest, and says what differs", () => {
    const first = planSeed([{ key: "port:a", value: { v: 1 } }, { key: "port:b", value: { v: 2 } }], undefined);
    expect(first.add.map((i) => i.key)).toEqual(["port:a", "port:b"]);
    const next = planSeed([{ key: "port:a", value: { v: 1 } }, { key: "port:b", value: { v: 3 } }, { key: "port:c", value: {} }], first.seeded);
    expect(next.add.map((i) => i.key)).toEqual(["port:c"]);
    expect(next.changed).toEqual(["port:b"]);
    expect(planSeed([], next.seeded).gone).toEqual(["port:a", "port:b", "port:c"]);
    expect(seedDigest({ a: 1, b: [2, { c: 3, d: 4 }] })).toBe(seedDigest({ b: [2, { d: 4, c: 3 }], a: 1 }));
  });
});
