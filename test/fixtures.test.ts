// Every golden-packet fixture, replayed: the engine's verdicts and output
// bytes must be exactly what the scenario's scapy script built
// (fixtures/<scenario>/gen.py; docs/fixtures.md). tshark must decode the
// expected and the produced frames without checksum or malformed-packet
// errors (hosts/harness/tshark.ts has the rule; the outer UDP checksum of
// Geneve over IPv6 is zero by design, RFC 6935).
import { describe, it, expect, afterAll } from "vitest";
import { readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { checkFixture, isFixture, outputCapture } from "../hosts/harness/fixture.js";
import { tsharkCheck } from "../hosts/harness/tshark.js";
import { needs } from "./helpers/tools.js";

const root = new URL("../fixtures/", import.meta.url).pathname;
const scenarios = readdirSync(root).filter((d) => isFixture(join(root, d))).sort();
const story = (d: string) => JSON.parse(readFileSync(join(root, d, "scenario.json"), "utf8")).story as string;
const scratch = mkdtempSync(join(tmpdir(), "wopte-fixtures-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("golden fixtures", () => {
  it("has the scenarios of RFD 63's example flows and more", () => {
    expect(scenarios).toEqual(expect.arrayContaining([
      "arp-gateway", "dhcp4", "dhcp6", "ndp", "nat-icmp-error", "ping-gateway", "instance-to-instance-v4", "instance-to-instance-v6", "firewall-deny-allow",
      "nat-out-ping", "nat-out-tcp", "floating-ip-inbound", "ephemeral-ip", "v2p-miss", "spoofed-source", "wrong-vni",
      "ttl", "ipv6-ext-headers", "malformed",
    ]));
  });

  it("puts every port on a VNI whose bytes read differently reversed (a byte-order bug cannot hide)", () => {
    const reversed = (v: number) => ((v & 0xff) << 16) | (v & 0xff00) | (v >> 16);
    for (const d of scenarios) {
      const vni = JSON.parse(readFileSync(join(root, d, "port.json"), "utf8")).vni as number;
      expect(reversed(vni), `${d}: VNI ${vni}`).not.toBe(vni);
    }
  });

  it.each(scenarios.map((d) => [d, story(d)]))("%s: %s", async (dir) => {
    const report = await checkFixture(join(root, dir));
    expect(report.mismatches).toEqual([]);
  });
});

const tshark = needs("tshark");
describe(tshark.title("golden fixtures decoded by tshark"), tshark.options, () => {
  it.each(scenarios)("%s: expected and produced frames decode without errors", async (dir) => {
    const report = await checkFixture(join(root, dir));
    const expected = tsharkCheck(join(root, dir, "expected.pcap"));
    expect(expected.problems).toEqual([]);
    const produced = join(scratch, `${dir}.pcap`);
    writeFileSync(produced, outputCapture(report.inputs, report.results));
    const got = tsharkCheck(produced);
    expect(got.problems).toEqual([]);
    expect(got.packets).toBe(expected.packets);
    expect(got.packets).toBe(report.results.filter((r) => r.output).length);
  });
});
