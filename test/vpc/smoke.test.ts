import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { Engine } from "../../hosts/engine/engine.js";
import { Dir, Verdict } from "../../hosts/engine/batch.js";
import { compilePort } from "../../layers/vpc/compile.js";
import { applyPort } from "../../hosts/engine/apply-port.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { ipFrame, tcp, icmpEcho, eth, TCP_FLAGS } from "../helpers/frames.js";

const cfg = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));
const G = "a8:40:25:f0:00:05", GW = "a8:40:25:ff:77:77";

describe("vpc smoke", () => {
  it("runs the example port", async () => {
    const e = await Engine.load();
    applyPort(e, 0, compilePort(cfg));
    const b = e.newBatch(8);
    const arp = new Uint8Array(28);
    arp.set([0, 1, 8, 0, 6, 4, 0, 1, 0xa8, 0x40, 0x25, 0xf0, 0, 5, 172, 30, 0, 5, 0, 0, 0, 0, 0, 0, 172, 30, 0, 1]);
    b.set(0, eth("ff:ff:ff:ff:ff:ff", G, 0x0806, arp), 0, Dir.Out);
    b.set(1, ipFrame(GW, G, "172.30.0.5", "172.30.0.1", 1, icmpEcho("172.30.0.5", "172.30.0.1", true, 7, 1)), 0, Dir.Out);
    b.set(2, ipFrame(GW, G, "172.30.0.5", "172.30.0.6", 6, tcp("172.30.0.5", "172.30.0.6", 40000, 80, TCP_FLAGS.SYN)), 0, Dir.Out);
    b.set(3, ipFrame(GW, G, "172.30.0.5", "203.0.113.9", 6, tcp("172.30.0.5", "203.0.113.9", 40001, 443, TCP_FLAGS.SYN)), 0, Dir.Out);
    b.set(4, ipFrame(GW, G, "172.30.0.99", "172.30.0.6", 6, tcp("172.30.0.99", "172.30.0.6", 40000, 80, TCP_FLAGS.SYN)), 0, Dir.Out);
    b.set(5, ipFrame(GW, G, "fd00:1024::5", "fd00:1024::6", 6, tcp("fd00:1024::5", "fd00:1024::6", 40000, 80, TCP_FLAGS.SYN)), 0, Dir.Out);
    b.run(6, 1000);
    const v = [0, 1, 2, 3, 4, 5].map((i) => [b.verdict(i), reasonName(b.reason(i)), b.layer(i), b.output(i).length]);
    expect(v).toEqual([
      [Verdict.Hairpin, "None", 0, 42],
      [Verdict.Hairpin, "None", 0, 50],
      // a pass names the layer whose rule allowed its flow: the firewall (layer 1)
      [Verdict.Pass, "None", 1, 54 + 70 + 8], // VPC-internal TCP: Geneve + the MSS option
      [Verdict.Pass, "None", 1, 54 + 70],     // internet-bound: Geneve, no option
      [Verdict.Drop, "SpoofedSource", 0, 0],
      [Verdict.Pass, "None", 1, 74 + 70 + 8],
    ]);
    const flows = e.flows(0);
    const snat = flows.find((f) => f.out.dst === "203.0.113.9")!;
    expect(snat.nat).toEqual({ pool: 0, port: 16384 });
    expect(snat.in).toMatchObject({ src: "203.0.113.9", dst: "198.51.100.10", sport: 443, dport: 16384 });
  });
});
