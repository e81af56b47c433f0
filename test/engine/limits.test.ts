// Limits are visible, counted conditions (RFD 63 "Limits and State"): a full
// flow table or an exhausted SNAT block refuses new flows while established
// ones keep working; TCP tracking lets closed connections expire quickly.
import { describe, it, expect } from "vitest";
import { Engine } from "../../hosts/engine/engine.js";
import { Dir, Verdict } from "../../hosts/engine/batch.js";
import { examplePort, PortJson, GUEST_MAC, GATEWAY_MAC } from "../helpers/example-port.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { ipFrame, udp, tcp, geneve, TCP_FLAGS } from "../helpers/frames.js";

const G = GUEST_MAC, GW = GATEWAY_MAC;
const port = (edit: (c: PortJson) => void) => examplePort(edit, 8);
const toInternet = (sport: number) => ipFrame(GW, G, "172.30.0.5", "203.0.113.9", 17, udp("172.30.0.5", "203.0.113.9", sport, 53));
const toPeer = (sport: number, flags = TCP_FLAGS.ACK) => ipFrame(GW, G, "172.30.0.5", "172.30.0.6", 6, tcp("172.30.0.5", "172.30.0.6", sport, 80, flags));
const fromPeer = (dport: number, flags: number) => geneve("02:08:20:01:01:01", "02:08:20:ff:ff:01", "fd00:1122:3344:102::1", "fd00:1122:3344:101::1", { vni: 1024 },
  ipFrame(G, "a8:40:25:f0:00:06", "172.30.0.6", "172.30.0.5", 6, tcp("172.30.0.6", "172.30.0.5", 80, dport, flags)));

function send(b: ReturnType<Engine["newBatch"]>, frame: Uint8Array, dir: Dir, now: number): string {
  b.set(0, frame, 0, dir);
  b.run(1, now);
  return b.verdict(0) === Verdict.Drop ? reasonName(b.reason(0)) : "pass";
}

describe("limits", () => {
  it("an exhausted SNAT block refuses new flows, keeps old ones, and gets ports back when flows expire", async () => {
    const { e, b } = await port((c) => { c.externalIps = { snat: { ip: "198.51.100.10", firstPort: 16384, lastPort: 16385 } }; c.ttlMs = { udp: 1000 }; });
    expect([send(b, toInternet(1), Dir.Out, 0), send(b, toInternet(2), Dir.Out, 0), send(b, toInternet(3), Dir.Out, 0)]).toEqual(["pass", "pass", "NatExhausted"]);
    expect(send(b, toInternet(1), Dir.Out, 500)).toBe("pass"); // established flows continue
    expect(e.natUsage(0, 0)).toMatchObject({ inUse: 2, size: 2, exhausted: 1 });
    e.expire(0, 1200, 100); // flow 2 idle for 1.2 s > UDP TTL; flow 1 was seen at 500 ms
    expect(e.natUsage(0, 0).inUse).toBe(1);
    expect(send(b, toInternet(3), Dir.Out, 1300)).toBe("pass");
    expect(e.counters(0).drops.NatExhausted).toBe(1);
  });

  it("a full flow table refuses new flows while established flows still pass", async () => {
    const { e, b } = await port((c) => { c.limits = { flows: 4 }; });
    const first = [1, 2, 3, 4].map((p) => send(b, toPeer(p), Dir.Out, 0));
    expect(first).toEqual(["pass", "pass", "pass", "pass"]);
    expect(send(b, toPeer(5), Dir.Out, 1)).toBe("FlowTableFull");
    expect(send(b, toPeer(2), Dir.Out, 2)).toBe("pass");
    expect(e.counters(0)).toMatchObject({ flowsCreated: 4, drops: { FlowTableFull: 1 } });
  });

  it("tracks TCP: a closed connection goes after its TIME_WAIT hold, an established one stays", async () => {
    const { e, b } = await port((c) => { c.ttlMs = { tcpClosed: 100, tcpClosing: 200, tcpEstablished: 60_000 }; });
    // connection 1: handshake, then both FINs and the last ACK
    send(b, toPeer(1000, TCP_FLAGS.SYN), Dir.Out, 0);
    send(b, fromPeer(1000, TCP_FLAGS.SYN | TCP_FLAGS.ACK), Dir.In, 1);
    send(b, toPeer(1000, TCP_FLAGS.ACK), Dir.Out, 2);
    // connection 2: handshake only
    send(b, toPeer(2000, TCP_FLAGS.SYN), Dir.Out, 3);
    send(b, fromPeer(2000, TCP_FLAGS.SYN | TCP_FLAGS.ACK), Dir.In, 4);
    send(b, toPeer(2000, TCP_FLAGS.ACK), Dir.Out, 5);
    const state = (sport: number) => e.flows(0).find((f) => f.out.sport === sport)?.tcpState;
    expect([state(1000), state(2000)]).toEqual(["established", "established"]);
    send(b, toPeer(1000, TCP_FLAGS.FIN | TCP_FLAGS.ACK), Dir.Out, 10);
    expect(state(1000)).toBe("fin-wait-1");
    send(b, fromPeer(1000, TCP_FLAGS.FIN | TCP_FLAGS.ACK), Dir.In, 11);
    expect(state(1000)).toBe("time-wait");
    send(b, toPeer(1000, TCP_FLAGS.ACK), Dir.Out, 12);
    expect(state(1000)).toBe("time-wait");
    e.expire(0, 211, 100);
    expect(state(1000)).toBe("time-wait");
    e.expire(0, 300, 100);
    expect([state(1000), state(2000)]).toEqual([undefined, "established"]);
    expect(e.counters(0).flowsClosed).toBe(1);
    // a reset closes at once
    send(b, fromPeer(2000, TCP_FLAGS.RST), Dir.In, 400);
    expect(state(2000)).toBe("closed");
  });
});

describe("port states", () => {
  it("paused ports drop and still dump; reset clears flows, keeps counters counting and leaves the port ready", async () => {
    const { e, b } = await port(() => {});
    expect(send(b, toPeer(7), Dir.Out, 0)).toBe("pass");
    e.setPortState(0, "paused");
    expect(send(b, toPeer(7), Dir.Out, 1)).toBe("PortNotRunning");
    expect(e.flows(0)).toHaveLength(1);
    const hits = e.layers(0).map((l) => l.rules.map((r) => r.hits));
    e.resetPort(0);
    expect(e.portState(0)).toBe("ready");
    expect(e.flowCount(0)).toBe(0);
    expect(e.counters(0)).toMatchObject({ pktsOut: 1, flowsCreated: 1, drops: { PortNotRunning: 1 } });
    expect(e.layers(0).map((l) => l.rules.map((r) => r.hits))).toEqual(hits);
    e.setPortState(0, "running");
    expect(send(b, toPeer(7), Dir.Out, 2)).toBe("pass");
  });
});
