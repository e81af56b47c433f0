// Address parsing agrees with Node's own on every input (property test), so
// the browser can share it.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { isIP as nodeIsIP } from "node:net";
import { isIP, ip16, ipText, prefix16 } from "../../layers/program/addr.js";

describe("addresses", () => {
  // (Zone ids like fe80::1%eth0 are refused on purpose: an address in a port config has no interface.)
  it("classifies like node:net for random IPv4, IPv6 and junk", () => {
    const v6 = fc.ipV6(), v4 = fc.ipV4();
    const junk = fc.string({ unit: fc.constantFrom(..."0123456789abcdef:.g ".split("")), maxLength: 45 });
    fc.assert(fc.property(fc.oneof(v4, v6, junk), (s) => { expect(isIP(s)).toBe(nodeIsIP(s)); }), { numRuns: 3000 });
  });

  it("round-trips IPv6 text through 16 bytes", () => {
    fc.assert(fc.property(fc.ipV6(), (s) => { expect(ip16(ipText(ip16(s)))).toEqual(ip16(s)); }), { numRuns: 2000 });
  });

  it("maps IPv4 prefixes onto the 128-bit form and clears host bits", () => {
    expect(prefix16("10.1.2.3/8")).toEqual({ addr: ip16("10.0.0.0"), len: 104 });
    expect(ipText(ip16("::ffff:1.2.3.4"))).toBe("1.2.3.4");
    expect(() => prefix16("10.0.0.0/33")).toThrow(/prefix length/);
  });
});
