// The batch ABI (docs/abi.md, engine/batch.ts) from the host's side: every
// descriptor gets a verdict, whatever the host wrote into it. Descriptors the
// engine cannot trust, ports that are not running, and frames whose
// encapsulation does not fit the slot or the underlay MTU are drops with a
// reason, never a trap.
import { describe, it, expect } from "vitest";
import { LayerDef } from "../../layers/program/encode.js";
import { DESC_SIZE } from "../../hosts/engine/batch.js";
import { portWith, sentAt, Dir, Verdict, GUEST_MAC, GW_MAC, PEER_MAC, VNI, SLED_B } from "../helpers/port-fixture.js";
import { ipFrame, udp, tcp, TCP_FLAGS } from "../helpers/frames.js";

const V2P = 1;
const firewall: LayerDef = { name: "firewall", defaultIn: "deny", defaultOut: "statefulAllow", rules: [] };
const overlay: LayerDef = {
  name: "overlay", defaultIn: "allow", defaultOut: "deny",
  rules: [{ id: 10, dir: "out", priority: 10, predicates: [], action: { kind: "encap", table: V2P, key: "innerDst", setInnerEthDst: true } }],
};
/** A guest UDP frame of exactly `len` bytes towards the peer. */
const frameOf = (len: number, sport = 5000) =>
  ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 17, udp("10.0.0.5", "10.0.0.6", sport, 53, new Uint8Array(len - 42).fill(0x5a)));
const plain = (sport = 1) => ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", sport, 80, TCP_FLAGS.SYN));

async function encapPort(mtu = 9000, headroom = 128) {
  const fx = await portWith([firewall, overlay], { mtu }, { headroom, slotSize: 4096 });
  fx.e.mapSet(V2P, VNI, "10.0.0.6", 0, 65535, { encapVni: VNI, underlay: SLED_B, mac: PEER_MAC });
  return fx;
}

describe("descriptors", () => {
  it("a descriptor naming a port that does not exist is NoPort, decided by no layer", async () => {
    const { b } = await portWith([firewall]);
    b.set(0, plain(), 7, Dir.Out);
    expect(b.run(1, 0)).toBe(0);
    expect(sentAt(b, 0)).toMatchObject({ verdict: Verdict.Drop, reason: "NoPort", layer: 0xff, rule: 0xffffffff });
    expect(sentAt(b, 0).out.length).toBe(0);
  });

  it("direction 0 or 3 is BadDescriptor, counted on the port", async () => {
    const { b, e } = await portWith([firewall]);
    b.set(0, plain(1), 0, 0 as Dir);
    b.set(1, plain(2), 0, 3 as Dir);
    b.set(2, plain(3), 0, Dir.Out);
    expect(b.run(3, 0)).toBe(1);
    expect([sentAt(b, 0).reason, sentAt(b, 1).reason, sentAt(b, 2).reason]).toEqual(["BadDescriptor", "BadDescriptor", "pass"]);
    expect(e.counters(0).drops).toEqual({ BadDescriptor: 2 });
    expect(e.flowCount(0)).toBe(1);
  });

  it("a frame pointer, length or headroom outside the batch area is BadDescriptor", async () => {
    const { b, e } = await portWith([firewall]);
    const dv = () => e.dv;
    const d = (i: number) => b.descs + i * DESC_SIZE;
    for (let i = 0; i < 5; i++) b.set(i, plain(i + 1), 0, Dir.Out);
    dv().setUint32(d(0), 0, true);                                   // ptr 0: ptr - headroom wraps around
    dv().setUint16(d(1) + 6, 20, true);                              // cap < len
    dv().setUint16(d(2) + 8, 0xffff, true);                          // headroom reaching before the area
    dv().setUint32(d(3), b.framePtr(b.slots - 1) + 100, true);       // frame runs past the area's end
    dv().setUint16(d(3) + 6, b.capacity, true);
    expect(b.run(5, 0)).toBe(1);
    expect([0, 1, 2, 3, 4].map((i) => sentAt(b, i).reason)).toEqual(["BadDescriptor", "BadDescriptor", "BadDescriptor", "BadDescriptor", "pass"]);
  });

  it("descriptors outside any batch area are not touched", async () => {
    const { e } = await portWith([firewall]);
    const ptr = e.fn("alloc")(64);
    e.u8.fill(0xee, ptr, ptr + 64);
    expect(e.fn("processBatch")(ptr, 2, 0)).toBe(0);
    expect([...e.u8.subarray(ptr, ptr + 64)].every((x) => x === 0xee)).toBe(true);
  });

  it("a descriptor count whose byte size wraps around 32 bits is refused, not walked off the end of memory", async () => {
    const { b, e } = await portWith([firewall]);
    b.set(0, plain(), 0, Dir.Out);
    // 0x08000001 descriptors × 32 bytes = 2^32 + 32: only 32 bytes after wrapping
    expect(e.fn("processBatch")(b.descs, 0x08000001, 0)).toBe(0);
    expect(b.run(1, 0)).toBe(1);
  });

  it("a port that is ready or paused drops with PortNotRunning, and runs again when set running", async () => {
    const { e, result } = await portWith([firewall]);
    e.setPortState(0, "ready");
    expect(result(plain(), Dir.Out)).toBe("PortNotRunning");
    e.setPortState(0, "paused");
    expect(result(plain(), Dir.Out)).toBe("PortNotRunning");
    expect(e.counters(0).drops).toEqual({ PortNotRunning: 2 });
    e.setPortState(0, "running");
    expect(result(plain(), Dir.Out)).toBe("pass");
  });
});

describe("encapsulation limits", () => {
  it("needs 70 bytes of headroom for Geneve: 69 is NoHeadroom", async () => {
    const tight = await encapPort(9000, 69);
    expect(tight.result(plain(), Dir.Out)).toBe("NoHeadroom");
    const exact = await encapPort(9000, 70);
    const r = exact.send(plain(), Dir.Out);
    expect(r.reason).toBe("pass");
    expect(r.out.length).toBe(plain().length + 70);
  });

  it("a frame whose outer IPv6 packet exceeds the underlay MTU is TooBig", async () => {
    const { result, send } = await encapPort(1500);
    // outer IPv6 packet = 40 + 8 + 8 (Geneve) + inner frame: 1444 fits in 1500, 1445 does not
    const fits = send(frameOf(1444, 1), Dir.Out);
    expect(fits.reason).toBe("pass");
    expect(fits.out.length - 14).toBe(1500);
    expect(result(frameOf(1445, 2), Dir.Out)).toBe("TooBig");
    expect(result(frameOf(1500, 3), Dir.Out)).toBe("TooBig");
  });
});
