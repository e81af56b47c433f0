// TCP state as OPTE tracks it (lib/opte/src/engine/tcp_state.rs) and how
// long flows live (OPTE's flow_table.rs and tcp.rs): OPTE's integration tests
// tcp_outbound, tcp_inbound, early_tcp_invalidation,
// tcp_invalidation_does_not_block_connection and flow_expiration, driven by
// the segments of OPTE's test HTTP exchange through a VPC port.
import { describe, it, expect } from "vitest";
import {
  optePort, fromGuest, fromInternet, fromPeer, httpExchange, innerSport, innerIp, Dir,
  GUEST4, SNAT4, SERVER, SERVER2,
} from "../helpers/opte.js";
import { tcp } from "../helpers/frames.js";

const PEER_SLED = "fd00:1122:3344:102::1";

/** The guest opens OPTE's HTTP connection to `server` through SNAT; returns its SNAT port and the steps' TCP states. */
async function outboundHttp(p: Awaited<ReturnType<typeof optePort>>, server = SERVER, now = 1) {
  const g = httpExchange({ client: GUEST4, server });
  const first = p.send(fromGuest(GUEST4, server, 6, g.syn), Dir.Out, now);
  expect(first.reason).toBe("pass");
  const snatPort = innerSport(first.out);
  const s = httpExchange({ client: SNAT4, server, clientPort: snatPort });
  const steps: [string, Uint8Array, Dir][] = [
    ["syn+ack in", fromInternet(server, SNAT4, 6, s.synAck), Dir.In],
    ["ack out", fromGuest(GUEST4, server, 6, g.ack), Dir.Out],
    ["get out", fromGuest(GUEST4, server, 6, g.get), Dir.Out],
    ["ack of get in", fromInternet(server, SNAT4, 6, s.getAck), Dir.In],
    ["301 in", fromInternet(server, SNAT4, 6, s.moved), Dir.In],
    ["ack of 301 out", fromGuest(GUEST4, server, 6, g.movedAck), Dir.Out],
    ["guest fin out", fromGuest(GUEST4, server, 6, g.clientFin), Dir.Out],
    ["ack of fin in", fromInternet(server, SNAT4, 6, s.serverAckFin), Dir.In],
    ["server fin in", fromInternet(server, SNAT4, 6, s.serverFin), Dir.In],
    ["ack of server fin out", fromGuest(GUEST4, server, 6, g.clientAckFin), Dir.Out],
  ];
  const states = [["syn out", first.reason, p.tcpState(44490, 80, server)]];
  for (const [what, frame, dir] of steps) states.push([what, p.send(frame, dir, now).reason, p.tcpState(44490, 80, server)]);
  return { snatPort, states, g, s };
}

describe("TCP states (OPTE's TcpFlowState)", () => {
  it("tcp_outbound: the guest's connection goes SYN_SENT, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, TIME_WAIT; held 120 s in TIME_WAIT, past the 60 s flow TTL", async () => {
    const p = await optePort();
    const { states } = await outboundHttp(p, SERVER, 1000);
    expect(states).toEqual([
      ["syn out", "pass", "syn-sent"], ["syn+ack in", "pass", "established"], ["ack out", "pass", "established"],
      ["get out", "pass", "established"], ["ack of get in", "pass", "established"], ["301 in", "pass", "established"],
      ["ack of 301 out", "pass", "established"], ["guest fin out", "pass", "fin-wait-1"], ["ack of fin in", "pass", "fin-wait-2"],
      ["server fin in", "pass", "time-wait"], ["ack of server fin out", "pass", "time-wait"],
    ]);
    p.e.expire(0, 1000 + 61_000, 1 << 20);                    // FLOW_DEF_EXPIRE_SECS + 1: TIME_WAIT keeps the flow
    expect(p.tcpState(44490, 80)).toBe("time-wait");
    p.e.expire(0, 1000 + 121_000, 1 << 20);                   // TIME_WAIT_EXPIRE_SECS + 1
    expect(p.e.flowCount(0)).toBe(0);
    expect(p.e.counters(0)).toMatchObject({ flowsClosed: 1 });
    expect(p.e.natUsage(0, 0).inUse).toBe(0);                 // the SNAT port is free again
  });

  it("tcp_inbound: a client reaches the guest's ephemeral IP: LISTEN, SYN_RCVD, ESTABLISHED, CLOSE_WAIT, LAST_ACK, closed; the closed flow leaves the fast path", async () => {
    const EPHEMERAL = "198.51.100.33", CLIENT = SERVER;
    const p = await optePort((c) => { c.externalIps = { snat: { ip: SNAT4, firstPort: 1025, lastPort: 4096 }, ephemeral: EPHEMERAL, floating: [] }; });
    // the client is "the guest" of OPTE's helpers: it opens, it closes first
    const net = httpExchange({ client: CLIENT, server: EPHEMERAL, clientPort: 44490 });
    const guest = httpExchange({ client: CLIENT, server: GUEST4, clientPort: 44490 });
    const steps: [string, Uint8Array, Dir, string][] = [
      ["syn in", fromInternet(CLIENT, EPHEMERAL, 6, net.syn), Dir.In, "listen"],
      ["syn+ack out", fromGuest(GUEST4, CLIENT, 6, guest.synAck), Dir.Out, "syn-rcvd"],
      ["ack in", fromInternet(CLIENT, EPHEMERAL, 6, net.ack), Dir.In, "established"],
      ["get in", fromInternet(CLIENT, EPHEMERAL, 6, net.get), Dir.In, "established"],
      ["ack of get out", fromGuest(GUEST4, CLIENT, 6, guest.getAck), Dir.Out, "established"],
      ["301 out", fromGuest(GUEST4, CLIENT, 6, guest.moved), Dir.Out, "established"],
      ["ack of 301 in", fromInternet(CLIENT, EPHEMERAL, 6, net.movedAck), Dir.In, "established"],
      ["client fin in", fromInternet(CLIENT, EPHEMERAL, 6, net.clientFin), Dir.In, "close-wait"],
      ["ack of fin out", fromGuest(GUEST4, CLIENT, 6, guest.serverAckFin), Dir.Out, "close-wait"],
      ["guest fin out", fromGuest(GUEST4, CLIENT, 6, guest.serverFin), Dir.Out, "last-ack"],
      ["ack of guest fin in", fromInternet(CLIENT, EPHEMERAL, 6, net.clientAckFin), Dir.In, "closed"],
    ];
    for (const [what, frame, dir, want] of steps) {
      const r = p.send(frame, dir);
      expect([what, r.reason, p.tcpState(80, 44490)]).toEqual([what, "pass", want]);
    }
    const [f] = p.e.flows(0);
    expect(f.origin).toBe("in");
    expect([f.in.xform.valid, f.out.xform.valid]).toEqual([false, false]); // OPTE: "set:uft.in=0, uft.out=0"
    expect(innerIp(p.send(fromGuest(GUEST4, CLIENT, 6, guest.serverFin), Dir.Out).out).subarray(12, 16)).toEqual(Uint8Array.from([198, 51, 100, 33]));
  });

  it("early_tcp_invalidation: a SYN on a TIME_WAIT or ESTABLISHED flow starts it over (same SNAT port); an ACK adopts a flow as ESTABLISHED, which a SYN restarts", async () => {
    const p = await optePort((c) => {
      c.firewall.push({ name: "allow-tcp-in", direction: "in", priority: 10, action: "allow", protocols: ["tcp"] });
    });
    const { snatPort, g, s } = await outboundHttp(p, SERVER, 1);
    expect(p.tcpState(44490, 80)).toBe("time-wait");
    // the guest reuses the 4-tuple from TIME_WAIT
    const syn = p.send(fromGuest(GUEST4, SERVER, 6, g.syn), Dir.Out, 2);
    expect([syn.reason, innerSport(syn.out), p.tcpState(44490, 80)]).toEqual(["pass", snatPort, "syn-sent"]);
    let [f] = p.e.flows(0);
    expect([f.out.xform.valid, f.in.xform.valid]).toEqual([true, false]);  // OPTE: "decr:uft.in"
    expect(p.send(fromInternet(SERVER, SNAT4, 6, s.synAck), Dir.In, 3).reason).toBe("pass");
    expect(p.tcpState(44490, 80)).toBe("established");
    // the server reuses it while ESTABLISHED: the guest is asked to LISTEN
    const fromServer = p.send(fromInternet(SERVER, SNAT4, 6, s.serverSyn), Dir.In, 4);
    expect([fromServer.reason, p.tcpState(44490, 80)]).toEqual(["pass", "listen"]);
    [f] = p.e.flows(0);
    expect([f.in.xform.valid, f.out.xform.valid]).toEqual([true, false]);  // OPTE: "set:uft.in=1, uft.out=0"
    // a flow first seen on an ACK (its earlier state lost) is adopted as ESTABLISHED
    const g2 = httpExchange({ client: GUEST4, server: SERVER2 });
    expect(p.send(fromGuest(GUEST4, SERVER2, 6, g2.clientAckFin), Dir.Out, 5).reason).toBe("pass");
    expect(p.tcpState(44490, 80, SERVER2)).toBe("established");
    // and it does not block a new connection on the same tuple
    expect(p.send(fromGuest(GUEST4, SERVER2, 6, g2.syn), Dir.Out, 6).reason).toBe("pass");
    expect(p.tcpState(44490, 80, SERVER2)).toBe("syn-sent");
    expect(p.e.flowCount(0)).toBe(2);
  });

  it("tcp_invalidation_does_not_block_connection: a handshake slower than the 5 s TCP-state TTL still completes through the flow's firewall state", async () => {
    const PEER = "172.30.0.6", PEER_MAC = "a8:40:25:f0:00:06";
    const p = await optePort((c) => { c.firewall = []; });     // defaults only: allow out, deny in
    const g = httpExchange({ client: GUEST4, server: PEER });
    const t0 = 1000;
    expect(p.send(fromGuest(GUEST4, PEER, 6, g.syn), Dir.Out, t0).reason).toBe("pass");
    expect(p.tcpState(44490, 80)).toBe("syn-sent");
    const t1 = t0 + 6000;                                      // INCIPIENT_EXPIRE_SECS + 1
    p.e.expire(0, t1, 1 << 20);
    expect(p.tcpState(44490, 80)).toBe("closed");              // OPTE: no TCP state …
    expect(p.e.flowCount(0)).toBe(1);                          // … but the flow and its firewall state remain
    const synAck = fromPeer(PEER_SLED, PEER_MAC, PEER, GUEST4, 6, g.synAck);
    expect(p.send(synAck, Dir.In, t1).reason).toBe("pass");
    expect(p.tcpState(44490, 80)).toBe("established");
    p.e.expire(0, t1 + 6000, 1 << 20);
    expect(p.tcpState(44490, 80)).toBe("established");
  });

  it("a segment that cannot open a connection (no SYN, ACK or RST) makes no flow: dropped as TcpInvalid, as OPTE drops it (TcpErr)", async () => {
    const p = await optePort();
    const finAlone = tcp(GUEST4, SERVER, 44490, 80, 0x01, undefined, 2382112998, 0);
    expect(p.send(fromGuest(GUEST4, SERVER, 6, finAlone), Dir.Out).reason).toBe("TcpInvalid");
    expect(p.e.flowCount(0)).toBe(0);
    expect(p.e.natUsage(0, 0).inUse).toBe(0);                  // the SNAT port it would have taken is back
  });
});

describe("flow lifetime (OPTE's FLOW_DEF_EXPIRE_SECS)", () => {
  it("flow_expiration: a flow lives 60 s after its last packet, whatever its TCP state, then goes", async () => {
    const p = await optePort();
    const g = httpExchange({ client: GUEST4, server: "172.30.0.6" });
    const now = 5000;
    expect(p.send(fromGuest(GUEST4, "172.30.0.6", 6, g.syn), Dir.Out, now).reason).toBe("pass");
    expect(p.e.expire(0, now + 59_999, 1 << 20)).toBe(0);
    expect(p.e.flowCount(0)).toBe(1);
    expect(p.e.expire(0, now + 61_000, 1 << 20)).toBe(1);
    expect(p.e.flowCount(0)).toBe(0);
  });
});

