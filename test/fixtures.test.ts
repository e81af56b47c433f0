// Every golden-packet fixture, replayed: the engine's verdicts and output
// bytes must be exactly what the scenario's scapy script built
// (fixtures/<scenario>/gen.py; docs/fixtures.md). tshark must decode the
// expected and the produced frames without checksum errors (the outer UDP
// checksum of Geneve over IPv6 is zero by design, RFC 6935).
import { describe, it, expect } from "vitest";
import { readdirSync, existsSync, readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { execFileSync } from "node:child_process";
import { checkFixture } from "../hosts/harness/replay.js";
import { writeCapture } from "../hosts/pcap/pcapng.js";

const root = new URL("../fixtures/", import.meta.url).pathname;
const scenarios = readdirSync(root).filter((d) => existsSync(join(root, d, "scenario.json"))).sort();
const story = (d: string) => JSON.parse(readFileSync(join(root, d, "scenario.json"), "utf8")).story as string;

let tshark = false;
try { execFileSync("tshark", ["--version"], { stdio: "ignore" }); tshark = true; } catch { /* not installed */ }

/** tshark's expert errors for a capture, minus the zero UDP checksum Geneve uses on purpose. */
function tsharkErrors(file: string): string[] {
  const out = execFileSync("tshark", ["-r", file, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
    "-o", "udp.check_checksum:TRUE", "-q", "-z", "expert,error"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return out.split("\n").filter((l) => /^\s+\d+\s+\S+/.test(l)).map((l) => l.trim())
    .filter((l) => !/UDP\s+Illegal checksum value \(0\)/.test(l));
}

describe("golden fixtures", () => {
  it("has the scenarios of RFD 63's example flows and more", () => {
    expect(scenarios).toEqual(expect.arrayContaining([
      "arp-gateway", "dhcp4", "dhcp6", "ndp", "nat-icmp-error", "ping-gateway", "instance-to-instance-v4", "instance-to-instance-v6", "firewall-deny-allow",
      "nat-out-ping", "nat-out-tcp", "floating-ip-inbound", "ephemeral-ip", "v2p-miss", "spoofed-source", "wrong-vni",
      "ttl", "ipv6-ext-headers", "malformed",
    ]));
  });

  it.each(scenarios.map((d) => [d, story(d)]))("%s: %s", async (dir) => {
    const report = await checkFixture(join(root, dir));
    expect(report.mismatches).toEqual([]);
    if (tshark) {
      expect(tsharkErrors(join(root, dir, "expected.pcap"))).toEqual([]);
      const out = join(mkdtempSync(join(tmpdir(), "wopte-fx-")), "out.pcap");
      writeFileSync(out, writeCapture(report.results.filter((r) => r.output).map((r) => ({ side: r.output!.side, timeMs: 1, bytes: r.output!.bytes }))));
      expect(tsharkErrors(out)).toEqual([]);
    }
  });
});
