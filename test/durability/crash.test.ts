// Crash safety, as an operator would test it: a real `wopte sled` (and a real
// `wopte gateway run`) with a state directory takes a stream of changes
// through its API and is killed with SIGKILL at a random point, many rounds
// over; after each restart its state, read back through the API, holds every
// change that was acknowledged, and the one in flight when it died either
// whole or not at all (never half of a firewall set), at the generation that
// says which. A ledger cut short stops the start, naming the file and the
// previous good one, which brings the host back when moved into place.
import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync, readFileSync, truncateSync, renameSync, existsSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { call } from "../../hosts/cli/client.js";
import { needs } from "../helpers/tools.js";
import { startHost, kill9, sledView, gatewayView, random, HostProcess, SledView, GatewayView } from "./hosts.js";
import { sledChange, gatewayChange, Change } from "./changes.js";

const env = needs("built");
const SEED = Number(process.env.WOPTE_CRASH_SEED ?? Date.now() % 1_000_000);

/**
 * Rounds of: up to `maxChanges` acknowledged changes, one more sent, SIGKILL
 * 0-3 ms after it; restart; the state must be `model` or `model` with the
 * last change, and the generation must say which.
 */
async function crashRounds<V>(o: {
  rounds: number; maxChanges: number; start: () => Promise<HostProcess>; view: (api: string) => Promise<V>;
  change: (r: ReturnType<typeof random>, model: V, n: number) => Change<V>;
}): Promise<{ changes: number; inFlightApplied: number; inFlightLost: number }> {
  const r = random(SEED);
  let host = await o.start();
  let model = await o.view(host.api);
  let generation = (await call<{ generation: number }>(host.api, "GET", "/health")).generation;
  let n = 0;
  const tally = { changes: 0, inFlightApplied: 0, inFlightLost: 0 };
  for (let round = 0; round < o.rounds; round++) {
    const acked = r.int(o.maxChanges);
    for (let i = 0; i < acked; i++) {
      const c = o.change(r, model, n++);
      const answer = await call<{ generation: number }>(host.api, c.method, c.path, c.body)
        .catch((e: Error) => { throw new Error(`round ${round} (seed ${SEED}): ${c.method} ${c.path} ${JSON.stringify(c.body) ?? ""} refused: ${e.message}`); });
      expect(answer.generation, `${c.method} ${c.path}`).toBeGreaterThanOrEqual(generation);
      generation = answer.generation;
      model = c.apply(model);
      tally.changes++;
    }
    // one more, and the host dies while it is on its way, being applied, written or answered
    const last = o.change(r, model, n++);
    const sent = call(host.api, last.method, last.path, last.body).then(() => true, () => false);
    await new Promise((res) => setTimeout(res, r.int(9)));
    await kill9(host);
    const answered = await sent;
    host = await o.start();
    const after = await o.view(host.api);
    const withLast = last.apply(model);
    const g = (await call<{ generation: number }>(host.api, "GET", "/health")).generation;
    const where = `round ${round} (seed ${SEED}), in flight: ${last.method} ${last.path} ${JSON.stringify(last.body) ?? ""}`;
    if (answered) expect(after, where).toEqual(withLast);
    else expect([model, withLast], where).toContainEqual(after);
    if (JSON.stringify(model) !== JSON.stringify(withLast)) {
      const applied = JSON.stringify(after) === JSON.stringify(withLast);
      tally[applied ? "inFlightApplied" : "inFlightLost"]++;
      expect(g, `${where}: generation`).toBe(applied ? generation + 1 : generation);
    } else {
      expect([generation, generation + 1], `${where}: generation`).toContain(g);
    }
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
    const tally = await crashRounds<SledView>({ rounds: 20, maxChanges: 25, start, view: sledView, change: (r, m, n) => sledChange(r, m, n, port) });
    console.log(`sled: ${tally.changes} acknowledged changes, 20 kills; in flight: ${tally.inFlightApplied} kept, ${tally.inFlightLost} lost (seed ${SEED})`);

    // a clean stop releases the lock; a ledger cut short stops the start, naming the file and the previous one
    const host = await start();
    const g = (await call<{ generation: number }>(host.api, "GET", "/health")).generation;
    host.p.kill("SIGTERM");
    expect(await host.exited).toBe(0);
    const ledger = join(dir, "state", "ledger.json");
    expect(existsSync(join(dir, "state", "ledger.lock"))).toBe(false);
    truncateSync(ledger, Math.floor(readFileSync(ledger).length / 2));
    const refused = await start().then(() => "started", (e: Error) => e.message);
    expect(refused).toMatch(/exited 1 before it was running/);
    expect(refused).toContain(`the sled ledger ${ledger} is not valid JSON`);
    expect(refused).toContain(`The previous good ledger is ${ledger}.prev (generation ${g - 1})`);
    // the way out it names works
    renameSync(`${ledger}.prev`, ledger);
    const back = await start();
    expect((await call<{ generation: number }>(back.api, "GET", "/health")).generation).toBe(g - 1);
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
    const tally = await crashRounds<GatewayView>({ rounds: 12, maxChanges: 25, start, view: gatewayView, change: gatewayChange });
    console.log(`gateway: ${tally.changes} acknowledged changes, 12 kills; in flight: ${tally.inFlightApplied} kept, ${tally.inFlightLost} lost (seed ${SEED})`);
  }, 40_000);
});
