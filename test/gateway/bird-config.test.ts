// BIRD's config is written from parsed values only: whatever a client puts in
// a "prefix" cannot become configuration text.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { birdConfig, BgpOptions } from "../../hosts/gateway/bgp.js";

const o: BgpOptions = { localAs: 65001, routerId: "192.0.2.1", neighbor: { address: "192.0.2.2", as: 65000 }, configPath: "/x", socketPath: "/y" };

describe("BIRD config", () => {
  it("refuses a prefix carrying configuration after a second slash", () => {
    expect(() => birdConfig(o, ["198.51.100.0/24/ blackhole; }\nprotocol kernel evil { ipv4 { export all; }; }\nprotocol static x { ipv4;"])).toThrow(/prefix/);
    expect(() => birdConfig(o, ["198.51.100.0/24\n"])).toThrow();
    expect(() => birdConfig({ ...o, routerId: "1.2.3.4; protocol kernel {}" }, [])).toThrow(/router id/);
    expect(() => birdConfig({ ...o, neighbor: { address: "::1 as 1; }", as: 1 } }, [])).toThrow(/neighbor/);
  });

  it("writes prefixes in their one spelling", () => {
    const text = birdConfig(o, ["198.51.100.7/24", "FD00:0::/48"]);
    expect(text).toMatch(/^  route 198\.51\.100\.0\/24 blackhole;$/m);
    expect(text).toMatch(/^  route fd00::\/48 blackhole;$/m);
  });

  it("any accepted list of strings yields only route lines made of address characters", () => {
    const junk = fc.string({ unit: fc.constantFrom(..."0123456789abcdef:./\n ;{}x".split("")), maxLength: 40 });
    fc.assert(fc.property(fc.array(junk, { maxLength: 4 }), (list) => {
      let text: string;
      try { text = birdConfig(o, list); } catch { return; }
      const routes = text.split("\n").filter((l) => l.includes("route "));
      expect(routes.length).toBe(list.length);
      for (const l of routes) expect(l).toMatch(/^  route [0-9a-f:.]+\/\d+ blackhole;$/);
    }), { numRuns: 3000 });
  });
});
