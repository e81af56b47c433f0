// The sled host's TAP path, guest → underlay, on one core (root only):
// a guest in a namespace blasts UDP through its TAP; the sled host reads the
// frames in batches (native reader thread), runs the engine, and sends Geneve
// over the udp underlay to a sink. Prints kpps and Gbit/s for 64 B and
// 1400 B frames. `node dist/bench/tap-path.js [--seconds 3]`

import { spawn, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SledHost } from "../hosts/sled/sled.js";
import { UdpUnderlay } from "../hosts/sled/underlay.js";
import { TapDevice } from "../hosts/io/tap.js";
import { packageRoot } from "../hosts/engine/wasm.js";

const seconds = Number(process.argv.includes("--seconds") ? process.argv[process.argv.indexOf("--seconds") + 1] : 3);
const NS = "wopte-bench-g";
const sh = (...a: string[]) => execFileSync(a[0], a.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });

async function measure(frameBytes: number): Promise<{ frameBytes: number; kpps: number; gbps: number; sinkKpps: number }> {
  // the sink is another process: it counts what arrives and reports on stdin close
  const sinkCode = `const s=require("dgram").createSocket("udp6");let n=0;s.on("message",()=>n++);s.bind(0,"::1",()=>console.log(s.address().port));
    process.stdin.on("data",()=>console.log(n));process.stdin.resume();`;
  const sinkProc = spawn(process.execPath, ["-e", sinkCode], { stdio: ["pipe", "pipe", "ignore"] });
  const lines: string[] = [];
  let wake: () => void = () => {};
  sinkProc.stdout!.on("data", (d) => { lines.push(...String(d).trim().split("\n")); wake(); });
  const nextLine = () => new Promise<string>((r) => { const tryIt = () => (lines.length ? r(lines.shift()!) : (wake = tryIt)); tryIt(); });
  const sinkPort = Number(await nextLine());
  const sunk = async () => { sinkProc.stdin!.write("?\n"); return Number(await nextLine()); };
  const u = await UdpUnderlay.open({ address: "fd00:1122:3344:101::1", bind: { host: "::1", port: 0 },
    peers: { "fd00:1122:3344:102::1": `[::1]:${sinkPort}` }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01" });
  const sled = await SledHost.create({ name: "bench", underlay: u, underlayAddress: "fd00:1122:3344:101::1" });
  const cfg = JSON.parse(readFileSync(join(packageRoot(), "examples/port-a.json"), "utf8"));
  const tap = TapDevice.open("wbt0");
  await sled.addPort(cfg, tap);
  try { sh("ip", "netns", "del", NS); } catch { /* fresh */ }
  sh("ip", "netns", "add", NS);
  sh("ip", "link", "set", "wbt0", "netns", NS);
  for (const c of [["ip", "link", "set", "wbt0", "address", "a8:40:25:f0:00:05"], ["ip", "addr", "add", "172.30.0.5/24", "dev", "wbt0"],
    ["ip", "link", "set", "wbt0", "up"], ["ip", "route", "add", "default", "via", "172.30.0.1"],
    ["ip", "neigh", "replace", "172.30.0.6", "lladdr", "a8:40:25:ff:77:77", "dev", "wbt0", "nud", "permanent"]]) sh("ip", "netns", "exec", NS, ...c);
  const payload = frameBytes - 42;
  const gen = `const s=require("dgram").createSocket("udp4");const b=Buffer.alloc(${payload});const end=Date.now()+${seconds * 1000};
    let n=0;function go(){for(let i=0;i<64;i++){s.send(b,7000+(n++%64),"172.30.0.6");}if(Date.now()<end)setImmediate(go);else setTimeout(()=>process.exit(0),200);}go();`;
  const p = spawn("ip", ["netns", "exec", NS, process.execPath, "-e", gen], { stdio: "ignore" });
  const exited = new Promise((r) => p.on("exit", r)); // listen now: a slow start must not make us miss the exit
  await new Promise((r) => setTimeout(r, 500)); // warm up
  const id = sled.port("web-a").id;
  const c0 = sled.engine.counters(id), t0 = performance.now(), s0 = await sunk();
  await new Promise((r) => setTimeout(r, (seconds - 1) * 1000));
  const c1 = sled.engine.counters(id), t1 = performance.now(), s1 = await sunk();
  await exited;
  const secs = (t1 - t0) / 1000;
  const pps = (c1.pktsOut - c0.pktsOut) / secs;
  await sled.close();
  sinkProc.kill();
  try { sh("ip", "netns", "del", NS); } catch { /* gone */ }
  return { frameBytes, kpps: pps / 1000, gbps: (pps * frameBytes * 8) / 1e9, sinkKpps: (s1 - s0) / secs / 1000 };
}

if (process.getuid?.() !== 0) {
  console.error("the TAP path benchmark needs root (TAP devices and namespaces)");
  process.exit(2);
}
for (const size of [64, 1400]) {
  const r = await measure(size);
  console.log(`TAP guest → engine → udp underlay, ${size} B frames: ${r.kpps.toFixed(0)} kpps, ${r.gbps.toFixed(2)} Gbit/s (sink received ${r.sinkKpps.toFixed(0)} kpps)`);
}
