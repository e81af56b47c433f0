// Which external address a flow leaves from: per internet gateway, floating
// IPs spread by flow hash, ephemeral before SNAT, attached subnets.
import { describe, it, expect } from "vitest";
import { Engine } from "../../hosts/engine/engine.js";
import { Dir, Verdict } from "../../hosts/engine/batch.js";
import { examplePort, PortJson, GUEST_MAC, GATEWAY_MAC } from "../helpers/example-port.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { ipFrame, tcp, TCP_FLAGS } from "../helpers/frames.js";

const G = GUEST_MAC, GW = GATEWAY_MAC;
const port = (edit: (c: PortJson) => void) => examplePort(edit, 64);

/** Send one SYN per source port; return the outer inner-source address of each. */
function sources(b: ReturnType<Engine["newBatch"]>, dst: string, sports: number[], src = "172.30.0.5"): string[] {
  sports.forEach((sp, i) => b.set(i, ipFrame(GW, G, src, dst, 6, tcp(src, dst, sp, 443, TCP_FLAGS.SYN)), 0, Dir.Out));
  b.run(sports.length, 1);
  return sports.map((_, i) => {
    if (b.verdict(i) !== Verdict.Pass) return reasonName(b.reason(i));
    const ip = b.output(i).subarray(70 + 14); // outer headers, inner Ethernet
    return [...ip.subarray(12, 16)].join(".");
  });
}

describe("source selection", () => {
  it("uses the SNAT block of the internet gateway the route chose", async () => {
    const { b } = await port((c) => {
      c.routes = [{ dest: "0.0.0.0/0", target: { type: "internetGateway", id: 0 } }, { dest: "203.0.113.0/24", target: { type: "internetGateway", id: 1 } }];
      c.externalIps = { snat: [{ ip: "198.51.100.10", firstPort: 1024, lastPort: 2047, igw: 0 }, { ip: "192.0.2.10", firstPort: 1024, lastPort: 2047, igw: 1 }], floating: [] };
    });
    expect(sources(b, "8.8.8.8", [40000])).toEqual(["198.51.100.10"]);
    expect(sources(b, "203.0.113.9", [40001])).toEqual(["192.0.2.10"]);
  });

  it("spreads flows over several floating IPs by hash, each flow keeping its address", async () => {
    const { b } = await port((c) => { c.externalIps = { floating: ["198.51.100.20", "198.51.100.21"] }; });
    const sports = Array.from({ length: 40 }, (_, i) => 41000 + i);
    const first = sources(b, "8.8.8.8", sports);
    expect(new Set(first)).toEqual(new Set(["198.51.100.20", "198.51.100.21"]));
    expect(sources(b, "8.8.8.8", sports)).toEqual(first);
  });

  it("prefers the ephemeral IP to SNAT, and a floating IP to both", async () => {
    const snatAndEphemeral = await port((c) => { c.externalIps = { snat: { ip: "198.51.100.10", firstPort: 1024, lastPort: 2047 }, ephemeral: "198.51.100.30", floating: [] }; });
    expect(sources(snatAndEphemeral.b, "8.8.8.8", [40000])).toEqual(["198.51.100.30"]);
    const all = await port((c) => { c.externalIps = { snat: { ip: "198.51.100.10", firstPort: 1024, lastPort: 2047 }, ephemeral: "198.51.100.30", floating: ["198.51.100.20"] }; });
    expect(sources(all.b, "8.8.8.8", [40000])).toEqual(["198.51.100.20"]);
  });

  it("lets attached subnets send, external ones without NAT and never to VPC addresses", async () => {
    const { b } = await port((c) => {
      c.attachedSubnets = [{ cidr: "10.99.0.0/24" }, { cidr: "198.51.100.128/25", external: true }];
    });
    expect(sources(b, "8.8.8.8", [40000], "10.99.0.7")).toEqual(["198.51.100.10"]);       // attached: sent, SNATed
    expect(sources(b, "8.8.8.8", [40001], "198.51.100.130")).toEqual(["198.51.100.130"]);  // external: no NAT
    b.set(0, ipFrame(GW, G, "198.51.100.130", "172.30.0.6", 6, tcp("198.51.100.130", "172.30.0.6", 1, 80, TCP_FLAGS.SYN)), 0, Dir.Out);
    b.run(1, 2);
    expect([b.verdict(0), b.layer(0)]).toEqual([Verdict.Drop, 4]); // refused by the overlay
    expect(sources(b, "8.8.8.8", [40002], "10.98.0.7")).toEqual(["SpoofedSource"]);       // not attached
  });
});
