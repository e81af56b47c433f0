// `npm run bench`: the engine's figures on this machine as a table and as
// bench/results/<date>.json, with the machine, Node/V8 and the build flags so
// runs can be compared. `--quick` for a short run, `--only <name>` for one
// of: fast, slow, rules, memory, micro, multicore, native, snapshot, migrate, restart.

import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { cpus, totalmem, loadavg } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../hosts/engine/wasm.js";
import { fastPathSuite, slowPath, memoryPerFlow, QUICK, FULL, FastResult, SlowResult } from "./engine-throughput.js";
import { LINE_RATE_MPPS, FLOOR_MPPS } from "./setup.js";
import { multiCore } from "./multicore.js";
import { ruleSetBench } from "./rules.js";
import { microBench } from "./micro.js";
import { benchSnapshot } from "./snapshot.js";
import { benchMigrate } from "./migrate.js";
import { benchRestart } from "./restart.js";
import { buildNative, nativeToolsAvailable } from "../hosts/native-c/bundle-bench.js";

const SUITES = ["fast", "slow", "rules", "memory", "micro", "multicore", "native", "snapshot", "migrate", "restart"];
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
if (only !== undefined && !SUITES.includes(only)) {
  console.error(`--only takes one of: ${SUITES.join(", ")}`);
  process.exit(2);
}
const want = (name: string) => !only || only === name;
const t = quick ? QUICK : FULL;

const SLOW_TARGET = 500_000;  // new flows/s
const MEMORY_TARGET = 256;    // bytes/flow
const RULES_TARGET: Record<number, number> = { 1000: 2_000_000, 10_000: 1_000_000 }; // new flows/s with a policy of that many rules
const UPDATE_TARGET_US = 50;  // one rule inserted or removed in a 10,000-rule layer

type Row = { benchmark: string; figure: string; value: string; notes: string };
const rows: Row[] = [];
const results: Record<string, unknown> = {};
const fmt = (n: number, d = 2) => Number(n.toFixed(d));

function row(benchmark: string, figure: string, value: number | string, notes = ""): void {
  const v = typeof value === "number" ? String(fmt(value)) : value;
  rows.push({ benchmark, figure, value: v, notes });
  console.error(`  ${benchmark}: ${v} ${figure}  ${notes}`);
}

function fastRow(r: FastResult): void {
  const what = r.mode === "engine" ? "engine only" : "host copies frames";
  const rate = r.frameBytes === 64
    ? `×${fmt(r.lineRateRatio)} of 14.88 Mpps line rate, ×${fmt(r.floorRatio)} of 5 Mpps floor`
    : `${fmt((r.mpps * r.frameBytes * 8) / 1000, 1)} Gbit/s of inner frames, ×${fmt(r.floorRatio)} of 5 Mpps floor`;
  row(`fast ${r.frameBytes} B, ${r.flows} flows, batch ${r.batch}, ${what}`, "Mpps", r.mpps,
    `${fmt(r.nsPerPacket, 1)} ns/pkt, ${rate}, spread ${fmt(r.spreadPct, 0)} %${r.note ? "; " + r.note : ""}`);
}

function slowRow(s: SlowResult): void {
  const name = s.extraFirewallRules ? `slow path, firewall +${s.extraFirewallRules} rules` : "slow path: new flow per packet, 3 layers";
  const miss = s.flowsPerSecond < SLOW_TARGET ? `, misses 500k/s by ${fmt((1 - s.flowsPerSecond / SLOW_TARGET) * 100, 0)} %` : `, ×${fmt(s.flowsPerSecond / SLOW_TARGET)} of 500k/s target`;
  row(name, "flows/s", String(Math.round(s.flowsPerSecond)), `${fmt(s.nsPerFlow, 0)} ns/flow${s.extraFirewallRules ? "" : miss}, ${s.newFlows} flows/round, spread ${fmt(s.spreadPct, 0)} %`);
}

async function main(): Promise<void> {
  const root = packageRoot();
  const wasm = readFileSync(join(root, "build", "engine.wasm"));
  const asconfig = JSON.parse(readFileSync(join(root, "asconfig.json"), "utf8"));
  const machine = {
    node: process.version, v8: process.versions.v8, cpu: cpus()[0]?.model, cores: cpus().length,
    memoryGiB: fmt(totalmem() / 2 ** 30, 1), loadAvg1mAtStart: fmt(loadavg()[0]),
    engineWasmBytes: wasm.length, engineWasmSha256: createHash("sha256").update(wasm).digest("hex"),
    ascFlags: asconfig.targets.release,
  };
  console.error(`wopte bench${quick ? " --quick" : ""} on ${machine.cpu} (${machine.cores} cores, load ${machine.loadAvg1mAtStart}), node ${machine.node}, V8 ${machine.v8}`);
  console.error(`engine.wasm ${wasm.length} bytes sha256 ${machine.engineWasmSha256.slice(0, 16)}…, asc release: -O${machine.ascFlags.optimizeLevel} noAssert=${machine.ascFlags.noAssert} runtime=${machine.ascFlags.runtime}`);
  console.error(`timing: ${t.warmup} warm-up + ${t.rounds} rounds of ${t.roundMs} ms per figure, median reported`);
  const started = performance.now();

  if (want("fast")) {
    const fast: FastResult[] = [];
    for (const flows of quick ? [1000, 100_000] : [1000, 100_000, 1_000_000]) {
      for (const r of await fastPathSuite(flows, t)) { fast.push(r); fastRow(r); }
    }
    results.fastPath = fast;
  }
  if (want("slow")) {
    const slow = [await slowPath(quick ? 100_000 : 200_000, 0, t)];
    slowRow(slow[0]);
    for (const rules of quick ? [1000] : [100, 1000, 10_000]) {
      const s = await slowPath(Math.min(50_000, Math.floor(5e7 / rules)), rules, t);
      slow.push(s);
      slowRow(s);
    }
    results.slowPath = slow;
  }
  if (want("rules")) {
    const sets = [];
    for (const n of quick ? [1000, 10_000] : [1000, 10_000, 50_000]) {
      const r = await ruleSetBench(n, t);
      sets.push(r);
      const target = RULES_TARGET[n];
      const vs = target ? (r.index.flowsPerSecond >= target ? `, ×${fmt(r.index.flowsPerSecond / target)} of the ${target / 1e6} M/s target` : `, misses ${target / 1e6} M/s by ${fmt((1 - r.index.flowsPerSecond / target) * 100, 0)} %`) : "";
      row(`rules: slow path, ${n}-rule policy, rule index`, "flows/s", String(Math.round(r.index.flowsPerSecond)),
        `${fmt(r.index.nsPerFlow, 0)} ns/flow, ×${fmt(r.speedup, 1)} over the scan${vs}; ${r.rulesMeetingTraffic} rules meet the traffic; spread ${fmt(r.index.spreadPct, 0)} %`);
      row(`rules: slow path, ${n}-rule policy, reference scan`, "flows/s", String(Math.round(r.scan.flowsPerSecond)),
        `${fmt(r.scan.nsPerFlow, 0)} ns/flow, same run, alternating rounds; spread ${fmt(r.scan.spreadPct, 0)} %`);
      row(`rules: SYN flood from the internet, ${n}-rule policy, rule index`, "packets/s", String(Math.round(r.floodIndex.flowsPerSecond)),
        `${fmt(r.floodIndex.nsPerFlow, 0)} ns/packet, ×${fmt(r.floodSpeedup, 1)} over the scan (${Math.round(r.floodScan.flowsPerSecond)}/s, ${fmt(r.floodScan.nsPerFlow, 0)} ns); ${fmt(r.floodDenied * 100, 0)} % denied; spread ${fmt(r.floodIndex.spreadPct, 0)} / ${fmt(r.floodScan.spreadPct, 0)} %`);
      row(`rules: loadProgram, 3 layers, ${n}-rule firewall`, "ms", fmt(r.loadProgramMs, 2), `replaceLayer of the firewall alone ${fmt(r.replaceLayerMs, 2)} ms`);
      row(`rules: one rule inserted / removed, ${n}-rule firewall`, "µs", `${fmt(r.insertUs, 1)} / ${fmt(r.removeUs, 1)}`,
        `no open flows${n === 10_000 ? `, target ≤ ${UPDATE_TARGET_US} µs` : ""}; with ${r.openFlows} open flows ${fmt(r.insertUsWithFlows, 0)} / ${fmt(r.removeUsWithFlows, 0)} µs (every flow forgets the layer's allows)`);
    }
    results.rules = sets;
  }
  if (want("memory")) {
    const m = await memoryPerFlow(quick ? 100_000 : 1_000_000);
    const verdict = m.tableBytesPerFlow <= MEMORY_TARGET ? `within the ${MEMORY_TARGET} B target` : `over the ${MEMORY_TARGET} B target by ${m.tableBytesPerFlow - MEMORY_TARGET} B`;
    row("flow state per flow (record + index slots)", "bytes/flow", m.tableBytesPerFlow, verdict);
    row(`engine memory grown / flows, port of ${m.capacity} flows filled`, "bytes/flow", m.grownBytesPerFlow, `${fmt(m.memoryGrownBytes / 2 ** 20, 1)} MiB grown (page-granular upper bound)`);
    results.memory = m;
  }
  if (want("micro")) {
    const micro = await microBench(quick);
    for (const m of micro) row(`micro: ${m.name}`, "ops/s", String(Math.round(m.hz)), `${fmt(m.nsPerOp, m.nsPerOp < 100 ? 1 : 0)} ns/op ±${fmt(m.rme, 1)} %, ${m.samples} samples`);
    results.micro = micro;
  }
  if (want("multicore")) {
    const one = await multiCore(1, t), two = await multiCore(2, t);
    row("multi-core fast 64 B, 100k flows/worker, host copies", "Mpps", one.mpps, "1 worker");
    row("multi-core fast 64 B, 100k flows/worker, host copies", "Mpps", two.mpps, `2 workers, scaling ×${fmt(two.mpps / one.mpps)} (2 vCPUs shared with other jobs)`);
    results.multiCore = [one, two];
  }
  if (want("native") && nativeToolsAvailable()) {
    const n = buildNative(256, 64, quick ? 20_000 : 100_000);
    row("native (wasm2c, gcc) fast 64 B, 256 flows, example port", "Mpps", n.mpps, `${fmt(n.nsPerPacket, 1)} ns/pkt incl. copying each frame in`);
    results.native = n;
  }
  if (want("snapshot")) {
    const s = await benchSnapshot({ flows: quick ? 100_000 : 1_000_000 });
    row(`snapshot export, ${s.flows} flows, example port`, "flows/s", String(Math.round(s.exportFlowsPerSec)), `${s.exportNsPerFlow.toFixed(0)} ns/flow`);
    row(`snapshot restore, ${s.flows} flows, example port`, "flows/s", String(Math.round(s.restoreFlowsPerSec)), `${s.restoreNsPerFlow.toFixed(0)} ns/flow`);
    row("snapshot size", "bytes/flow", s.bytesPerFlow.toFixed(1), `SNAT'd TCP ${s.bytesPerSnatTcpFlow.toFixed(0)}, VPC peer ${s.bytesPerPeerTcpFlow.toFixed(0)}`);
    results.snapshot = s;
  }
  if (want("migrate")) {
    const m = await benchMigrate(quick ? 20_000 : 100_000, 3);
    row(`live migration blackout, ${m.flows} flows, example port, two sled hosts`, "ms", m.blackoutMedianMs,
      `median of ${m.rounds} rounds, spread ${fmt(m.blackoutSpreadPct, 0)} %; whole move ${fmt(m.totalMedianMs, 0)} ms`);
    results.migrate = m;
  }
  if (want("restart")) {
    const r = await benchRestart({ flows: quick ? 20_000 : 100_000, rounds: quick ? 3 : 5 });
    row(`sled host restart, ${r.flows} flows restored, example port`, "ms", r.restartInProcessMs,
      `in process: host + port ${fmt(r.restartInProcessMs - r.restoreMs, 0)} ms, flows back ${fmt(r.restoreMs, 0)} ms (${Math.round(r.restoreFlowsPerSec)} flows/s)`);
    row(`wopte sled start, ${r.flows} flows restored`, "ms", r.commandStartWithFlowsMs, `${fmt(r.commandStartEmptyMs, 0)} ms with no checkpoint; checkpoint ${r.checkpointBytes} B written in ${fmt(r.checkpointWriteMs, 0)} ms`);
    results.restart = r;
  }

  const seconds = (performance.now() - started) / 1000;
  console.log(`\nwopte bench — ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, V8 ${machine.v8}, engine.wasm ${machine.engineWasmSha256.slice(0, 12)} (-O${machine.ascFlags.optimizeLevel}, noAssert, ${machine.ascFlags.runtime})`);
  console.log(`line rate 10GbE 64 B = ${LINE_RATE_MPPS} Mpps, floor ${FLOOR_MPPS} Mpps; medians of ${t.rounds} rounds; ${fmt(seconds, 1)} s\n`);
  console.log(table(rows));
  const dir = join(root, "bench", "results");
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().slice(0, 10)}${quick ? "-quick" : ""}${only ? "-" + only : ""}.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), quick, only: only ?? null, timing: t, seconds: fmt(seconds, 1), machine, loadAvg1mAtEnd: fmt(loadavg()[0]), results }, null, 2) + "\n");
  console.log(`\nwritten to ${file}`);
}

function table(rs: Row[]): string {
  const cols = ["benchmark", "value", "figure", "notes"] as const;
  const w = cols.map((c) => Math.max(c.length, ...rs.map((r) => r[c].length)));
  const line = (v: string[]) => v.map((x, i) => (i === 1 ? x.padStart(w[i]) : x.padEnd(w[i]))).join("  ").trimEnd();
  return [line([...cols]), line(w.map((n) => "-".repeat(n))), ...rs.map((r) => line(cols.map((c) => r[c])))].join("\n");
}

void main().catch((err) => { console.error(err); process.exit(1); });
