// Reading a guest's IGMPv3/MLDv2 membership reports (hosts/sled/membership-
// report.ts). Reports come from guests, so the parser gets every kind of
// garbage: any byte string parses or is rejected with a reason, never throws;
// a report built by hand (hosts/lib/mcast-frames.ts) reads back as built.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { parseMembershipReport } from "../../hosts/sled/membership-report.js";
import { igmpv3Report, mldv2Report, RECORD, GroupRecord } from "../../hosts/lib/mcast-frames.js";
import { ipText, ip16 } from "../../layers/program/addr.js";

const MAC = "a8:40:25:f0:00:05";
const LL = "fe80::aa40:25ff:fef0:5";

const octet = fc.integer({ min: 0, max: 255 });
const v4Group = fc.tuple(fc.integer({ min: 224, max: 239 }), octet, octet, octet).map((b) => b.join("."));
const v4Unicast = fc.tuple(fc.integer({ min: 1, max: 223 }), octet, octet, octet).map((b) => b.join("."));
const v6 = (first: fc.Arbitrary<number>) => fc.tuple(first, fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 7, maxLength: 7 }))
  .map(([a, rest]) => ipText(ip16([a, ...rest].map((w) => w.toString(16)).join(":"))));
const v6Group = v6(fc.integer({ min: 0xff00, max: 0xffff }));
const v6Unicast = v6(fc.integer({ min: 0x2000, max: 0xfdff }));
const records = (group: fc.Arbitrary<string>, source: fc.Arbitrary<string>) => fc.array(
  fc.record({ type: fc.integer({ min: 1, max: 6 }), group, sources: fc.array(source, { maxLength: 5 }) }), { maxLength: 6 });

describe("membership reports", () => {
  it("an IGMPv3 report reads back as built", () => {
    fc.assert(fc.property(records(v4Group, v4Unicast), (recs: GroupRecord[]) => {
      expect(parseMembershipReport(igmpv3Report(MAC, "172.30.0.5", recs))).toEqual({ ok: true, family: 4, records: recs });
    }));
  });

  it("an MLDv2 report reads back as built", () => {
    fc.assert(fc.property(records(v6Group, v6Unicast), (recs: GroupRecord[]) => {
      expect(parseMembershipReport(mldv2Report(MAC, LL, recs))).toEqual({ ok: true, family: 6, records: recs });
    }));
  });

  it("any byte string is parsed or rejected with a reason, never thrown at", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      const r = parseMembershipReport(b);
      if (!r.ok) expect(r.reason).toMatch(/\w/);
    }), { numRuns: 2000 });
  });

  it("a report with any byte changed or cut short is parsed or rejected, never thrown at; a changed byte of the message fails its checksum", () => {
    const v4 = igmpv3Report(MAC, "172.30.0.5", [{ type: RECORD.toExclude, group: "239.1.2.3", sources: ["172.30.0.6"] }, { type: RECORD.allow, group: "239.1.2.4", sources: [] }]);
    const v6r = mldv2Report(MAC, LL, [{ type: RECORD.isInclude, group: "ff0e::1", sources: ["fd00::6"] }]);
    const msgStart = (f: Uint8Array) => (f[12] === 0x08 ? 14 + 24 : 14 + 40 + 8);
    fc.assert(fc.property(fc.constantFrom(v4, v6r), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(), (f, at, x, cut) => {
      const changed = f.slice();
      const i = at % f.length;
      changed[i] ^= x;
      const r = parseMembershipReport(changed);
      if (i >= msgStart(f)) expect(r.ok).toBe(false);
      parseMembershipReport(f.subarray(0, cut % f.length));
    }), { numRuns: 3000 });
  });

  it("names what is wrong", () => {
    const good = igmpv3Report(MAC, "172.30.0.5", [{ type: RECORD.toExclude, group: "239.1.2.3", sources: [] }]);
    const reason = (f: Uint8Array) => { const r = parseMembershipReport(f); return r.ok ? "ok" : r.reason; };
    expect(reason(good)).toBe("ok");
    const badSum = good.slice(); badSum[good.length - 1] ^= 1;
    expect(reason(badSum)).toBe("bad IGMP checksum");
    expect(reason(igmpv3Report(MAC, "172.30.0.5", [{ type: RECORD.toExclude, group: "10.1.2.3", sources: [] }]))).toMatch(/10\.1\.2\.3 is not a multicast address/);
    const lying = good.slice(); lying[14 + 24 + 7] = 2; // two records announced, one present (the checksum fixed up below)
    lying[14 + 24 + 2] = 0; lying[14 + 24 + 3] = 0;
    const sum = csum(lying.subarray(14 + 24)); lying[14 + 24 + 2] = sum >> 8; lying[14 + 24 + 3] = sum & 0xff;
    expect(reason(lying)).toBe("record 1 is truncated");
    expect(reason(mldv2Report(MAC, LL, [{ type: RECORD.toExclude, group: "ff0e::1", sources: [] }]).subarray(0, 60))).toMatch(/payload length/);
    expect(reason(new Uint8Array(14))).toMatch(/EtherType 0x0 is not IP/);
  });
});

function csum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i] << 8) | b[i + 1];
  if (b.length & 1) s += b[b.length - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}
