// Port states and limits as OPTE's tests expect them (docs/flows.md "Port
// states"): check_layers, port_transition_running, port_transition_reset,
// port_transition_pause and no_panic_on_flow_table_full.
import { describe, it, expect } from "vitest";
import { optePort, fromGuest, httpExchange, Dir, GUEST4, SERVER, VNI } from "../helpers/opte.js";
import { Engine, EngineError } from "../../hosts/engine/engine.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { compilePort, layerBytes } from "../../layers/vpc/compile.js";
import { examplePortJson, vpcGuestPortJson } from "../helpers/example-port.js";
import { exportSnapshot, restoreSnapshot } from "../../hosts/snapshot/engine.js";
import { SledHost, Conflict } from "../../hosts/sled/sled.js";
import { UdpUnderlay } from "../../hosts/sled/underlay.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";

const PEER4 = "172.30.0.6", PEER_MAC = "a8:40:25:f0:00:06";
const SLED_A = "fd00:1122:3344:101::1", SLED_B = "fd00:1122:3344:102::1";
const reasonOf = (f: () => unknown) => { try { f(); return "accepted"; } catch (e) { return e instanceof EngineError ? reasonName(e.reason) : String(e); } };

/** The example port created and programmed but not started (OPTE's Ready). */
async function readyPort() {
  const config = examplePortJson();
  config.vni = VNI;
  const compiled = compilePort(config);
  const e = await Engine.load();
  e.createPort(0, compiled.engineConfig);
  for (const pool of compiled.natPools) e.setNatPool(0, pool.pool, pool.ip, pool.firstPort, pool.lastPort);
  e.loadProgram(0, compiled.program);
  for (const m of compiled.mappings) e.mapSet(m.table, m.vni, m.ip, m.portLo, m.portHi, m.target);
  const b = e.newBatch(1, 2048, 256);
  const send = (frame: Uint8Array, dir: Dir) => { b.set(0, frame, 0, dir); b.run(1, 1); return e.counters(0); };
  return { e, b, send, config };
}

const telnetSyn = () => fromGuest(GUEST4, PEER4, 6, httpExchange({ client: GUEST4, server: PEER4, serverPort: 23 }).syn);

describe("port states", () => {
  it("check_layers: a VPC port has OPTE's layers, in its order", async () => {
    const p = await optePort();
    expect(p.e.layers(0).map((l) => l.name)).toEqual(["gateway", "firewall", "router", "nat", "overlay"]);
  });

  it("port_transition_running: a ready port refuses traffic; once running it processes it", async () => {
    const { e, send } = await readyPort();
    expect(e.portState(0)).toBe("ready");
    expect(send(telnetSyn(), Dir.Out).drops).toEqual({ PortNotRunning: 1 });
    expect(e.flowCount(0)).toBe(0);
    e.setPortState(0, "running");
    expect(send(telnetSyn(), Dir.Out)).toMatchObject({ slowOut: 1, flowsCreated: 1 });
    expect(e.flowCount(0)).toBe(1);
  });

  it("port_transition_reset: reset clears every flow and leaves the port ready with its rules; traffic is refused until it runs", async () => {
    const { e, send } = await readyPort();
    e.setPortState(0, "running");
    send(telnetSyn(), Dir.Out);
    expect(e.flowCount(0)).toBe(1);
    const rules = e.layers(0).map((l) => [l.name, l.rules.length]);
    const epoch = e.portEpoch(0);
    e.resetPort(0);
    expect([e.portState(0), e.flowCount(0)]).toEqual(["ready", 0]);
    expect(e.layers(0).map((l) => [l.name, l.rules.length])).toEqual(rules);
    expect(e.counters(0)).toMatchObject({ slowOut: 1, flowsCreated: 1 });   // OPTE leaves the port's stats as they were
    expect(e.portEpoch(0)).toBe(epoch + 1);
    expect(send(telnetSyn(), Dir.Out).drops).toEqual({ PortNotRunning: 1 });
  });

  it("port_transition_pause: a paused port refuses traffic and every change to its rules and flows, still dumps, and carries on once running", async () => {
    // g1 serves HTTP; g2 (another sled) connects to it
    const g1 = await optePort((c) => { c.v2p = [{ ip: PEER4, mac: PEER_MAC, underlay: SLED_B }]; });
    const g2 = await optePort((c) => {
      Object.assign(c, vpcGuestPortJson({ name: "g2", mac: PEER_MAC, ipv4: PEER4, ipv6: "fd00:1024::6", sled: SLED_B,
        v2p: [{ ip: GUEST4, mac: "a8:40:25:f0:00:05", underlay: SLED_A }] }));
      c.vni = VNI;
    });
    const h = httpExchange({ client: PEER4, server: GUEST4 });
    const syn = g2.send(fromGuest(PEER4, GUEST4, 6, h.syn, 64, PEER_MAC), Dir.Out, 1);
    expect(syn.reason).toBe("pass");
    expect(g1.send(syn.out, Dir.In, 1).reason).toBe("pass");

    g2.e.setPortState(0, "paused");
    // introspection works
    expect(g2.e.layers(0).map((l) => l.name)).toContain("firewall");
    expect(g2.e.flows(0)).toHaveLength(1);
    expect(g2.e.counters(0).pktsOut).toBe(1);
    const snap = exportSnapshot(g2.e, 0, { now: 2 });
    // changes are not: flows (OPTE's clear_uft, expire_flows), rules (del_entry, add_fw_rule, set_fw_rules)
    expect(reasonOf(() => g2.e.clearFlows(0))).toBe("PortPaused");
    expect(g2.e.expire(0, 10_000_000, 1 << 20)).toBe(0);
    expect(g2.e.flowCount(0)).toBe(1);
    const routeless = structuredClone(g2.config); routeless.routes = [];
    expect(reasonOf(() => g2.e.replaceLayer(0, layerBytes(compilePort(routeless), "router")))).toBe("PortPaused");
    expect(reasonOf(() => g2.setFirewall([{ name: "ssh-in", direction: "in", priority: 10, action: "allow", protocols: ["tcp"], ports: [22] }]))).toBe("PortPaused");
    expect(reasonOf(() => g2.e.loadProgram(0, compilePort(g2.config).program))).toBe("PortPaused");
    expect(reasonOf(() => g2.e.setNatPool(0, 0, "198.51.100.99", 1024, 2047))).toBe("PortPaused");
    expect(reasonOf(() => g2.e.reconfigurePort(0, compilePort(g2.config).engineConfig))).toBe("PortPaused");
    expect(exportSnapshot(g2.e, 0, { now: 2 })).toEqual(snap);               // nothing moved
    expect(g2.send(fromGuest(PEER4, GUEST4, 6, h.syn, 64, PEER_MAC), Dir.Out, 3).reason).toBe("PortNotRunning");
    restoreSnapshot(g2.e, 0, snap, 4);                                          // a migration may still fill it

    g2.e.setPortState(0, "running");
    const synAck = g1.send(fromGuest(GUEST4, PEER4, 6, httpExchange({ client: PEER4, server: GUEST4 }).synAck), Dir.Out, 5);
    expect(synAck.reason).toBe("pass");
    expect(g2.send(synAck.out, Dir.In, 5).reason).toBe("pass");
    expect(g2.tcpState(44490, 80)).toBe("established");
  });

  it("a sled refuses to change a paused port's config (409), before changing anything", async () => {
    const u = await UdpUnderlay.open({ address: SLED_A, bind: { host: "::1", port: 0 }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01" });
    const sled = await SledHost.create({ name: "sled", underlay: u, underlayAddress: SLED_A });
    try {
      const json = vpcGuestPortJson({ name: "g1", mac: "a8:40:25:f0:00:05", ipv4: GUEST4, ipv6: "fd00:1024::5", sled: SLED_A, v2p: [], vni: VNI });
      const port = await sled.addPort(json, new MemoryDevice("g1"));
      await sled.setPortState("g1", "paused");
      const epoch = sled.engine.portEpoch(port.id);
      await expect(sled.updatePort("g1", (j) => { j.firewall = []; })).rejects.toThrow(Conflict);
      expect(sled.engine.portEpoch(port.id)).toBe(epoch);
      expect(sled.port("g1").compiled.config.firewall.length).toBe(json.firewall.length);
      await sled.setPortState("g1", "running");
      await sled.updatePort("g1", (j) => { j.firewall = []; });
      expect(sled.engine.portEpoch(port.id)).toBe(epoch + 1);
    } finally {
      await sled.close();
    }
  });
});

describe("limits", () => {
  it("no_panic_on_flow_table_full: with room for one flow, a second connection is dropped (FlowTableFull) and the first carries on", async () => {
    const p = await optePort((c) => { c.limits = { flows: 1 }; });
    const first = httpExchange({ client: GUEST4, server: SERVER });
    expect(p.send(fromGuest(GUEST4, SERVER, 6, first.syn), Dir.Out).reason).toBe("pass");
    const second = httpExchange({ client: GUEST4, server: "142.251.46.238" });
    expect(p.send(fromGuest(GUEST4, "142.251.46.238", 6, second.syn), Dir.Out).reason).toBe("FlowTableFull");
    expect(p.send(fromGuest(GUEST4, SERVER, 6, first.ack), Dir.Out).reason).toBe("pass");
    expect(p.e.natUsage(0, 0).inUse).toBe(1);                  // the refused flow took no SNAT port
  });
});

