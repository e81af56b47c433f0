// `wopte snapshot inspect | diff | verify` on snapshot files, called as the
// CLI calls them (the command's run() with argv), output captured.
import { describe, it, expect, vi, afterEach } from "vitest";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Engine } from "../../hosts/engine/engine.js";
import { Dir } from "../../hosts/engine/batch.js";
import { compilePort } from "../../layers/vpc/compile.js";
import { applyPort } from "../../hosts/engine/apply-port.js";
import { exportSnapshot, markSnapshot } from "../../hosts/snapshot/engine.js";
import { run } from "../../hosts/cli/commands/snapshot.js";
import { ipFrame, tcp, udp, TCP_FLAGS } from "../helpers/frames.js";
import { reseal, flowEntries, withEntries } from "../helpers/snapshot-port.js";
import { restoreSnapshot } from "../../hosts/snapshot/engine.js";

const cfg = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));
const G = "a8:40:25:f0:00:05", GW = "a8:40:25:ff:77:77";
const syn = (sport: number) => ipFrame(GW, G, "172.30.0.5", "203.0.113.9", 6, tcp("172.30.0.5", "203.0.113.9", sport, 443, TCP_FLAGS.SYN));
const dgram = (sport: number, dport = 53) => ipFrame(GW, G, "172.30.0.5", "172.30.0.6", 17, udp("172.30.0.5", "172.30.0.6", sport, dport, new Uint8Array(8)));

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "", err = "";
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => { out += a.join(" ") + "\n"; });
  const error = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => { err += a.join(" ") + "\n"; });
  const write = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  try {
    return { code: await run(args), out, err };
  } finally { log.mockRestore(); error.mockRestore(); write.mockRestore(); }
}

describe("wopte snapshot (files)", () => {
  afterEach(() => vi.restoreAllMocks());
  const dir = mkdtempSync(join(tmpdir(), "wopte-snapshot-"));
  const file = (name: string, bytes: Uint8Array) => { const p = join(dir, name); writeFileSync(p, bytes); return p; };

  async function files() {
    const e = await Engine.load();
    applyPort(e, 0, compilePort(cfg), 1_000_000);
    const b = e.newBatch(1);
    const send = (f: Uint8Array, t: number) => { b.set(0, f, 0, Dir.Out); b.run(1, t); };
    send(syn(40000), 1_000_000);
    send(dgram(5000), 1_000_001);
    const gen = markSnapshot(e, 0);
    const a = file("a.snap", exportSnapshot(e, 0, { now: 1_003_000 }));
    send(syn(40001), 1_004_000);
    send(syn(40000), 1_004_001);
    e.fn("portFlowRemoveAt")(0, e.flows(0).find((f) => f.out.sport === 5000)!.index);
    const bFile = file("b.snap", exportSnapshot(e, 0, { now: 1_005_000 }));
    const inc = file("inc.snap", exportSnapshot(e, 0, { since: gen, now: 1_005_000 }));
    return { a, b: bFile, inc };
  }

  it("inspect lists flows with 5-tuples, states, ages, NAT bindings and counters", async () => {
    const { a, inc } = await files();
    const r = await cli("inspect", a);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/full, generation \d+/);
    expect(r.out).toMatch(/NAT pools: pool 0: 198\.51\.100\.10 16384-32767/);
    expect(r.out).toMatch(/172\.30\.0\.5:40000 → 203\.0\.113\.9:443\s+203\.0\.113\.9:443 → 198\.51\.100\.10:16384\s+syn-sent\s+pool 0 port 16384\s+3s/);
    expect(r.out).toMatch(/flowsCreated=2/);
    const j = JSON.parse((await cli("inspect", a, "--json")).out);
    expect(j.flows).toHaveLength(2);
    expect(j.flows.find((f: { key: { sport: number } }) => f.key.sport === 5000)).toMatchObject({ origin: "out", idleMs: 2999, pktsOut: 1 });
    const i = await cli("inspect", inc);
    expect(i.out).toMatch(/incremental since generation/);
    expect(i.out).toMatch(/- out udp 172\.30\.0\.5:5000 → 172\.30\.0\.6:53/);
  });

  it("diff names added, removed and changed flows and counter deltas", async () => {
    const { a, b } = await files();
    const r = await cli("diff", a, b);
    expect(r.code).toBe(1); // a difference: exit 1
    expect(r.out).toMatch(/^1 flows added, 1 removed, 1 changed/);
    expect(r.out).toMatch(/\+ out 6 172\.30\.0\.5:40001 > 203\.0\.113\.9:443/);
    expect(r.out).toMatch(/- out 17 172\.30\.0\.5:5000 > 172\.30\.0\.6:53/);
    expect(r.out).toMatch(/~ out 6 172\.30\.0\.5:40000 > 203\.0\.113\.9:443 vni 1024: pktsOut 1 → 2/);
    expect(r.out).toMatch(/counters: .*flowsCreated \+1/);
    const j = JSON.parse((await cli("diff", a, b, "--json")).out);
    expect(j.counters.flowsCreated).toBe(1);
  });

  it("verify checks version and checksum and says what is wrong", async () => {
    const { a } = await files();
    expect((await cli("verify", a)).out).toMatch(/^ok: snapshot version 2, full, 2 flows, 0 deletions, checksum matches/);
    const bytes = readFileSync(a);
    const flipped = Uint8Array.from(bytes); flipped[70] ^= 0x40;
    let r = await cli("verify", file("flipped.snap", flipped));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/checksum mismatch/);
    const v7 = Uint8Array.from(bytes); v7[4] = 7;
    r = await cli("verify", file("v7.snap", v7));
    expect(r.err).toMatch(/unknown snapshot version 7/);
    r = await cli("inspect", file("short.snap", bytes.subarray(0, 100)));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/truncated at byte 100/);
    expect((await cli("verify", join(dir, "missing.snap"))).code).toBe(1);
    expect((await cli("frobnicate")).code).toBe(2);
  });

  it("verify runs the checks a restore runs, and says what the restore would say", async () => {
    const { a } = await files();
    const bytes = readFileSync(a);
    // a header (and flow section) claiming 4,294,967,295 flows, checksum made right: the engine refuses it, so verify does
    const huge = reseal(bytes, (_, dv) => { dv.setUint32(32, 0xffffffff, true); dv.setUint32(flowEntries(bytes).countAt, 0xffffffff, true); });
    let r = await cli("verify", file("huge.snap", huge));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/huge\.snap: the header counts 4294967295 flows; the \d+ bytes that follow hold at most \d+/);
    const e = await Engine.load();
    applyPort(e, 0, compilePort(cfg), 1_000_000);
    let restoreSaid = "";
    try { restoreSnapshot(e, 0, huge); } catch (err) { restoreSaid = (err as Error).message; }
    expect(restoreSaid).toBe(`could not restore the snapshot: ${r.err.replace(/^wopte: .*?huge\.snap: /, "").trim()}`);
    // two records of one flow
    r = await cli("verify", file("twice.snap", withEntries(bytes, [0, 1, 0])), "--json");
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, error: expect.stringMatching(/^SNAT port 16384 held twice|^two flows share key/) });
    expect((await cli("verify", a)).out).toMatch(/every check passes/);
  });

  it("reports progress on stderr for a large snapshot", async () => {
    const e = await Engine.load();
    const big = structuredClone(cfg); big.limits = { flows: 120_000 };
    applyPort(e, 0, compilePort(big), 1_000_000);
    const b = e.newBatch(256);
    for (let i = 0; i < 110_000; i += 256) {
      const n = Math.min(256, 110_000 - i);
      for (let j = 0; j < n; j++) b.set(j, dgram(1024 + ((i + j) % 60000), 53 + Math.floor((i + j) / 60000)), 0, Dir.Out);
      b.run(n, 1_000_000);
    }
    const f = file("big.snap", exportSnapshot(e, 0, { now: 1_000_100 }));
    const r = await cli("inspect", f, "--json");
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/decoding flows: 100000\/\d+/);
    expect(e.flowCount(0)).toBe(110_000);
    expect(JSON.parse(r.out).flows.length).toBe(110_000);
  });
});
