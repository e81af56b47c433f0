// The flow table (RFD 63 "Limits and State"; OPTE's unified flow table): the
// first packet of a flow walks the layers (slow path) and caches a composed
// transformation per direction; later packets take the fast path until a rule
// change bumps the port epoch. The table is bounded, flows idle out on TTLs
// from the port config, and TCP connections are tracked (OPTE's states) so a
// stalled handshake lets go of its TCP state quickly and a closed connection
// is held through TIME_WAIT.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { LayerDef, encodeLayer, encodePortProgram } from "../../layers/program/encode.js";
import { EngineError } from "../../hosts/engine/engine.js";
import { portWith, Dir, GUEST_MAC, GW_MAC } from "../helpers/port-fixture.js";
import { ipFrame, tcp, udp, TCP_FLAGS } from "../helpers/frames.js";

const { SYN, ACK, FIN, RST } = TCP_FLAGS;

const firewall = (inbound: "deny" | "allow" = "deny", outbound: "statefulAllow" | "deny" = "statefulAllow"): LayerDef => ({
  name: "firewall", defaultIn: inbound, defaultOut: outbound,
  rules: [{ id: 1, dir: "in", priority: 10, predicates: [{ field: "proto", values: [6] }, { field: "dstPort", values: [22] }], action: { kind: "statefulAllow" } }],
});
const marker: LayerDef = { name: "marker", defaultIn: "allow", defaultOut: "allow", rules: [] };

const out = (sport: number, flags = ACK, dport = 80, seq = 1000, ack = 0) =>
  ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", sport, dport, flags, undefined, seq, ack));
const back = (dport: number, flags = ACK, sport = 80, seq = 5000, ack = 0) =>
  ipFrame(GUEST_MAC, GW_MAC, "10.0.0.6", "10.0.0.5", 6, tcp("10.0.0.6", "10.0.0.5", sport, dport, flags, undefined, seq, ack));
const udpOut = (sport: number) => ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 17, udp("10.0.0.5", "10.0.0.6", sport, 53));

describe("fast and slow paths", () => {
  it("the first packet each way is a miss, the rest are hits", async () => {
    const { result, e } = await portWith([firewall()]);
    expect(result(out(1000, SYN), Dir.Out)).toBe("pass");          // miss: new flow
    expect(result(back(1000, SYN | ACK), Dir.In)).toBe("pass");    // miss: reply direction composed on first use
    expect(result(out(1000), Dir.Out)).toBe("pass");               // hit
    expect(result(back(1000), Dir.In)).toBe("pass");               // hit
    expect(result(out(1000), Dir.Out)).toBe("pass");               // hit
    expect(result(back(1001, SYN), Dir.In)).toBe("LayerDeny");     // miss, denied
    expect(e.counters(0)).toMatchObject({ slowOut: 1, slowIn: 2, fastOut: 2, fastIn: 1, flowsCreated: 1, pktsOut: 3, pktsIn: 3, dropsIn: 1 });
    const [f] = e.flows(0);
    expect([f.out.pkts, f.in.pkts]).toEqual([3, 2]);
  });

  it("loadProgram and replaceLayer bump the epoch, and cached flows are re-evaluated against the new rules", async () => {
    const { result, e } = await portWith([firewall(), marker]);
    result(out(1000, SYN), Dir.Out);
    result(out(1000), Dir.Out);
    const e0 = e.portEpoch(0);
    expect(e.counters(0)).toMatchObject({ slowOut: 1, fastOut: 1, reevaluated: 0 });

    e.loadProgram(0, encodePortProgram([firewall(), marker]));
    expect(e.portEpoch(0)).toBe(e0 + 1);
    expect(result(out(1000), Dir.Out)).toBe("pass");
    expect(e.counters(0)).toMatchObject({ slowOut: 2, fastOut: 1, reevaluated: 1 });
    expect(result(out(1000), Dir.Out)).toBe("pass");
    expect(e.counters(0)).toMatchObject({ slowOut: 2, fastOut: 2 });

    e.replaceLayer(0, encodeLayer(firewall("deny", "deny")));
    expect(e.portEpoch(0)).toBe(e0 + 2);
    expect(result(out(1000), Dir.Out)).toBe("LayerDeny");         // the cached "pass" is not trusted
    e.replaceLayer(0, encodeLayer(firewall()));
    expect(e.portEpoch(0)).toBe(e0 + 3);
    expect(result(out(1000), Dir.Out)).toBe("pass");
    expect(e.flowCount(0)).toBe(1);                                // the flow survived the denial

    // replacing a layer the port does not have fails and changes nothing
    expect(() => e.replaceLayer(0, encodeLayer({ ...marker, name: "nosuch" }))).toThrow(EngineError);
    expect(e.portEpoch(0)).toBe(e0 + 3);
  });

  it("a full table (4 flows) refuses a 5th new flow with FlowTableFull; established flows still pass both ways", async () => {
    const { result, e } = await portWith([firewall()], { flowCapacity: 4, ttl: { tcpEstablished: 1000, tcpClosed: 1000 } });
    expect(e.flowCapacity(0)).toBe(4);
    expect([1, 2, 3, 4].map((p) => result(out(p), Dir.Out, 0))).toEqual(["pass", "pass", "pass", "pass"]);
    expect(result(out(5), Dir.Out, 1)).toBe("FlowTableFull");
    expect(result(back(3), Dir.In, 2)).toBe("pass");
    expect(result(out(4), Dir.Out, 3)).toBe("pass");
    expect(e.counters(0)).toMatchObject({ flowsCreated: 4, drops: { FlowTableFull: 1 } });
    // once one idles out, there is room again
    expect(result(out(1), Dir.Out, 900)).toBe("pass");
    expect(e.expire(0, 1001, 100)).toBe(1);                        // flow 2 (last seen at 0)
    expect(result(out(5), Dir.Out, 1002)).toBe("pass");
    expect(e.flowCount(0)).toBe(4);
  });
});

describe("expiry", () => {
  it("a UDP flow idles out on the port's UDP TTL", async () => {
    const { result, e } = await portWith([firewall()], { ttl: { udp: 1000 } });
    result(udpOut(5000), Dir.Out, 10_000);
    expect(e.expire(0, 10_999, 100)).toBe(0);
    expect(e.flowCount(0)).toBe(1);
    expect(e.expire(0, 11_000, 100)).toBe(1);
    expect(e.flowCount(0)).toBe(0);
    expect(e.counters(0)).toMatchObject({ flowsExpired: 1, flowsClosed: 0 });
    result(udpOut(5000), Dir.Out, 11_001);
    expect(e.counters(0).flowsCreated).toBe(2);
  });

  it("a reset connection goes after tcpClosed, one the guest closed is held through TIME_WAIT; an established one survives", async () => {
    const { result, e } = await portWith([firewall()], { ttl: { tcpClosed: 100, tcpClosing: 200, tcpEstablished: 60_000 } });
    for (const p of [1, 2, 3]) result(out(p), Dir.Out, 0);         // adopted mid-stream: established
    result(back(1, RST), Dir.In, 10);                              // 1: reset by the peer
    result(out(2, FIN | ACK, 80, 1000), Dir.Out, 10);              // 2: the guest closes first,
    result(back(2, FIN | ACK, 80, 5000, 1001), Dir.In, 11);        //    the peer's FIN acknowledges it,
    result(out(2, ACK, 80, 1001, 5001), Dir.Out, 12);              //    the guest acknowledges that
    expect(e.flows(0).map((f) => [f.out.sport, f.tcpState])).toEqual([[1, "closed"], [2, "time-wait"], [3, "established"]]);
    expect(e.expire(0, 50, 100)).toBe(0);
    expect(e.expire(0, 150, 100)).toBe(1);                         // the reset one
    expect(e.flows(0).map((f) => f.out.sport)).toEqual([2, 3]);
    expect(e.expire(0, 211, 100)).toBe(0);                         // TIME_WAIT held tcpClosing past its last packet
    expect(e.expire(0, 212, 100)).toBe(1);
    expect(e.flows(0).map((f) => f.out.sport)).toEqual([3]);
    expect(e.counters(0)).toMatchObject({ flowsClosed: 2, flowsExpired: 0 });
  });

  it("removals from the index (backward shift, hashes recomputed from keys) leave every other flow found", async () => {
    const { result, e } = await portWith([firewall()], { flowCapacity: 64, ttl: { udp: 1000 } });
    let t = 10_000;
    await fc.assert(fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 48 }), fc.func(fc.boolean()), async (ports, keep) => {
      t += 10_000;
      e.expire(0, t, 1 << 20);                                   // an empty table to start from
      for (const p of ports) result(udpOut(p), Dir.Out, t);
      const kept = ports.filter((p) => keep(p));
      for (const p of kept) result(udpOut(p), Dir.Out, t + 900);
      e.expire(0, t + 1000, 1 << 20);                            // the others go, in table order
      expect(e.flowCount(0)).toBe(kept.length);
      const before = e.counters(0).fastOut;
      for (const p of kept) expect(result(udpOut(p), Dir.Out, t + 1001)).toBe("pass");
      expect(e.counters(0).fastOut - before).toBe(kept.length);  // each still found: a fast-path hit
      expect(e.flowCount(0)).toBe(kept.length);
    }), { numRuns: 60 });
  });

  it("a budget bounds the records looked at per call; the sweep resumes where it stopped", async () => {
    const { result, e } = await portWith([firewall()], { ttl: { udp: 1000 } });
    for (const p of [1, 2, 3, 4, 5]) result(udpOut(p), Dir.Out, 0);
    expect([e.expire(0, 5000, 2), e.expire(0, 5000, 2), e.expire(0, 5000, 2)]).toEqual([2, 2, 1]);
    expect(e.flowCount(0)).toBe(0);
    expect(e.expire(0, 5000, 2)).toBe(0);
  });

  it("with a budget of one, each call expires at most one flow and young flows stay", async () => {
    const { result, e } = await portWith([firewall()], { ttl: { udp: 1000 } });
    for (const p of [1, 2, 3]) result(udpOut(p), Dir.Out, 10_000);
    result(udpOut(2), Dir.Out, 10_900);
    const done = [e.expire(0, 11_000, 1), e.expire(0, 11_000, 1), e.expire(0, 11_000, 1)];
    expect(done.every((n) => n <= 1)).toBe(true);
    expect(done.reduce((a, n) => a + n, 0)).toBe(2);
    expect(e.flows(0).map((f) => f.out.sport)).toEqual([2]);
  });

  it("clearFlows forgets every flow and bumps the epoch: replies of forgotten flows are unsolicited", async () => {
    const { result, e } = await portWith([firewall()]);
    result(out(1000, SYN), Dir.Out);
    const ep = e.portEpoch(0);
    e.clearFlows(0);
    expect(e.flowCount(0)).toBe(0);
    expect(e.flows(0)).toEqual([]);
    expect(e.portEpoch(0)).toBe(ep + 1);
    expect(result(back(1000, SYN | ACK), Dir.In)).toBe("LayerDeny");
    expect(result(out(1000), Dir.Out)).toBe("pass");
    expect(e.counters(0).flowsCreated).toBe(2);
  });
});

describe("TCP tracking", () => {
  const state = (e: Awaited<ReturnType<typeof portWith>>["e"]) => e.flows(0)[0]?.tcpState;

  it("SYN, SYN+ACK, ACK establishes; the guest's FIN, its ACK and the peer's FIN lead to TIME_WAIT", async () => {
    const { result, e } = await portWith([firewall()]);
    const steps: [Uint8Array, Dir, string][] = [
      [out(1000, SYN, 80, 100), Dir.Out, "syn-sent"],
      [back(1000, SYN | ACK, 80, 900, 101), Dir.In, "established"],
      [out(1000, ACK, 80, 101, 901), Dir.Out, "established"],
      [out(1000, ACK | TCP_FLAGS.PSH, 80, 101, 901), Dir.Out, "established"],
      [out(1000, FIN | ACK, 80, 120, 901), Dir.Out, "fin-wait-1"],
      [back(1000, ACK, 80, 901, 110), Dir.In, "fin-wait-1"],       // acknowledges data, not the FIN
      [back(1000, ACK, 80, 901, 121), Dir.In, "fin-wait-2"],       // acknowledges the FIN
      [back(1000, FIN | ACK, 80, 901, 121), Dir.In, "time-wait"],
      [out(1000, ACK, 80, 121, 902), Dir.Out, "time-wait"],
    ];
    for (const [frame, dir, want] of steps) {
      expect(result(frame, dir)).toBe("pass");
      expect(state(e)).toBe(want);
    }
  });

  it("tracks an inbound connection from its side: the guest answers the SYN", async () => {
    const { result, e } = await portWith([firewall()]);
    const inSyn = ipFrame(GUEST_MAC, GW_MAC, "10.0.0.6", "10.0.0.5", 6, tcp("10.0.0.6", "10.0.0.5", 50000, 22, SYN));
    const guestSynAck = ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 22, 50000, SYN | ACK));
    const inAck = ipFrame(GUEST_MAC, GW_MAC, "10.0.0.6", "10.0.0.5", 6, tcp("10.0.0.6", "10.0.0.5", 50000, 22, ACK));
    expect(result(inSyn, Dir.In)).toBe("pass");
    expect(state(e)).toBe("listen");
    expect(result(guestSynAck, Dir.Out)).toBe("pass");
    expect(state(e)).toBe("syn-rcvd");
    expect(result(inAck, Dir.In)).toBe("pass");
    expect(state(e)).toBe("established");
    expect(e.flows(0)[0].origin).toBe("in");
  });

  it("a reset closes at once, from either side", async () => {
    const a = await portWith([firewall()]);
    a.result(out(1000, SYN), Dir.Out);
    a.result(out(1000, RST), Dir.Out);
    expect(state(a.e)).toBe("closed");
    const b = await portWith([firewall()]);
    b.result(out(1000, SYN), Dir.Out);
    b.result(back(1000, SYN | ACK), Dir.In);
    b.result(out(1000, ACK), Dir.Out);
    b.result(back(1000, RST | ACK), Dir.In);
    expect(state(b.e)).toBe("closed");
  });

  it("a connection first seen mid-stream is adopted as established", async () => {
    const { result, e } = await portWith([firewall()]);
    expect(result(out(1000, ACK | TCP_FLAGS.PSH), Dir.Out)).toBe("pass");
    expect(state(e)).toBe("established");
  });
});
