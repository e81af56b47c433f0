// Reading underlay frames in hosts (hosts/lib/underlay-frame.ts): a frame
// built by hand (hosts/lib/frames.ts) reads back as built, whatever its
// options; anything off the wire, truncated or garbage, answers undefined
// and never throws.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { geneveOf, replicationOf, innerAddresses, innerGroupOf, outerDestination, toUnderlayGroup, REPLICATION } from "../../hosts/lib/underlay-frame.js";
import { geneve, ipFrame, udp } from "../helpers/frames.js";

const inner4 = ipFrame("01:00:5e:01:02:03", "a8:40:25:f0:00:05", "172.30.0.5", "239.1.2.3", 17, udp("172.30.0.5", "239.1.2.3", 5000, 9999));
const inner6 = ipFrame("33:33:00:01:00:03", "a8:40:25:f0:00:05", "fd00:1024::5", "ff04::1:3", 17, udp("fd00:1024::5", "ff04::1:3", 5000, 9999));
const frame = (o: { vni: number; multicast?: number; mss?: number; external?: boolean }, inner = inner4, dst = "ff04::1:2:3") =>
  geneve("33:33:00:01:02:03", "02:08:20:01:01:01", "fd00:1122:3344:101::1", dst, o, inner);

describe("underlay frames read by hosts", () => {
  it("reads back VNI, replication, addresses and group as built, after any other Oxide options", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffff }), fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.boolean(), fc.boolean(),
      (vni, mode, mss, external, v6) => {
        const f = frame({ vni, multicast: mode, mss: mss ? 0 : undefined, external }, v6 ? inner6 : inner4);
        expect(geneveOf(f)?.vni).toBe(vni);
        expect(replicationOf(f)).toBe(REPLICATION[mode]);
        expect(innerAddresses(f)).toEqual(v6 ? { src: "fd00:1024::5", dst: "ff04::1:3" } : { src: "172.30.0.5", dst: "239.1.2.3" });
        expect(innerGroupOf(f)).toBe(v6 ? "ff04::1:3" : "239.1.2.3");
        expect(outerDestination(f)).toBe("ff04::1:2:3");
        expect(toUnderlayGroup(f)).toBe(true);
      }));
  });

  it("tells unicast apart: no Multicast option, no group, not to an underlay group", () => {
    const f = frame({ vni: 1024 }, ipFrame("a8:40:25:f0:00:06", "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 17, udp("172.30.0.5", "172.30.0.6", 1, 2)), "fd00:1122:3344:102::1");
    expect([replicationOf(f), innerGroupOf(f), toUnderlayGroup(f)]).toEqual([undefined, undefined, false]);
    expect(toUnderlayGroup(frame({ vni: 77, multicast: 1 }), 1)).toBe(false); // not where the frame starts
  });

  it("answers undefined for truncated frames and garbage, never throws", () => {
    const whole = frame({ vni: 77, multicast: 2, mss: 0 });
    fc.assert(fc.property(fc.integer({ min: 0, max: whole.length }), (n) => {
      const f = whole.subarray(0, n);
      for (const read of [geneveOf, replicationOf, innerAddresses, innerGroupOf, outerDestination, toUnderlayGroup]) expect(() => read(f)).not.toThrow();
      if (n < 70) expect(geneveOf(f)).toBeUndefined();
    }));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 199 }), (b, at) => {
      const f = Uint8Array.from(whole);
      f.set(b.subarray(0, Math.max(0, f.length - at)), Math.min(at, f.length));
      for (const read of [geneveOf, replicationOf, innerAddresses, innerGroupOf, outerDestination, toUnderlayGroup]) expect(() => read(f)).not.toThrow();
    }));
  });
});
