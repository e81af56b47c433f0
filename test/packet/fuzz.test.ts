// Property: any byte string either parses or is rejected with a Reason; the
// parser never traps and never reports a header outside the frame.

import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import { loadPacketEngine, PacketEngine, Reason, fixture, Meta } from "../helpers/engine-testing.js";

const NONE = 0xffffffff;
const PARSE_REASONS = new Set(Object.values(Reason).filter((r) => r < 32));
let e: PacketEngine;
beforeAll(async () => { e = await loadPacketEngine(); });

const fixtures = ["tcp-ipv4-syn", "udp-ipv6-hbh-frag", "icmpv6-echo", "icmpv4-echo", "arp-request",
  "vlan-udp-ipv4", "geneve-external-tcp-ipv4", "geneve-mss-udp-ipv4-df"].map(fixture);

/** Offsets the parser reports lie inside the frame. */
function expectInsideFrame(m: Meta, len: number) {
  for (const f of ["l2", "l3", "l4", "payload", "geneve", "outerL3", "outerL4"]) {
    if (m[f] !== NONE) expect(m[f] as number).toBeLessThanOrEqual(len);
  }
  if (m.payload !== NONE) expect((m.payload as number) + (m.payloadLen as number)).toBeLessThanOrEqual(len);
  if (m.l4 !== NONE) expect((m.l4 as number) + (m.l4HdrLen as number)).toBeLessThanOrEqual(len);
  if (m.l3Kind === 4 || m.l3Kind === 6) {
    expect((m.l3 as number) + (m.l3HdrLen as number) + (m.l3PayloadLen as number)).toBeLessThanOrEqual(len);
  }
}

function parseBoth(frame: Uint8Array) {
  for (const encap of [false, true]) {
    const r = e.parse(frame, encap);
    expect(PARSE_REASONS.has(r)).toBe(true);
    if (r === Reason.None) {
      expectInsideFrame(e.meta(), frame.length);
      e.x.l4ChecksumOkAt(); // must not trap either
    }
  }
}

describe("parseFrame never throws", () => {
  it("on random byte strings of 0..200 bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), parseBoth), { numRuns: 3000 });
  });

  it("on random mutations and truncations of valid frames", () => {
    const mutation = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) });
    fc.assert(fc.property(fc.constantFrom(...fixtures), fc.array(mutation, { maxLength: 6 }), fc.nat(),
      (base, muts, cut) => {
        const frame = base.slice(0, base.length - (cut % (base.length + 1)));
        for (const { at, value } of muts) if (frame.length) frame[at % frame.length] = value;
        parseBoth(frame);
      }), { numRuns: 5000 });
  });

  it("on random Geneve-shaped headers after a valid underlay", () => {
    const gnv = fixtures[6];
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (tail) => {
      const frame = new Uint8Array(62 + tail.length);
      frame.set(gnv.slice(0, 62));
      frame.set(tail, 62);
      const udpLen = 8 + tail.length;
      frame[18] = udpLen >> 8; frame[19] = udpLen & 0xff;
      frame[58] = udpLen >> 8; frame[59] = udpLen & 0xff;
      parseBoth(frame);
    }), { numRuns: 3000 });
  });
});
