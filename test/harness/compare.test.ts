// The fixture comparison: exact bytes except the Geneve outer UDP source port,
// which must look like flow entropy; verdicts as scenario.json says; a hex
// diff that marks the differing bytes.
import { describe, it, expect } from "vitest";
import { compareFixture, hexDiff, innerFlowKey, ScenarioFile } from "../../hosts/harness/compare.js";
import type { FrameResult } from "../../hosts/harness/replay.js";
import type { CapturedFrame } from "../../hosts/pcap/pcapng.js";
import { geneve, ipFrame, tcp, TCP_FLAGS, icmpEcho } from "../helpers/frames.js";

const SLED = "fd00:1122:3344:101::1", PEER = "fd00:1122:3344:102::1";
const inner = (sport: number, seq: number) =>
  ipFrame("a8:40:25:f0:00:06", "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 6, tcp("172.30.0.5", "172.30.0.6", sport, 80, TCP_FLAGS.ACK, new Uint8Array(), seq));
const encap = (sport: number, inner: Uint8Array) => geneve("02:08:20:ff:ff:01", "02:08:20:01:01:01", SLED, PEER, { vni: 1024, sport }, inner);

const passed = (index: number, bytes: Uint8Array): FrameResult =>
  ({ index, side: "guest", verdict: "pass", reason: "", layer: "overlay", rule: "default", output: { side: "network", bytes } });
const expectedFrame = (bytes: Uint8Array): CapturedFrame => ({ side: "network", timeMs: 0, bytes });
const scenario = (n: number, extra: Partial<ScenarioFile> = {}): ScenarioFile =>
  ({ story: "test", frames: Array.from({ length: n }, () => ({ verdict: "pass" as const })), ...extra });

describe("comparing with a fixture", () => {
  it("masks the outer UDP source port of Geneve frames when it is entropy-like and stable per flow", () => {
    const got = [passed(0, encap(0xd001, inner(40000, 1))), passed(1, encap(0xd001, inner(40000, 2))), passed(2, encap(0xe002, inner(40001, 1)))];
    const want = [encap(0xc000, inner(40000, 1)), encap(0xc000, inner(40000, 2)), encap(0xc000, inner(40001, 1))].map(expectedFrame);
    expect(compareFixture(got, want, scenario(3)).mismatches).toEqual([]);
  });

  it("wants the source port in 49152-65535", () => {
    const r = compareFixture([passed(0, encap(1234, inner(40000, 1)))], [expectedFrame(encap(0xc000, inner(40000, 1)))], scenario(1));
    expect(r.mismatches).toEqual(["frame 0: outer UDP source port 1234 is outside 49152-65535"]);
  });

  it("wants one source port per inner flow (TCP sequence numbers do not make a new flow)", () => {
    const got = [passed(0, encap(0xd001, inner(40000, 1))), passed(1, encap(0xd002, inner(40000, 99)))];
    const want = [encap(0xc000, inner(40000, 1)), encap(0xc000, inner(40000, 99))].map(expectedFrame);
    expect(compareFixture(got, want, scenario(2)).mismatches).toEqual(["frame 1: outer UDP source port 53250, frame 0 of the same inner flow had 53249"]);
  });

  it("compares the source port too when the scenario says so", () => {
    const r = compareFixture([passed(0, encap(0xd001, inner(40000, 1)))], [expectedFrame(encap(0xc000, inner(40000, 1)))], scenario(1, { compare: { maskOuterUdpSrcPort: false } }));
    expect(r.mismatches).toHaveLength(1);
    expect(r.mismatches[0]).toMatch(/frame 0: output differs[^]*0030  expected/);
  });

  it("tells inner flows apart by addresses, protocol and ports or echo identifier", () => {
    const ping = (id: number) => ipFrame("a8:40:25:f0:00:06", "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 1, icmpEcho("172.30.0.5", "172.30.0.6", true, id, 1));
    expect(innerFlowKey(encap(0xc000, ping(7)))).not.toBe(innerFlowKey(encap(0xc000, ping(8))));
    expect(innerFlowKey(encap(0xc000, inner(40000, 1)))).toBe(innerFlowKey(encap(0xd000, inner(40000, 5))));
    expect(innerFlowKey(encap(0xc000, inner(40000, 1)))).not.toBe(innerFlowKey(encap(0xc000, inner(40001, 1))));
  });

  it("reports verdicts, reasons and layers that differ, and keeps later outputs aligned", () => {
    const a = inner(40000, 1), b = inner(40000, 2);
    const got: FrameResult[] = [
      { index: 0, side: "guest", verdict: "drop", reason: "LayerDeny", layer: "firewall", rule: "default" },
      passed(1, b),
    ];
    const r = compareFixture(got, [a, b].map(expectedFrame), scenario(2));
    expect(r.mismatches).toEqual([
      "1 frames came out, expected.pcap has 2",
      "frame 0: drop LayerDeny by firewall, expected pass (verdict differ)",
      "frame 0: nothing came out, expected.pcap has frame 0 (54 bytes)",
    ]);
    expect(r.frames.map((f) => [f.verdictOk, f.outputOk])).toEqual([[false, false], [true, true]]);
  });
});

describe("hex diff", () => {
  it("shows only differing rows, with offsets and the differing bytes marked", () => {
    const want = Uint8Array.from({ length: 40 }, (_, i) => i);
    const got = Uint8Array.from(want);
    got[17] = 0xff;
    expect(hexDiff(want, got.subarray(0, 38))).toBe([
      "  offset  40 bytes expected, 38 bytes got",
      "  0010  expected 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f",
      "        got      10 ff 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f",
      "                    ^^",
      "  0020  expected 20 21 22 23 24 25 26 27                        ",
      "        got      20 21 22 23 24 25                              ",
      "                                   ^^ ^^",
    ].join("\n"));
  });
});
