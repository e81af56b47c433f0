// `npm run bench`: the engine's figures on this machine, side by side, as a
// table and as bench/results/<date>.json (with the machine and build flags,
// so runs can be compared). `--quick` for a short run, `--only <name>`.

import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { packageRoot } from "../hosts/engine/wasm.js";
import { fastPath, slowPath, memoryPerFlow, LINE_RATE_MPPS } from "./engine-bench.js";
import { multiCore } from "./multicore.js";
import { microBench } from "./micro.js";
import { snapshotBench } from "./snapshot-bench.js";
import { buildNative, nativeToolsAvailable } from "../hosts/native-c/bundle-bench.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const want = (name: string) => !only || only === name;

const rows: Record<string, string | number>[] = [];
const results: Record<string, unknown> = {};
const fmt = (n: number, d = 2) => Number(n.toFixed(d));

function row(name: string, figure: string, value: number | string, extra = "") {
  rows.push({ benchmark: name, figure, value: typeof value === "number" ? fmt(value) : value, notes: extra });
  console.error(`  ${name}: ${figure} ${typeof value === "number" ? fmt(value) : value} ${extra}`);
}

async function main(): Promise<void> {
  const root = packageRoot();
  const wasm = readFileSync(join(root, "build", "engine.wasm"));
  const asconfig = JSON.parse(readFileSync(join(root, "asconfig.json"), "utf8"));
  const machine = {
    node: process.version, v8: process.versions.v8, cpu: cpus()[0]?.model, cores: cpus().length,
    memoryGiB: fmt(totalmem() / 2 ** 30, 1), engineWasmBytes: wasm.length,
    engineWasmSha256: createHash("sha256").update(wasm).digest("hex"), ascFlags: asconfig.targets.release,
  };
  console.error(`wopte bench on ${machine.cpu} (${machine.cores} cores), node ${machine.node}, engine.wasm ${wasm.length} bytes`);

  if (want("fast")) {
    const flowCounts = quick ? [1000, 100_000] : [1000, 100_000, 1_000_000];
    const fast: unknown[] = [];
    const hot = await fastPath(256, 64, 256, "hot", quick ? 3 : 5);
    fast.push(hot);
    row("fast path 64 B, 256 hot flows", "Mpps", hot.mpps, `${fmt(hot.nsPerPacket, 1)} ns/pkt, ${fmt(hot.mpps / LINE_RATE_MPPS * 100, 0)} % of 10GbE line rate`);
    for (const flows of flowCounts) {
      for (const size of [64, 1400]) {
        const r = await fastPath(flows, size, 256, "patch", quick ? 3 : 5);
        fast.push(r);
        row(`fast path ${size} B, ${flows} flows`, "Mpps", r.mpps, `${fmt(r.nsPerPacket, 1)} ns/pkt${size === 64 ? `, ${fmt(r.mpps / LINE_RATE_MPPS * 100, 0)} % of line rate` : `, ${fmt(r.mpps * size * 8 / 1000, 1)} Gbit/s`}`);
      }
    }
    const small = await fastPath(100_000, 64, 64, "patch", quick ? 3 : 5);
    fast.push(small);
    row("fast path 64 B, 100000 flows, batch 64", "Mpps", small.mpps, `${fmt(small.nsPerPacket, 1)} ns/pkt`);
    const copy = await fastPath(100_000, 64, 256, "copy", quick ? 3 : 5);
    fast.push(copy);
    row("fast path 64 B, 100000 flows, host copies frames", "Mpps", copy.mpps, `${fmt(copy.nsPerPacket, 1)} ns/pkt`);
    results.fastPath = fast;
  }
  if (want("slow")) {
    const s = await slowPath(quick ? 100_000 : 200_000);
    row("slow path: new flows through 5 layers", "flows/s", Math.round(s.flowsPerSecond), `${fmt(s.nsPerFlow, 0)} ns/flow`);
    const scaling = [s];
    for (const rules of quick ? [1000] : [10, 1000, 10_000]) {
      const r = await slowPath(quick ? 20_000 : 50_000, rules);
      scaling.push(r);
      row(`slow path with ${rules} firewall rules`, "flows/s", Math.round(r.flowsPerSecond), `${fmt(r.nsPerFlow, 0)} ns/flow`);
    }
    results.slowPath = scaling;
  }
  if (want("memory")) {
    const m = await memoryPerFlow(quick ? 65_536 : 262_144);
    row("flow state", "bytes/flow", m.tableBytesPerFlow, `record + index; memory grew ${m.measuredBytesPerFlow} B/flow filling ${m.capacity} flows`);
    results.memory = m;
  }
  if (want("multicore")) {
    const one = await multiCore(1), two = await multiCore(2);
    row("multi-core fast path (64 B, 100k flows per core)", "Mpps", one.mpps, "1 worker");
    row("multi-core fast path (64 B, 100k flows per core)", "Mpps", two.mpps, `2 workers, scaling ×${fmt(two.mpps / one.mpps)}`);
    results.multiCore = [one, two];
  }
  if (want("native") && nativeToolsAvailable()) {
    const n = buildNative(256, 64, quick ? 20_000 : 100_000);
    row("native (wasm2c, gcc -O2) fast path 64 B, 256 flows", "Mpps", n.mpps, `${fmt(n.nsPerPacket, 1)} ns/pkt incl. copying each frame in`);
    results.native = n;
  }
  if (want("snapshot")) {
    const s = await snapshotBench(quick ? 200_000 : 1_000_000);
    row(`snapshot export, ${s.flows} flows`, "flows/s", Math.round(s.exportFlowsPerSec));
    row(`snapshot restore, ${s.flows} flows`, "flows/s", Math.round(s.restoreFlowsPerSec));
    row("snapshot size", "bytes/flow", s.bytesPerFlow, "TCP/IPv4 flows to a VPC peer");
    results.snapshot = s;
  }
  if (want("micro")) {
    const micro = await microBench(quick);
    for (const m of micro) row(`micro: ${m.name}`, "ops/s", Math.round(m.hz), `±${fmt(m.rme, 1)} %`);
    results.micro = micro;
  }

  console.log("\n" + table(rows));
  const dir = join(root, "bench", "results");
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().slice(0, 10)}${quick ? "-quick" : ""}.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), quick, machine, results }, null, 2) + "\n");
  console.log(`\nwritten to ${file}`);
  void execFileSync;
}

function table(rs: Record<string, string | number>[]): string {
  const cols = Object.keys(rs[0] ?? {});
  const w = cols.map((c) => Math.max(c.length, ...rs.map((r) => String(r[c]).length)));
  const line = (v: string[]) => v.map((x, i) => x.padEnd(w[i])).join("  ");
  return [line(cols), line(w.map((n) => "-".repeat(n))), ...rs.map((r) => line(cols.map((c) => String(r[c]))))].join("\n");
}

void main().catch((err) => { console.error(err); process.exit(1); });
