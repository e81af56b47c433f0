// Address parsing agrees with Node's own on every input (property test), so
// the browser can share it.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { isIP as nodeIsIP } from "node:net";
import { isIP, ip16, ipText, prefix16, parsePrefix, prefixText, parseVni, parsePortRange, parseMac, isMac } from "../../layers/program/addr.js";

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

describe("the strict parser (prefixes, VNIs, ports, MACs)", () => {
  it("refuses trailing text, a second slash, newlines, signs and leading zeros", () => {
    for (const s of ["10.9.0.0/16/../../etc/passwd", "198.51.100.0/24/ blackhole; }\nprotocol kernel evil {", "10.0.0.0/24\n",
      "10.0.0.0\n/24", "10.0.0.0/+24", "10.0.0.0/024", "10.0.0.0/ 24", "10.0.0.0/", "fd00::/129", "fd00::/64/", " 10.0.0.0/8", "10.0.0.0/8 "]) {
      expect(() => parsePrefix(s), s).toThrow();
    }
    expect(() => parsePrefix("10.0.0.1", { lengthRequired: true })).toThrow(/no \/length/);
    expect(prefixText(parsePrefix("10.1.2.3/8"))).toBe("10.0.0.0/8");
    expect(prefixText(parsePrefix("FD00:0:0::1/64"))).toBe("fd00::/64");
    expect(prefixText(parsePrefix("0.0.0.0/0"))).toBe("0.0.0.0/0");
  });

  it("any string either parses to a prefix that prints as address characters only, or is refused with an Error", () => {
    const chars = fc.constantFrom(..."0123456789abcdef:./\n ;}x-".split(""));
    fc.assert(fc.property(fc.oneof(fc.string({ unit: chars, maxLength: 50 }), fc.string()), (s) => {
      let p;
      try { p = parsePrefix(s); } catch (e) { expect(e).toBeInstanceOf(Error); return; }
      expect(prefixText(p)).toMatch(/^[0-9a-f:.]+\/\d{1,3}$/);
      expect(parsePrefix(prefixText(p))).toEqual(p);
    }), { numRuns: 5000 });
  });

  it("VNIs are 24-bit integers, ports 16-bit, ranges ordered", () => {
    for (const v of [2 ** 30, -5, 1.5, 2 ** 24, NaN, "1e3", "0x10", "01", " 5", "5\n"]) expect(() => parseVni(v as never), String(v)).toThrow(/not a VNI/);
    expect(parseVni("1024")).toBe(1024);
    expect(parseVni(0xffffff)).toBe(0xffffff);
    expect(parsePortRange("8000-8080")).toEqual({ first: 8000, last: 8080 });
    expect(parsePortRange(22)).toEqual({ first: 22, last: 22 });
    for (const r of ["90-80", "65536", "1-2-3", "-1", "80-", "080", "80\n"]) expect(() => parsePortRange(r), r).toThrow();
  });

  it("MACs are six colon-separated hex pairs and nothing else", () => {
    expect(parseMac("A8:40:25:00:00:01")).toBe(0xa84025000001n);
    for (const m of ["zz", "a8-40-25-00-00-01", "a8:40:25:00:00:01\n", "a8:40:25:00:00", "a8:40:25:00:00:01:02"]) expect(isMac(m), m).toBe(false);
  });
});
