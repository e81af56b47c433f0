// NAT inside ICMP errors: an error about a SNATed flow reaches the guest
// with both the outer and the quoted header translated back, so traceroute
// and path-MTU discovery work through NAT.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { Engine } from "../../hosts/engine/engine.js";
import { Dir, Verdict } from "../../hosts/engine/batch.js";
import { compilePort } from "../../layers/vpc/compile.js";
import { applyPort } from "../../hosts/engine/apply-port.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { ipFrame, ipv4, udp, geneve, csum } from "../helpers/frames.js";

const cfg = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));
const G = "a8:40:25:f0:00:05", GW = "a8:40:25:ff:77:77";
const SLED = "fd00:1122:3344:101::1", BOUNDARY = "fd00:1122:3344:1::1";

function icmpError(type: number, code: number, quoted: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + quoted.length);
  m[0] = type; m[1] = code; m.set(quoted, 8);
  const c = csum(m); m[2] = c >> 8; m[3] = c & 0xff;
  return m;
}

describe("ICMP errors about NATed flows", () => {
  it.each([
    ["port unreachable from the server", "203.0.113.9", 3, 3],
    ["time exceeded from a router on the way (traceroute)", "192.0.2.77", 11, 0],
    ["fragmentation needed (path MTU discovery)", "192.0.2.78", 3, 4],
  ])("%s", async (_story, from, type, code) => {
    const e = await Engine.load();
    applyPort(e, 0, compilePort(cfg));
    const b = e.newBatch(4);
    b.set(0, ipFrame(GW, G, "172.30.0.5", "203.0.113.9", 17, udp("172.30.0.5", "203.0.113.9", 5000, 53, new Uint8Array(12))), 0, Dir.Out);
    b.run(1, 1);
    const sent = b.output(0);
    const innerIp = sent.subarray(70 + 14); // outer 70 (no option towards boundary services), inner Ethernet 14
    expect([...innerIp.subarray(12, 16)].join(".")).toBe("198.51.100.10");
    const quoted = Uint8Array.from(innerIp.subarray(0, 28)); // IP header + 8 bytes, as a router quotes it
    const err = ipv4(from, "198.51.100.10", 1, icmpError(type, code, quoted));
    b.set(0, geneve("02:08:20:01:01:01", "02:08:20:ff:ff:01", BOUNDARY, SLED, { vni: 1024 }, new Uint8Array([
      ...[0xa8, 0x40, 0x25, 0xf0, 0, 5], ...[2, 8, 0x20, 0xbb, 0, 1], 0x08, 0x00, ...err])), 0, Dir.In);
    b.run(1, 2);
    expect(b.verdict(0), reasonName(b.reason(0))).toBe(Verdict.Pass);
    const got = b.output(0);
    const ip = got.subarray(14);
    expect([...ip.subarray(12, 16)].join(".")).toBe(from);
    expect([...ip.subarray(16, 20)].join(".")).toBe("172.30.0.5");
    expect(csum(ip.subarray(0, 20))).toBe(0);
    const icmp = ip.subarray(20);
    expect([icmp[0], icmp[1]]).toEqual([type, code]);
    expect(csum(icmp)).toBe(0);
    const q = icmp.subarray(8);
    expect([...q.subarray(12, 16)].join(".")).toBe("172.30.0.5"); // quoted source translated back
    expect((q[20] << 8) | q[21]).toBe(5000);                     // and its port
    expect(csum(q.subarray(0, 20))).toBe(0);
    expect(e.flowCount(0)).toBe(1); // the error made no flow of its own
  });

  it("drops an error about no known flow (firewall default deny)", async () => {
    const e = await Engine.load();
    applyPort(e, 0, compilePort(cfg));
    const b = e.newBatch(2);
    const quoted = ipv4("198.51.100.10", "203.0.113.9", 17, udp("198.51.100.10", "203.0.113.9", 16999, 53)).subarray(0, 28);
    const err = ipv4("203.0.113.9", "198.51.100.10", 1, icmpError(3, 3, Uint8Array.from(quoted)));
    b.set(0, geneve("02:08:20:01:01:01", "02:08:20:ff:ff:01", BOUNDARY, SLED, { vni: 1024 }, new Uint8Array([
      ...[0xa8, 0x40, 0x25, 0xf0, 0, 5], ...[2, 8, 0x20, 0xbb, 0, 1], 0x08, 0x00, ...err])), 0, Dir.In);
    b.run(1, 1);
    expect(b.verdict(0)).toBe(Verdict.Drop);
  });
});
