// The rack in a box (`npm start`) tells its stories: pings answered, a bulk
// transfer across sleds delivered, short connections through SNAT seen at the
// external server from the SNAT address and ports of the guests' blocks, the
// firewall stopping probes, another VPC unable to reach in, NAT ports given
// back as flows close.
import { describe, it, expect } from "vitest";
import { existsSync } from "node:fs";

const root = new URL("../../", import.meta.url).pathname;
// worker threads run the compiled hosts (dist/), built by `npm ci` / `npm run build`
const built = existsSync(`${root}dist/hosts/rack/rack.js`);

describe.skipIf(!built)("rack in a box", () => {
  it("runs the default topology and every story holds", async () => {
    const { runRack } = await import(`${root}dist/hosts/rack/rack.js`);
    const { loadTopology } = await import(`${root}dist/hosts/rack/topology.js`);
    const { summary } = await import(`${root}dist/hosts/rack/view.js`);
    let ticks = 0;
    const s = await runRack(loadTopology(), { durationMs: 4000, onTick: () => { ticks++; } });
    expect(ticks).toBeGreaterThanOrEqual(3);
    type M = { machine: string; ports: { port: string }[]; endpoints: { name: string }[] };
    const of = (machine: string) => (s.machines as M[]).filter((m) => m.machine === machine);
    // guests report from their own worker (joined to the sled by rings), ports from the sled's
    const ep = (machine: string, name: string) => of(machine).flatMap((m) => m.endpoints).find((e) => e.name === name) as any;
    const port = (machine: string, name: string) => of(machine).flatMap((m) => m.ports).find((p) => p.port === name) as any;
    const webA = ep("sled-101", "web-a");
    expect(webA.pingsAnswered).toBeGreaterThan(10);
    expect(webA.pingsAnswered).toBeGreaterThanOrEqual(webA.pingsSent - 2);        // the last may be in flight
    expect(webA.bulkBytesAcked).toBeGreaterThan(5_000_000);                       // 40 Mbit/s for ~3 s across sleds
    expect(webA.shortCompleted).toBeGreaterThan(30);
    const server = ep("gateway", "server");
    const sources = Object.keys(server.servedFrom).map((k: string) => k.split(":"));
    expect(new Set(sources.map(([ip]: string[]) => ip))).toEqual(new Set(["198.51.100.10"]));
    // ports from web-a's block (16384-16511) and api-d's (16512-16639)
    expect(sources.every(([, p]: string[]) => Number(p) >= 16384 && Number(p) <= 16639)).toBe(true);
    expect(sources.some(([, p]: string[]) => Number(p) >= 16512)).toBe(true);
    expect(server.shortCompleted).toBeGreaterThan(3);                              // external clients → floating IP
    expect(ep("sled-102", "web-c").probesAnswered).toBe(0);
    expect(port("sled-101", "web-a").counters.drops.LayerDeny).toBeGreaterThan(3); // the probes to :22
    expect(port("sled-102", "stray-x").counters.drops.NoEncapTarget).toBeGreaterThan(3);
    expect(port("sled-101", "db-b").counters.drops.Unroutable).toBeGreaterThan(3); // no external IP: no internet
    const nat = port("sled-101", "web-a").nat[0];
    expect(nat.inUse).toBeLessThan(nat.size);                                       // closed flows gave ports back
    expect(summary(s)).toMatch(/the external server saw connections from: 198\.51\.100\.10/);
  }, 30_000);
});
