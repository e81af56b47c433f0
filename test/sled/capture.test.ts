// Packet capture on a port: frames before and after the engine, on four
// named pcapng interfaces, readable by the same reader (and Wireshark).
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { SledHost } from "../../hosts/sled/sled.js";
import { UdpUnderlay } from "../../hosts/sled/underlay.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { readCapture } from "../../hosts/pcap/pcapng.js";
import { ipFrame, icmpEcho, tcp, TCP_FLAGS } from "../helpers/frames.js";

const cfg = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));

describe("capture", () => {
  it("records what the port sees before and after transformation", async () => {
    const u = await UdpUnderlay.open({ address: "fd00:1122:3344:101::1", bind: { host: "::1", port: 0 }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01" });
    const sled = await SledHost.create({ name: "s", underlay: u });
    const dev = new MemoryDevice("a");
    sled.addPort(cfg, dev);
    const done = sled.capture("web-a", 4, 5000);
    dev.inject([ipFrame("a8:40:25:ff:77:77", "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.1", 1, icmpEcho("172.30.0.5", "172.30.0.1", true, 1, 1))]);
    dev.inject([ipFrame("a8:40:25:ff:77:77", "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 6, tcp("172.30.0.5", "172.30.0.6", 1, 80, TCP_FLAGS.SYN))]);
    const frames = readCapture(await done);
    // both frames went through the engine in one batch: inputs, then outputs
    expect(frames.map((f) => [f.interfaceName, f.bytes.length])).toEqual([
      ["guest-in", 50], ["guest-in", 54],      // the ping and the SYN as the guest sent them
      ["guest-out", 50], ["network-out", 132], // the gateway's echo reply, and the SYN in Geneve with the MSS option
    ]);
    expect(() => sled.capture("nope", 1, 10)).toThrow(/no port/);
    await sled.close();
  });
});
