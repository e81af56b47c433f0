// What the playground highlights, without a browser: headers paired from the
// innermost outwards, changed fields with the other side's value, the
// encapsulation's headers added (and removed on the way back).
import { describe, it, expect } from "vitest";
import { decodeFrame } from "../../hosts/playground/decode.js";
import { compareHeaders } from "../../hosts/playground/diff.js";
import { loadScenarios, PlaygroundScenario } from "../../hosts/playground/server.js";
import { replayFrames, loadPortConfig } from "../../hosts/harness/replay.js";

const root = new URL("../../", import.meta.url).pathname;
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));

describe("compareHeaders", () => {
  it("marks SNAT's rewrites as changed and the Geneve encapsulation as added", async () => {
    const s = (loadScenarios(root) as PlaygroundScenario[]).find((x) => x.name === "nat-out-ping")!;
    const [out] = await replayFrames(loadPortConfig(`${root}fixtures/nat-out-ping/port.json`), s.frames.map((f) => ({ ...f, bytes: bytes(f.hex) })));
    const m = compareHeaders(decodeFrame(bytes(s.frames[0].hex)), decodeFrame(out.output!.bytes));
    expect(m.output.map((h) => `${h.name}:${h.mark}`)).toEqual(["Ethernet:added", "IPv6:added", "UDP:added", "Geneve:added", "Ethernet:changed", "IPv4:changed", "ICMP:changed"]);
    // the inner Ethernet destination becomes boundary services' tunnel-endpoint MAC
    expect(m.output[4].fields.find((f) => f.name === "destination")).toMatchObject({ value: "a8:40:25:77:77:77", mark: "changed" });
    expect(m.input.map((h) => h.mark)).toEqual(["changed", "changed", "changed"]);
    const src = m.output[5].fields.find((f) => f.name === "source")!;
    expect(src).toMatchObject({ value: "198.51.100.10", mark: "changed", other: "172.30.0.5" });
    expect(m.output[5].fields.find((f) => f.name === "destination")!.mark).toBe("same");
  });

  it("pairs a hairpin reply with its request field by field", () => {
    const req = [{ name: "Ethernet", offset: 0, length: 14, fields: [{ name: "source", value: "a" }, { name: "destination", value: "b" }] },
      { name: "ARP", offset: 14, length: 28, fields: [{ name: "operation", value: "request" }] }];
    const rep = [{ name: "Ethernet", offset: 0, length: 14, fields: [{ name: "source", value: "b" }, { name: "destination", value: "a" }] },
      { name: "ARP", offset: 14, length: 28, fields: [{ name: "operation", value: "reply" }, { name: "extra", value: "x" }] }];
    const m = compareHeaders(req, rep);
    expect(m.output.map((h) => h.mark)).toEqual(["changed", "changed"]);
    expect(m.output[1].fields.map((f) => f.mark)).toEqual(["changed", "added"]);
    expect(m.input[0].fields[0]).toMatchObject({ mark: "changed", other: "b" });
  });

  it("marks everything added when nothing came in, and nothing when nothing came out", () => {
    expect(compareHeaders([], decodeFrame(new Uint8Array(14))).output.map((h) => h.mark)).toEqual(["added"]);
    expect(compareHeaders(decodeFrame(new Uint8Array(14)), []).input.map((h) => h.mark)).toEqual(["removed"]);
  });
});
