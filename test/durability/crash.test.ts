// Crash safety, as an operator would test it: a real `wopte sled` (and a real
// `wopte gateway run`) with a state directory takes a stream of changes
// through its API and is killed with SIGKILL at a random point, many rounds
// over; after each restart its state, read back through the API, holds every
// change that was acknowledged, and each of those in flight when it died
// (one, or a burst written together) either whole or not at all (never half
// of a firewall set), at the generation that says which. A ledger cut short stops the start, naming the file and the
// previous good one, which brings the host back when moved into place.
import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync, readFileSync, truncateSync, renameSync, existsSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { call } from "../../hosts/cli/client.js";
import { needs } from "../helpers/tools.js";
import { startHost, kill9, sledView, gatewayView, random, HostProcess, SledView, GatewayView } from "./hosts.js";
import { sledChange, gatewayChange, sledBurst, gatewayBurst, Change } from "./changes.js";

const env = needs("built");
const SEED = Number(process.env.WOPTE_CRASH_SEED ?? Date.now() % 1_000_000);

/** Every subset of `changes`, as lists in their order. */
const subsets = <T>(changes: T[]): T[][] => changes.reduce<T[][]>((all, c) => [...all, ...all.map((s) => [...s, c])], [[]]);

/**
 * Rounds of: some acknowledged changes, then one more (odd rounds) or a burst
 * of 2-4 that commute (even rounds) sent at once, and SIGKILL 0-8 ms later;
 * restart. The state must be `model` with some subset of those in flight
 * applied whole (every one that was answered among them), and the generation
 * must have moved by one for each.
 */
async function crashRounds<V>(o: {
  rounds: number; maxChanges: number; start: () => Promise<HostProcess>; view: (api: string) => Promise<V>;
  change: (r: ReturnType<typeof random>, model: V, n: number) => Change<V>;
  burst: (r: ReturnType<typeof random>, model: V, n: number) => Change<V>[];
}): Promise<{ changes: number; inFlight: number; inFlightKept: number }> {
  const r = random(SEED);
  let host = await o.start();
  let model = await o.view(host.api);
  let generation = (await call<{ generation: number }>(host.api, "GET", "/health")).generation;
  let n = 0;
  const tally = { changes: 0, inFlight: 0, inFlightKept: 0 };
  const text = (c: Change<V>) => `${c.method} ${c.path} ${JSON.stringify(c.body) ?? ""}`;
  for (let round = 0; round < o.rounds; round++) {
    const acked = r.int(o.maxChanges);
    for (let i = 0; i < acked; i++) {
      const c = o.change(r, model, n++);
      const answer = await call<{ generation: number }>(host.api, c.method, c.path, c.body)
        .catch((e: Error) => { throw new Error(`round ${round} (seed ${SEED}): ${text(c)} refused: ${e.message}`); });
      expect(answer.generation, text(c)).toBeGreaterThan(generation - 1);
      generation = answer.generation;
      model = c.apply(model);
      tally.changes++;
    }
    // more, and the host dies while they are on their way, being applied, written or answered
    const inFlight = round % 2 ? [o.change(r, model, n++)] : o.burst(r, model, n++);
    const sent = inFlight.map((c) => call(host.api, c.method, c.path, c.body).then(() => true, () => false));
    await new Promise((res) => setTimeout(res, r.int(9)));
    await kill9(host);
    const answered = await Promise.all(sent);
    host = await o.start();
    const after = await o.view(host.api);
    const g = (await call<{ generation: number }>(host.api, "GET", "/health")).generation;
    const where = `round ${round} (seed ${SEED}), in flight: ${inFlight.map(text).join("; ")}; answered: ${answered}`;
    const fits = subsets(inFlight).filter((s) => inFlight.every((c, i) => !answered[i] || s.includes(c)) &&
      JSON.stringify(s.reduce((m, c) => c.apply(m), model)) === JSON.stringify(after));
    expect(fits.length, `${where}: the state is not the acknowledged one plus a subset of those in flight`).toBeGreaterThan(0);
    if (fits.length === 0) expect(after, where).toEqual(model); // shows the difference
    expect(fits.map((s) => generation + s.length), `${where}: generation`).toContain(g);
    tally.inFlight += inFlight.length;
    tally.inFlightKept += Math.min(...fits.map((s) => s.length));
    model = after;
    generation = g;
  }
  await kill9(host);
  return tally;
}

describe(env.title("crash safety: kill -9 while changes stream in"), env.options, () => {
  it("a sled comes back to every acknowledged change, the one in flight whole or not at all", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wopte-crash-sled-"));
    const port = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));
    writeFileSync(join(dir, "sled.json"), JSON.stringify({
      name: "sled-crash", underlay: { address: "fd00:1122:3344:101::1", bind: { host: "::1", port: 0 } },
      api: { socket: join(dir, "sled.sock") }, stateDir: join(dir, "state"), ports: [{ config: port }],
    }));
    const start = () => startHost(["sled", "--config", join(dir, "sled.json")]);
    const tally = await crashRounds<SledView>({ rounds: 20, maxChanges: 25, start, view: sledView, change: (r, m, n) => sledChange(r, m, n, port), burst: sledBurst });
    console.log(`sled: ${tally.changes} acknowledged changes, 20 kills; ${tally.inFlight} in flight, ${tally.inFlightKept} of them kept (seed ${SEED})`);

    // a clean stop releases the lock; a ledger cut short stops the start, naming the file and the previous one
    const host = await start();
    const g = (await call<{ generation: number }>(host.api, "GET", "/health")).generation;
    host.p.kill("SIGTERM");
    expect(await host.exited).toBe(0);
    const ledger = join(dir, "state", "ledger.json");
    expect(existsSync(join(dir, "state", "ledger.lock"))).toBe(false);
    const prev = JSON.parse(readFileSync(`${ledger}.prev`, "utf8")).generation;
    expect(prev).toBeLessThan(g); // the write before the last (several changes, when they came together)
    truncateSync(ledger, Math.floor(readFileSync(ledger).length / 2));
    const refused = await start().then(() => "started", (e: Error) => e.message);
    expect(refused).toMatch(/exited 1 before it was running/);
    expect(refused).toContain(`the sled ledger ${ledger} is not valid JSON`);
    expect(refused).toContain(`The previous good ledger is ${ledger}.prev (generation ${prev})`);
    // the way out it names works
    renameSync(`${ledger}.prev`, ledger);
    const back = await start();
    expect((await call<{ generation: number }>(back.api, "GET", "/health")).generation).toBe(prev);
    await kill9(back);
  }, 60_000);

  it("a gateway comes back to every acknowledged NAT mapping and advertisement", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wopte-crash-gw-"));
    writeFileSync(join(dir, "gateway.json"), JSON.stringify({
      name: "gw-crash", underlay: { address: "fd00:1122:3344:1::1", bind: { host: "::1", port: 0 } },
      external: { device: { type: "memory" }, mac: "02:00:5e:00:53:01", nextHopMac: "02:00:5e:00:53:fe", ipv4: "198.51.100.1", ownedPrefixes: ["198.51.100.0/24"] },
      nat: [{ ip: "198.51.100.10", firstPort: 16384, lastPort: 32767, sled: "fd00:1122:3344:101::1", vni: 1024, mac: "a8:40:25:f0:00:05" }],
      api: { socket: join(dir, "gw.sock") }, stateDir: join(dir, "state"),
    }));
    const start = () => startHost(["gateway", "run", "--config", join(dir, "gateway.json")]);
    const tally = await crashRounds<GatewayView>({ rounds: 12, maxChanges: 25, start, view: gatewayView, change: gatewayChange, burst: gatewayBurst });
    console.log(`gateway: ${tally.changes} acknowledged changes, 12 kills; ${tally.inFlight} in flight, ${tally.inFlightKept} of them kept (seed ${SEED})`);
  }, 40_000);
});
