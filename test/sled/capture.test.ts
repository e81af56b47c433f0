// Packet capture on a port: frames before and after the engine, on four
// named pcapng interfaces, readable by the same reader (and Wireshark).
import { describe, it, expect } from "vitest";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { SledHost } from "../../hosts/sled/sled.js";
import { UdpUnderlay } from "../../hosts/sled/underlay.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { readCapture } from "../../hosts/pcap/pcapng.js";
import { framesOf, replayFrames } from "../../hosts/harness/replay.js";
import { compilePort } from "../../layers/vpc/compile.js";
import { execFileSync } from "node:child_process";
import { requireOrSkip, which } from "../helpers/tools.js";
import { ipFrame, icmpEcho, tcp, TCP_FLAGS } from "../helpers/frames.js";

const cfg = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));

/** A sled on loopback with the example port web-a on a memory device. */
async function sledWithWebA() {
  const u = await UdpUnderlay.open({ address: "fd00:1122:3344:101::1", bind: { host: "::1", port: 0 }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01" });
  const sled = await SledHost.create({ name: "s", underlay: u });
  const dev = new MemoryDevice("a");
  await sled.addPort(cfg, dev);
  return { sled, dev };
}

describe("capture", () => {
  it("records what the port sees before and after transformation", async () => {
    const { sled, dev } = await sledWithWebA();
    const done = sled.capture("web-a", 4, 5000);
    dev.inject([ipFrame("a8:40:25:ff:77:77", "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.1", 1, icmpEcho("172.30.0.5", "172.30.0.1", true, 1, 1))]);
    dev.inject([ipFrame("a8:40:25:ff:77:77", "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 6, tcp("172.30.0.5", "172.30.0.6", 1, 80, TCP_FLAGS.SYN))]);
    const frames = readCapture(await done);
    // both frames went through the engine in one batch: inputs, then outputs
    expect(frames.map((f) => [f.interfaceName, f.bytes.length])).toEqual([
      ["from-guest", 50], ["from-guest", 54],      // the ping and the SYN as the guest sent them
      ["to-guest", 50], ["to-network", 132], // the gateway's echo reply, and the SYN in Geneve with the MSS option
    ]);
    expect(() => sled.capture("nope", 1, 10)).toThrow(/no port/);
    await sled.close();
  });

  it("marks dropped frames with the reason and rule, stamps nanoseconds, and replays as wopte replay reads it", async () => {
    const { sled, dev } = await sledWithWebA();
    const done = sled.capture("web-a", 3, 5000);
    const before = Date.now();
    // a ping the gateway answers, and a ping to a peer from an address that is not the guest's
    dev.inject([ipFrame("a8:40:25:ff:77:77", "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.1", 1, icmpEcho("172.30.0.5", "172.30.0.1", true, 1, 1))]);
    dev.inject([ipFrame("a8:40:25:ff:77:77", "a8:40:25:f0:00:05", "172.30.0.99", "172.30.0.6", 1, icmpEcho("172.30.0.99", "172.30.0.6", true, 1, 2))]);
    const bytes = await done;
    const frames = readCapture(bytes);
    expect(frames.map((f) => f.interfaceName)).toEqual(["from-guest", "from-guest", "to-guest"]);
    expect(frames[0].comment).toBeUndefined();
    expect(frames[1].comment).toMatch(/^dropped: SpoofedSource by gateway: /);
    // if_tsresol 9 in every interface block; times within the test's wall-clock window, below a millisecond apart
    expect(Buffer.from(bytes).includes(Buffer.from([9, 0, 1, 0, 9]))).toBe(true);
    for (const f of frames) expect(f.timeMs).toBeGreaterThanOrEqual(before - 1);
    expect(frames[1].timeMs).toBeGreaterThanOrEqual(frames[0].timeMs);
    // replay takes the two inputs and leaves the port's own output out
    const inputs = framesOf(frames);
    expect(inputs.map((f) => f.side)).toEqual(["guest", "guest"]);
    const results = await replayFrames(compilePort(cfg), inputs);
    expect(results.map((r) => [r.verdict, r.reason])).toEqual([["hairpin", ""], ["drop", "SpoofedSource"]]);
    await sled.close();
    // Wireshark reads it: names, comments, nanoseconds
    requireOrSkip("tshark");
    const file = join(mkdtempSync(join(tmpdir(), "wopte-capture-")), "c.pcapng");
    writeFileSync(file, bytes);
    const seen = execFileSync(which("tshark")!, ["-r", file, "-T", "fields", "-E", "separator=|", "-e", "frame.interface_name", "-e", "frame.comment", "-e", "frame.time_epoch"],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split("\n").map((l) => l.split("|"));
    expect(seen.map((l) => l[0])).toEqual(["from-guest", "from-guest", "to-guest"]);
    expect(seen[1][1]).toMatch(/^dropped: SpoofedSource by gateway: /);
    expect(seen[0][2]).toMatch(/^\d+\.\d{9}$/); // nanoseconds
  });
});
