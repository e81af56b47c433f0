// The same engine.wasm, translated to C by wasm2c and built natively, gives
// byte-identical results to the Node host for the same frames.
import { describe, it, expect } from "vitest";
import { readFileSync, writeFileSync, mkdtempSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { execFileSync } from "node:child_process";
import { compilePort } from "../../layers/vpc/compile.js";
import { writeBundle, parseReplayLines, replayInNode, BundleFrame } from "../../hosts/native-c/bundle.js";
import { buildNative, nativeToolsAvailable } from "../../hosts/native-c/build.js";
import { readCapture } from "../../hosts/pcap/pcapng.js";
import { needs } from "../helpers/tools.js";
import { ipFrame, tcp, udp, icmpEcho, geneve, eth, TCP_FLAGS } from "../helpers/frames.js";

const env = needs("wasm2c", "cc");
const tools = env.ready && nativeToolsAvailable();
const root = new URL("../../", import.meta.url).pathname;

function runNative(bin: string, bundle: Uint8Array, extra: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), "wopte-native-"));
  const path = join(dir, "bundle.bin");
  writeFileSync(path, bundle);
  return execFileSync(bin, [path, ...extra], { encoding: "utf8", maxBuffer: 64 << 20 });
}

/** A scenario of its own, so the comparison runs even without fixtures. */
function ownScenario(): { cfg: unknown; frames: BundleFrame[] } {
  const cfg = JSON.parse(readFileSync(join(root, "examples/port-a.json"), "utf8"));
  const G = "a8:40:25:f0:00:05", GW = "a8:40:25:ff:77:77";
  const arp = new Uint8Array([0, 1, 8, 0, 6, 4, 0, 1, 0xa8, 0x40, 0x25, 0xf0, 0, 5, 172, 30, 0, 5, 0, 0, 0, 0, 0, 0, 172, 30, 0, 1]);
  const out = [
    eth("ff:ff:ff:ff:ff:ff", G, 0x0806, arp),
    ipFrame(GW, G, "172.30.0.5", "172.30.0.1", 1, icmpEcho("172.30.0.5", "172.30.0.1", true, 3, 1)),
    ipFrame(GW, G, "172.30.0.5", "172.30.0.6", 6, tcp("172.30.0.5", "172.30.0.6", 40000, 80, TCP_FLAGS.SYN)),
    ipFrame(GW, G, "172.30.0.5", "203.0.113.9", 17, udp("172.30.0.5", "203.0.113.9", 5000, 53, new Uint8Array(20))),
    ipFrame(GW, G, "172.30.0.5", "203.0.113.9", 1, icmpEcho("172.30.0.5", "203.0.113.9", true, 9, 1)),
    ipFrame(GW, G, "fd00:1024::5", "fd00:1024::6", 17, udp("fd00:1024::5", "fd00:1024::6", 7, 7)),
    ipFrame(GW, "a8:40:25:f0:00:99", "172.30.0.5", "172.30.0.6", 6, tcp("172.30.0.5", "172.30.0.6", 1, 2, TCP_FLAGS.SYN)),
  ];
  const inn = geneve("02:08:20:01:01:01", "02:08:20:ff:ff:01", "fd00:1122:3344:102::1", "fd00:1122:3344:101::1", { vni: 1024 },
    ipFrame(G, "a8:40:25:f0:00:06", "172.30.0.6", "172.30.0.5", 6, tcp("172.30.0.6", "172.30.0.5", 80, 40000, TCP_FLAGS.SYN | TCP_FLAGS.ACK)));
  const frames: BundleFrame[] = out.map((bytes, i) => ({ dir: 2, timeMs: 1000 + i, bytes }));
  frames.push({ dir: 1, timeMs: 2000, bytes: inn }, { dir: 1, timeMs: 2000, bytes: inn.subarray(0, 60) });
  return { cfg, frames };
}

describe(env.title("native build through wasm2c"), { ...env.options, skip: !tools }, () => {
  const bin = tools ? buildNative() : "";

  it("matches the Node host frame for frame on its own scenario", async () => {
    const { cfg, frames } = ownScenario();
    const p = compilePort(cfg);
    const native = parseReplayLines(runNative(bin, writeBundle(p, frames)));
    const node = await replayInNode(p, frames);
    expect(native).toEqual(node);
    expect(node.filter((l) => l.verdict !== 2).length).toBeGreaterThanOrEqual(6);
  });

  const fixtures = readdirSync(join(root, "fixtures")).filter((d) => existsSync(join(root, "fixtures", d, "scenario.json")));
  it.each(fixtures)("matches the Node host on fixture %s", async (name) => {
    const dir = join(root, "fixtures", name);
    const p = compilePort(JSON.parse(readFileSync(join(dir, "port.json"), "utf8")));
    const frames: BundleFrame[] = readCapture(readFileSync(join(dir, "in.pcap"))).map((f) => ({
      dir: f.side === "network" ? 1 : 2, timeMs: Math.floor(f.timeMs), bytes: f.bytes }));
    const native = parseReplayLines(runNative(bin, writeBundle(p, frames)));
    expect(native).toEqual(await replayInNode(p, frames));
  });

  it("runs the fast path natively (figures in bench/)", () => {
    const { cfg, frames } = ownScenario();
    const r = JSON.parse(runNative(bin, writeBundle(compilePort(cfg), frames.slice(2, 3)), ["--bench", "1000"]));
    expect(r.packets).toBe(1000);
    expect(r.mpps).toBeGreaterThan(0);
  });
});
