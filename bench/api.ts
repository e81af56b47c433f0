// `npm run bench:api`: how many control-plane requests a sled host serves per
// second, through the whole request path (strict schemas, auth, the change
// queue, recompiling the port's layers, the audit log), over its unix socket
// and over TCP with a bearer token. The sled is a real `wopte sled` process
// (dist/) with the example port and its log at info (audit records written);
// the clients are keep-alive connections from this process.
//
// Figures: reads/s (GET a port's stats), firewall changes/s (add or remove a
// rule: a firewall layer recompiled and swapped), V2P changes/s (a table
// entry), each the median of 3 timed rounds of 2 s after a warm-up, with
// `--clients` (default 8) requests in flight. Two sleds run side by side:
// one with its ledger on (the default: every change written and fsynced
// before it is answered, docs/sled-api.md "Durability"), one with
// --no-ledger, so the rows show what durability costs. Results in
// bench/results/<date>-api.json with the machine and Node versions.

import { spawn, ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "node:http";
import { packageRoot } from "../hosts/engine/wasm.js";

const ROOT = packageRoot();
const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const CLIENTS = arg("--clients", 8);
const ROUND_MS = arg("--round-ms", 2000);
const ROUNDS = 3;

interface Target { name: string; ledger: boolean; socketPath?: string; port?: number; token?: string }

async function startSled(dir: string, ledger: boolean): Promise<{ p: ChildProcess; socket: string; port: number; token: string }> {
  writeFileSync(join(dir, "port-a.json"), readFileSync(join(ROOT, "examples", "port-a.json")));
  const tokenFile = join(dir, "tokens.json");
  writeFileSync(join(dir, "sled.json"), JSON.stringify({
    name: "bench-sled", underlay: { address: "fd00:1122:3344:101::1", bind: { host: "::1", port: 0 } },
    api: { socket: join(dir, "sled.sock"), tcp: { host: "127.0.0.1", port: 0, tokenFile } },
    stateDir: ledger ? join(dir, "state") : false,
    ports: [{ config: "port-a.json" }],
  }));
  const p = spawn(process.execPath, [join(ROOT, "bin", "wopte.js"), "sled", "--config", join(dir, "sled.json")], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<Record<string, string>>((resolve, reject) => {
    let out = "";
    p.stdout!.on("data", (d) => {
      out += d;
      const l = out.split("\n").find((x) => x.includes("sled host running"));
      if (l) resolve(JSON.parse(l));
    });
    p.on("exit", (code) => reject(new Error(`sled exited ${code}: ${out}`)));
  });
  // keep draining its log (the audit records) so the pipe never fills
  p.stdout!.resume();
  const tokens = JSON.parse(readFileSync(tokenFile, "utf8")) as { tokens: { role: string; token: string }[] };
  return { p, socket: join(dir, "sled.sock"), port: Number(new URL(line.tcp).port), token: tokens.tokens.find((t) => t.role === "admin")!.token };
}

function send(t: Target, agent: Agent, method: string, path: string, body?: unknown): Promise<number> {
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request({
      agent, method, path, ...(t.socketPath ? { socketPath: t.socketPath } : { host: "127.0.0.1", port: t.port }),
      headers: { ...(t.token ? { authorization: `Bearer ${t.token}` } : {}), ...(data ? { "content-type": "application/json", "content-length": String(data.length) } : {}) },
    }, (res) => { res.resume(); res.on("end", () => resolve(res.statusCode ?? 0)); });
    req.on("error", reject);
    req.end(data);
  });
}

/** Requests per second for `next(i)` with CLIENTS in flight, over `ms`. */
async function rate(t: Target, agent: Agent, ms: number, next: (client: number, i: number) => [string, string, unknown?]): Promise<number> {
  let done = 0, failed = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async (_, client) => {
    // each client's requests in order: its add comes back before its remove goes
    for (let i = 0; performance.now() < end || i % 2 === 1; i++) {
      const [m, p, b] = next(client, i);
      const s = await send(t, agent, m, p, b);
      if (s >= 300) failed++;
      done++;
    }
  }));
  if (failed) throw new Error(`${t.name}: ${failed} of ${done} requests failed`);
  return done / ((performance.now() - t0) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "wopte-bench-api-"));
  mkdirSync(join(dir, "on"));
  mkdirSync(join(dir, "off"));
  const sled = await startSled(join(dir, "on"), true);
  const bare = await startSled(join(dir, "off"), false);
  const targets: Target[] = [
    { name: "unix socket", ledger: true, socketPath: sled.socket },
    { name: "unix socket", ledger: false, socketPath: bare.socket },
    { name: "TCP + token", ledger: true, port: sled.port, token: sled.token },
    { name: "TCP + token", ledger: false, port: bare.port, token: bare.token },
  ];
  const cases: [string, (client: number, i: number) => [string, string, unknown?]][] = [
    ["reads/s (GET stats)", () => ["GET", "/ports/web-a/stats"]],
    // each client adds its rule then removes it: the rule set stays small
    ["firewall changes/s", (c, i) => (i % 2 === 0
      ? ["POST", "/ports/web-a/firewall", { name: `bench-${c}`, direction: "in", action: "allow", protocols: ["tcp"], ports: [1000 + c] }]
      : ["DELETE", `/ports/web-a/firewall/bench-${c}`])],
    ["V2P changes/s", (c, i) => ["PUT", "/v2p", { vni: 1024, ip: `172.30.${1 + c}.${i & 0xff}`, mac: "a8:40:25:f0:00:09", underlay: "fd00:1122:3344:102::1" }]],
  ];
  const rows: { target: string; ledger: boolean; figure: string; median: number; rounds: number[] }[] = [];
  const load0 = loadavg();
  try {
    for (const t of targets) {
      const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
      for (const [figure, next] of cases) {
        await rate(t, agent, 500, next);   // warm-up: JIT, connections
        const rounds: number[] = [];
        for (let r = 0; r < ROUNDS; r++) rounds.push(await rate(t, agent, ROUND_MS, next));
        rows.push({ target: t.name, ledger: t.ledger, figure, median: median(rounds), rounds });
        console.error(`  ${t.name}, ledger ${t.ledger ? "on" : "off"}: ${median(rounds).toFixed(0)} ${figure}  (rounds ${rounds.map((x) => x.toFixed(0)).join(", ")})`);
      }
      agent.destroy();
    }
  } finally {
    sled.p.kill("SIGTERM");
    bare.p.kill("SIGTERM");
  }
  const machine = { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, v8: process.versions.v8, loadavg: { start: load0, end: loadavg() } };
  console.log(`\nwopte API bench: ${CLIENTS} clients in flight, median of ${ROUNDS} × ${ROUND_MS} ms; ${machine.cpu} × ${machine.cores}, node ${machine.node}`);
  // ledger on and off side by side, per listener and figure
  console.log("| listener | figure | ledger on, requests/s | ledger off, requests/s | on/off |\n|---|---|---|---|---|");
  for (const on of rows.filter((r) => r.ledger)) {
    const off = rows.find((r) => !r.ledger && r.target === on.target && r.figure === on.figure)!;
    console.log(`| ${on.target} | ${on.figure} | ${on.median.toFixed(0)} | ${off.median.toFixed(0)} | ${(on.median / off.median).toFixed(2)} |`);
  }
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  const file = join(ROOT, "bench", "results", `${new Date().toISOString().slice(0, 10)}-api.json`);
  writeFileSync(file, JSON.stringify({ clients: CLIENTS, roundMs: ROUND_MS, rounds: ROUNDS, machine, rows }, null, 2) + "\n");
  console.log(`\nwritten to ${file}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
