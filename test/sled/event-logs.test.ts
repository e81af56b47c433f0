// The hosts log what happens to them: a migration phase by phase (and where
// it stopped when it fails), the underlay coming up, its errors without a
// flood, next hops going down and up.
import { describe, it, expect } from "vitest";
import { migratePort, SledControl } from "../../hosts/sled/migrate.js";
import { UdpUnderlay } from "../../hosts/sled/underlay.js";
import { Throttled } from "../../hosts/lib/log.js";
import { recordingLogger } from "../helpers/log-records.js";
import { examplePortJson } from "../helpers/example-port.js";

function fakeSled(name: string, underlay: string, o: { failRestore?: boolean } = {}): SledControl & { calls: string[] } {
  const calls: string[] = [];
  return {
    name, underlay, calls,
    async createPort(c, paused) { calls.push(`create ${String(c.name)} ${paused ? "paused" : "running"}`); },
    async removePort(n) { calls.push(`remove ${n}`); },
    async setState(n, s) { calls.push(`${s} ${n}`); },
    async mark() { return calls.push("mark"); },
    async exportSnapshot(_n, since) { calls.push(`export ${since ?? "all"}`); return new Uint8Array(since === undefined ? 4096 : 100); },
    async restoreSnapshot(n, b) { if (o.failRestore) throw new Error("the snapshot is for another port layout"); calls.push(`restore ${n} ${b.length}`); },
    async setV2p(m) { calls.push(`v2p ${m.ip} ${m.underlay}`); },
  };
}

describe("migration logs", () => {
  it("logs each phase with the port and both sleds, the blackout at the end", async () => {
    const { log, records, messages } = recordingLogger();
    await migratePort({ port: "web-a", config: examplePortJson(), from: fakeSled("sled-a", "fd00::a"), to: fakeSled("sled-b", "fd00::b"), log });
    expect(messages()).toEqual(["migration started", "pre-copy pass", "pre-copy pass", "guest paused on the source", "guest resumed on the target", "migration done"]);
    for (const r of records) expect(r).toMatchObject({ port: "web-a", from: "sled-a", to: "sled-b" });
    expect(records[1]).toMatchObject({ pass: 1, bytes: 4096, level: 20 });
    expect(records[4].blackoutMs).toEqual(expect.any(Number));
  });

  it("logs the phase a failed migration stopped in, and still fails", async () => {
    const { log, records } = recordingLogger("info");
    await expect(migratePort({ port: "web-a", config: examplePortJson(), from: fakeSled("sled-a", "fd00::a"), to: fakeSled("sled-b", "fd00::b", { failRestore: true }), log }))
      .rejects.toThrow(/another port layout/);
    expect(records.at(-1)).toMatchObject({ msg: "migration failed", phase: "pre-copy", level: 50, err: { message: "the snapshot is for another port layout" } });
  });
});

describe("underlay logs", () => {
  it("says where the udp underlay listens and what it could not send, once per kind", async () => {
    const { log, records } = recordingLogger();
    const u = await UdpUnderlay.open({ address: "fd00:1122:3344:101::1", bind: { host: "::1", port: 0 }, peers: { "fd00:1122:3344:102::1": "[::1]:9" }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01", log });
    try {
      expect(records.find((r) => r.msg === "underlay up")).toMatchObject({ underlay: "udp", address: "fd00:1122:3344:101::1", bind: `[::1]:${u.boundPort}`, peers: 1 });
      expect(records.find((r) => r.msg === "underlay peer")).toMatchObject({ peer: "fd00:1122:3344:102::1", at: "[::1]:9" });
      u.send([new Uint8Array(100), new Uint8Array(100), new Uint8Array(100)]);
      expect(u.stats().txErrors).toBe(3);
      expect(records.filter((r) => r.msg === "underlay refused a frame that is not Geneve over IPv6")).toHaveLength(1);
    } finally {
      await u.close();
    }
  });

  it("throttles a repeated warning and counts what it held back", () => {
    let now = 0;
    const { log, records } = recordingLogger();
    const t = new Throttled(log, 10_000, () => now);
    for (let i = 0; i < 5; i++) t.warn("send", { i }, "send failed");
    t.warn("other", {}, "something else");
    now = 10_000;
    t.warn("send", { i: 5 }, "send failed");
    expect(records.map((r) => [r.msg, r.i, r.suppressed])).toEqual([["send failed", 0, undefined], ["something else", undefined, undefined], ["send failed", 5, 4]]);
  });
});
