// The rack in a box (`npm start`) tells its stories: guests resolve their
// gateway by ARP, pings are answered (the gateway, a peer on the other sled,
// the external server through SNAT), a bulk transfer across sleds is
// delivered and acknowledged, short connections through SNAT reach the
// external server from the SNAT address with ports from each guest's block
// and give their ports back as they close, the firewall stops probes to :22,
// and a guest of another VPC cannot reach in.
import { describe, it, expect, beforeAll } from "vitest";
import { needs } from "../helpers/tools.js";

const root = new URL("../../", import.meta.url).pathname;
// worker threads run the compiled hosts (dist/), built by `npm ci` / `npm run build`
const env = needs("built");

type Endpoint = {
  name: string; arpResolvedMs?: number; pingsSent: number; pingsAnswered: number; bulkBytesSent: number; bulkBytesAcked: number;
  shortStarted: number; shortCompleted: number; probesSent: number; probesAnswered: number;
  servedFrom: Record<string, number>; pingedFrom?: Record<string, number>;
};
type Port = { port: string; flows?: number; counters: Record<string, number> & { drops: Record<string, number> }; nat?: { inUse: number; size: number }[] };
type Summary = { machines: { machine: string; role: string; ports: Port[]; endpoints: Endpoint[] }[]; switched: number; unroutable: number; errors: string[] };

// web-a's SNAT block is cut to 32 ports so its ~60 short flows must reuse ports
const WEB_A_BLOCK = { first: 16384, last: 16415 };
const API_D_BLOCK = { first: 16512, last: 16639 };

// Every story has happened at least this often before the traffic stops
// (event-driven: the rack runs until they have, however slow the machine).
const ENOUGH = { pings: 10, externalPings: 5, bulkBytes: 2_000_000, probes: 3, strayPings: 3, unroutable: 3, serverFlows: 3 };
const DEADLINE_MS = 60_000;

describe(env.title("rack in a box"), env.options, () => {
  let s: Summary;
  let text: string;
  let ticks = 0;
  let stopped = "";
  const ep = (name: string) => s.machines.flatMap((m) => m.endpoints).find((e) => e.name === name)!;
  const port = (name: string) => s.machines.flatMap((m) => m.ports).find((p) => p.port === name)!;

  beforeAll(async () => {
    const { runRack } = await import(`${root}dist/hosts/rack/rack.js`);
    const { loadTopology } = await import(`${root}dist/hosts/rack/topology.js`);
    const { summary } = await import(`${root}dist/hosts/rack/view.js`);
    const t = loadTopology();
    const webA = t.sleds[0].guests.find((g: { name: string }) => g.name === "web-a");
    webA.externalIps.snat = { ip: "198.51.100.10", firstPort: WEB_A_BLOCK.first, lastPort: WEB_A_BLOCK.last };
    // Run until every story has been seen enough times, then stop the
    // traffic and wait for what is in flight to be answered; then stop.
    const quiet = new AbortController(), done = new AbortController();
    let quietAt = 0;
    const onTick = (reports: Summary["machines"], elapsed: number) => {
      ticks++;
      const view = { machines: reports } as Summary;
      const e = (n: string) => view.machines.flatMap((m) => m.endpoints).find((x) => x.name === n);
      const p = (n: string) => view.machines.flatMap((m) => m.ports).find((x) => x.port === n);
      if (!quiet.signal.aborted) {
        const seen = [(e("web-a")?.pingsAnswered ?? 0) > ENOUGH.pings, (e("api-d")?.pingsAnswered ?? 0) > ENOUGH.externalPings,
          (e("web-a")?.bulkBytesAcked ?? 0) > ENOUGH.bulkBytes,
          (e("web-a")?.shortCompleted ?? 0) > WEB_A_BLOCK.last - WEB_A_BLOCK.first + 1,
          (e("api-d")?.shortCompleted ?? 0) > 0, (e("server")?.shortCompleted ?? 0) > ENOUGH.serverFlows,
          (e("web-c")?.probesSent ?? 0) > ENOUGH.probes, (e("stray-x")?.pingsSent ?? 0) > ENOUGH.strayPings,
          (p("db-b")?.counters.drops.Unroutable ?? 0) > ENOUGH.unroutable];
        if (seen.every(Boolean)) { quiet.abort(); quietAt = elapsed; }
        else if (elapsed > DEADLINE_MS) { stopped = "deadline before every story was seen"; done.abort(); }
        return;
      }
      // quiet: everything sent has had its answer (or the deadline says it never will)
      const settled = ["web-a", "api-d"].every((n) => { const x = e(n)!; return x.pingsAnswered === x.pingsSent && x.shortCompleted === x.shortStarted; })
        && e("web-a")!.bulkBytesAcked === e("web-a")!.bulkBytesSent
        && p("web-a")!.counters.drops.LayerDeny === e("web-c")!.probesSent
        && (p("stray-x")!.counters.drops.NoEncapTarget ?? 0) + (p("stray-x")!.counters.drops.WrongVni ?? 0) === e("stray-x")!.pingsSent;
      if (settled || elapsed - quietAt > DEADLINE_MS / 4) done.abort();
    };
    s = await runRack(t, { durationMs: 0, live: false, onTick, quiet: quiet.signal, signal: done.signal });
    text = summary(s);
  }, DEADLINE_MS * 2);

  it("runs every machine to the end, reporting as it goes", () => {
    expect(stopped).toBe("");
    expect(s.errors).toEqual([]);
    expect(ticks).toBeGreaterThanOrEqual(2); // at least one report before the traffic stopped and one after
    expect(s.machines.map((m) => `${m.machine}/${m.role}`)).toEqual(["sled-101/sled", "sled-101/guests", "sled-102/sled", "sled-102/guests", "gateway/gateway"]);
    expect(s.unroutable).toBe(0);
  });

  it("every guest resolves its gateway by ARP, answered by the engine", () => {
    for (const g of ["web-a", "db-b", "web-c", "api-d", "stray-x"]) expect(ep(g).arpResolvedMs, g).toBeGreaterThanOrEqual(0);
  });

  it("guest pings its gateway and its peer on the other sled: answered", () => {
    const webA = ep("web-a");
    expect(webA.pingsAnswered).toBeGreaterThan(ENOUGH.pings);
    expect(webA.pingsAnswered).toBe(webA.pingsSent); // the rack went quiet: nothing is in flight
  });

  it("guest pings the external server through SNAT: answered, and the server sees the SNAT address", () => {
    const apiD = ep("api-d");
    expect(apiD.pingsAnswered).toBeGreaterThan(ENOUGH.externalPings);
    expect(apiD.pingsAnswered).toBe(apiD.pingsSent);
    expect(Object.keys(ep("server").pingedFrom ?? {})).toEqual(["198.51.100.10"]);
  });

  it("a bulk TCP stream crosses the sleds and is acknowledged", () => {
    const webA = ep("web-a");
    expect(webA.bulkBytesAcked).toBeGreaterThan(ENOUGH.bulkBytes);
    expect(webA.bulkBytesAcked).toBe(webA.bulkBytesSent);
    expect(port("web-c").counters.bytesIn).toBeGreaterThan(webA.bulkBytesAcked);
  });

  it("short flows reach the server from the SNAT address, with ports from each guest's block", () => {
    const sources = Object.keys(ep("server").servedFrom).map((k) => k.split(":"));
    expect(new Set(sources.map(([ip]) => ip))).toEqual(new Set(["198.51.100.10"]));
    const ports = sources.map(([, p]) => Number(p));
    const inBlock = (p: number, b: { first: number; last: number }) => p >= b.first && p <= b.last;
    expect(ports.every((p) => inBlock(p, WEB_A_BLOCK) || inBlock(p, API_D_BLOCK))).toBe(true);
    expect(ports.some((p) => inBlock(p, WEB_A_BLOCK))).toBe(true);
    expect(ports.some((p) => inBlock(p, API_D_BLOCK))).toBe(true);
    expect(text).toMatch(/the external server saw connections from: 198\.51\.100\.10/);
  });

  it("closed flows give their NAT ports back: more flows complete than the block has ports", () => {
    const webA = ep("web-a");
    const nat = port("web-a").nat![0];
    expect(nat.size).toBe(WEB_A_BLOCK.last - WEB_A_BLOCK.first + 1);
    expect(webA.shortCompleted).toBeGreaterThan(nat.size);
    expect(webA.shortCompleted).toBe(webA.shortStarted);
    expect(nat.inUse).toBeLessThan(nat.size);
    expect(port("web-a").counters.drops.NatExhausted ?? 0).toBe(0);
  });

  it("the external server reaches a floating IP", () => {
    expect(ep("server").shortCompleted).toBeGreaterThan(ENOUGH.serverFlows);
  });

  it("the firewall stops SSH probes: counted as LayerDeny at the target's port", () => {
    expect(ep("web-c").probesSent).toBeGreaterThan(ENOUGH.probes);
    expect(ep("web-c").probesAnswered).toBe(0);
    expect(port("web-a").counters.drops.LayerDeny).toBe(ep("web-c").probesSent);
  });

  it("a guest of another VPC with the same addresses cannot reach in", () => {
    expect(ep("stray-x").pingsSent).toBeGreaterThan(ENOUGH.strayPings);
    expect(ep("stray-x").pingsAnswered).toBe(0);
    const d = port("stray-x").counters.drops;
    expect((d.NoEncapTarget ?? 0) + (d.WrongVni ?? 0)).toBe(ep("stray-x").pingsSent);
    expect(port("web-a").counters.drops.WrongVni ?? 0).toBe(0); // never even arrived
  });

  it("a guest without an external IP cannot reach the internet", () => {
    expect(ep("db-b").pingsAnswered).toBe(0);
    expect(port("db-b").counters.drops.Unroutable).toBeGreaterThan(ENOUGH.unroutable);
  });
});
