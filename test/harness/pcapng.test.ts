// Captures in and out: pcapng with the guest/network interfaces round-trips,
// classic pcap of either byte order and resolution reads, and any byte
// string either reads or is rejected with a CaptureError, never a crash.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { readCapture, writeCapture, writePcap, writeInterfaces, CaptureError } from "../../hosts/pcap/pcapng.js";

const frame = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const T0 = 1_700_000_000_001; // ms since the epoch, as the fixtures use

/** A big-endian pcapng: one section, one interface "network" with ns resolution, one frame. */
function bigEndianPcapng(bytes: Uint8Array, ns: bigint): Uint8Array {
  const parts: number[] = [];
  const u32 = (v: number) => parts.push(v >>> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
  const u16 = (v: number) => parts.push(v >> 8, v & 255);
  u32(0x0a0d0d0a); u32(28); u32(0x1a2b3c4d); u16(1); u16(0); u32(0xffffffff); u32(0xffffffff); u32(28);
  // IDB: linktype, reserved, snaplen, if_name "network" (7 → 8), if_tsresol 9 (1 → 4), end
  u32(1); u32(44); u16(1); u16(0); u32(0); u16(2); u16(7); parts.push(...Buffer.from("network"), 0); u16(9); u16(1); parts.push(9, 0, 0, 0); u16(0); u16(0); u32(44);
  const padded = (bytes.length + 3) & ~3;
  const len = 32 + padded;
  u32(6); u32(len); u32(0); u32(Number(ns >> 32n)); u32(Number(ns & 0xffffffffn)); u32(bytes.length); u32(bytes.length);
  parts.push(...bytes, ...new Array(padded - bytes.length).fill(0)); u32(len);
  return Uint8Array.from(parts);
}

describe("pcapng", () => {
  it("round-trips frames with their sides and millisecond timestamps", () => {
    const frames = [
      { side: "guest" as const, timeMs: T0, bytes: frame(60, 1) },
      { side: "network" as const, timeMs: T0 + 1, bytes: frame(61, 2) },
      { side: "guest" as const, timeMs: T0 + 2.5, bytes: frame(1514, 3) },
    ];
    const back = readCapture(writeCapture(frames));
    expect(back.map((f) => ({ side: f.side, timeMs: f.timeMs, bytes: f.bytes }))).toEqual(frames);
    expect(back.map((f) => f.interfaceName)).toEqual(["guest", "network", "guest"]);
  });

  it("reads a big-endian section with nanosecond timestamps", () => {
    const [f] = readCapture(bigEndianPcapng(frame(42, 7), BigInt(T0) * 1_000_000n + 250_000n));
    expect(f).toMatchObject({ side: "network", interfaceName: "network", timeMs: T0 + 0.25 });
    expect(f.bytes).toEqual(frame(42, 7));
  });

  it("gives interfaces other than guest/network no side", () => {
    const [f] = readCapture(writeInterfaces(["eth0"], [{ iface: 0, timeMs: T0, bytes: frame(60, 0) }]));
    expect(f.side).toBeUndefined();
    expect(f.interfaceName).toBe("eth0");
  });

  it("says what is wrong with a broken file", () => {
    const good = writeCapture([{ side: "guest", timeMs: T0, bytes: frame(60, 1) }]);
    expect(() => readCapture(good.subarray(0, good.length - 10))).toThrow(/bad length|truncated/);
    expect(() => readCapture(new TextEncoder().encode("hello, world"))).toThrow(/not a pcap or pcapng file/);
    const bad = Uint8Array.from(good);
    bad[bad.length - 4] ^= 1; // trailing length of the packet block
    expect(() => readCapture(bad)).toThrow(CaptureError);
  });
});

describe("classic pcap", () => {
  for (const bigEndian of [false, true]) {
    for (const nanoseconds of [false, true]) {
      it(`reads ${bigEndian ? "big" : "little"}-endian ${nanoseconds ? "ns" : "µs"} files, frames without a side`, () => {
        const frames = [{ timeMs: T0, bytes: frame(60, 1) }, { timeMs: T0 + 1.5, bytes: frame(98, 2) }];
        const back = readCapture(writePcap(frames, { bigEndian, nanoseconds }));
        expect(back).toEqual(frames.map((f) => ({ side: undefined, ...f })));
      });
    }
  }

  it("refuses link types other than Ethernet", () => {
    const f = writePcap([{ timeMs: T0, bytes: frame(20, 0) }]);
    f[20] = 101; // LINKTYPE_RAW
    expect(() => readCapture(f)).toThrow(/link type 101 is not Ethernet/);
  });
});

describe("reading any bytes", () => {
  const neverCrashes = (b: Uint8Array) => {
    try { readCapture(b); } catch (err) { expect(err).toBeInstanceOf(CaptureError); }
  };
  const sample = writeCapture([
    { side: "guest", timeMs: T0, bytes: frame(60, 1) },
    { side: "network", timeMs: T0 + 1, bytes: frame(77, 2) },
  ]);
  const classic = writePcap([{ timeMs: T0, bytes: frame(60, 1) }]);

  it("reads or rejects random bytes behind each magic", () => {
    const magic = fc.constantFrom([0x0a, 0x0d, 0x0d, 0x0a], [0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [1, 2, 3, 4]);
    fc.assert(fc.property(magic, fc.uint8Array({ maxLength: 200 }), (m, rest) => neverCrashes(Uint8Array.from([...m, ...rest]))), { numRuns: 2000 });
  });

  it("reads or rejects valid files with bytes changed or cut off", () => {
    const mutated = (base: Uint8Array) => fc.tuple(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(base.length))
      .map(([edits, cut]) => {
        const b = Uint8Array.from(base);
        for (const [at, v] of edits) b[at] = v;
        return b.subarray(0, cut);
      });
    fc.assert(fc.property(fc.oneof(mutated(sample), mutated(classic)), neverCrashes), { numRuns: 3000 });
  });

  it("round-trips any frames", () => {
    const frames = fc.array(fc.record({
      side: fc.constantFrom("guest" as const, "network" as const),
      timeMs: fc.integer({ min: 0, max: 2 ** 40 }).map((us) => us / 1000),
      bytes: fc.uint8Array({ maxLength: 300 }),
    }), { maxLength: 8 });
    fc.assert(fc.property(frames, (fs) => {
      const back = readCapture(writeCapture(fs)).map((f) => ({ side: f.side, timeMs: f.timeMs, bytes: f.bytes }));
      expect(back.map((f) => f.bytes)).toEqual(fs.map((f) => f.bytes));
      expect(back.map((f) => f.side)).toEqual(fs.map((f) => f.side));
      back.forEach((f, i) => expect(f.timeMs).toBeCloseTo(fs[i].timeMs, 6));
    }), { numRuns: 300 });
  });
});
