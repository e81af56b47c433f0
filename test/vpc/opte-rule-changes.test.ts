// Rule changes and open flows (docs/flows.md "Rule changes"): OPTE's
// uft_lft_invalidation_out, uft_lft_invalidation_in, firewall_replace_rules
// and add_remove_fw_rule. A firewall change bumps the port epoch (every cached
// transformation is recomposed) and makes open flows forget the firewall's
// allows, so the next packet of a flow, either way, meets the new rules.
import { describe, it, expect } from "vitest";
import { optePort, fromGuest, fromInternet, httpExchange, innerSport, Dir, GUEST4, SNAT4, SERVER, VNI } from "../helpers/opte.js";
import { vpcGuestPortJson } from "../helpers/example-port.js";
import { SledHost } from "../../hosts/sled/sled.js";
import { UdpUnderlay } from "../../hosts/sled/underlay.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";

const FIREWALL = 1, DEFAULT_RULE = 0xfffffffe;
const denyAllOut = { name: "deny-all-out", direction: "out", priority: 65535, action: "deny" };

/** OPTE's establish_http_conn: SYN out, SYN+ACK in, ACK out, through SNAT. */
async function established() {
  const p = await optePort();
  const g = httpExchange({ client: GUEST4, server: SERVER });
  const syn = p.send(fromGuest(GUEST4, SERVER, 6, g.syn), Dir.Out, 1);
  const snatPort = innerSport(syn.out);
  const s = httpExchange({ client: SNAT4, server: SERVER, clientPort: snatPort });
  expect(p.send(fromInternet(SERVER, SNAT4, 6, s.synAck), Dir.In, 2).reason).toBe("pass");
  expect(p.send(fromGuest(GUEST4, SERVER, 6, g.ack), Dir.Out, 3).reason).toBe("pass");
  return { p, g, s };
}

describe("rule changes end open flows in both directions", () => {
  it("uft_lft_invalidation_out: after the firewall denies all outbound, the open connection's next request is dropped by the rule; both cached directions are gone, the NAT binding stays", async () => {
    const { p, g } = await established();
    const epoch = p.e.portEpoch(0);
    p.setFirewall([denyAllOut]);
    expect(p.e.portEpoch(0)).toBe(epoch + 1);
    const get = p.send(fromGuest(GUEST4, SERVER, 6, g.get), Dir.Out, 4);
    expect([get.reason, get.layer, get.rule]).toEqual(["LayerDeny", FIREWALL, 1]);
    const [f] = p.e.flows(0);
    expect([f.out.xform.valid, f.in.xform.valid]).toEqual([false, false]);
    expect([p.e.flowCount(0), p.e.natUsage(0, 0).inUse]).toEqual([1, 1]);
  });

  it("uft_lft_invalidation_in: after the firewall denies all outbound, the server's reply on the open connection is dropped by the inbound default", async () => {
    const { p, g, s } = await established();
    expect(p.send(fromGuest(GUEST4, SERVER, 6, g.get), Dir.Out, 4).reason).toBe("pass");
    expect(p.send(fromInternet(SERVER, SNAT4, 6, s.getAck), Dir.In, 5).reason).toBe("pass");
    p.setFirewall([denyAllOut]);
    const reply = p.send(fromInternet(SERVER, SNAT4, 6, s.moved), Dir.In, 6);
    expect([reply.reason, reply.layer, reply.rule]).toEqual(["LayerDeny", FIREWALL, DEFAULT_RULE]);
    const [f] = p.e.flows(0);
    expect([f.out.xform.valid, f.in.xform.valid]).toEqual([false, false]);
    expect(p.e.natUsage(0, 0).inUse).toBe(1);                 // OPTE: "set:nat.flows.in=1, nat.flows.out=1"
  });

  it("a firewall change that still allows the flow: its next outbound packet records the allow again and the replies flow", async () => {
    const { p, g, s } = await established();
    p.setFirewall([{ name: "web-only", direction: "out", priority: 100, action: "allow", protocols: ["tcp"], ports: [80] }, denyAllOut]);
    // the reply first: the firewall forgot the flow, and inbound is default deny
    expect(p.send(fromInternet(SERVER, SNAT4, 6, s.getAck), Dir.In, 4).reason).toBe("LayerDeny");
    expect(p.send(fromGuest(GUEST4, SERVER, 6, g.get), Dir.Out, 5).reason).toBe("pass");
    expect(p.send(fromInternet(SERVER, SNAT4, 6, s.moved), Dir.In, 6).reason).toBe("pass");
    expect(p.send(fromInternet(SERVER, SNAT4, 6, s.moved), Dir.In, 7).reason).toBe("pass");
    expect(p.e.counters(0).fastIn).toBeGreaterThan(0);
  });

  it("replacing a layer with the same rules, or another layer, keeps the firewall's allows: replies still pass", async () => {
    const { p, s } = await established();
    p.setFirewall(p.config.firewall);
    expect(p.send(fromInternet(SERVER, SNAT4, 6, s.getAck), Dir.In, 4).reason).toBe("pass");
    p.config.routes.push({ dest: "192.0.2.0/24", target: { type: "drop" } });
    const { compilePort, layerBytes } = await import("../../layers/vpc/compile.js");
    p.e.replaceLayer(0, layerBytes(compilePort(p.config), "router"));
    expect(p.send(fromInternet(SERVER, SNAT4, 6, s.moved), Dir.In, 5).reason).toBe("pass");
    // a whole program with a new layer in front moves each layer's decisions with it
    const { encodePortProgram } = await import("../../layers/program/encode.js");
    const compiled = compilePort(p.config);
    p.e.loadProgram(0, encodePortProgram([{ name: "tap", defaultIn: "allow", defaultOut: "allow", rules: [] }, ...compiled.layers]));
    expect(p.send(fromInternet(SERVER, SNAT4, 6, s.moved), Dir.In, 6).reason).toBe("pass");
    expect(p.e.flows(0)[0].layerBits).toBe(0x3010 << 4);      // firewall allow, NAT source binding: one layer later
  });

  it("firewall_replace_rules: a changed ruleset that still allows lets the SYN out; the peer's ruleset replaced to deny inbound TCP drops it", async () => {
    const g1 = await optePort();
    const g2 = await optePort((c) => {
      Object.assign(c, vpcGuestPortJson({ name: "web-b", mac: "a8:40:25:f0:00:06", ipv4: "172.30.0.6", ipv6: "fd00:1024::6",
        sled: "fd00:1122:3344:102::1", v2p: [{ ip: GUEST4, mac: "a8:40:25:f0:00:05", underlay: "fd00:1122:3344:101::1" }] }));
      c.vni = VNI;
      c.firewall = [{ name: "tcp-in", direction: "in", priority: 10, action: "allow", protocols: ["tcp"] }];
    });
    const syn = httpExchange({ client: GUEST4, server: "172.30.0.6" }).syn;
    expect(g1.send(fromGuest(GUEST4, "172.30.0.6", 6, syn), Dir.Out, 1).reason).toBe("pass");
    g1.setFirewall([denyAllOut, { name: "tcp-out", direction: "out", priority: 1000, action: "allow", protocols: ["tcp"] }]);
    const again = g1.send(fromGuest(GUEST4, "172.30.0.6", 6, syn), Dir.Out, 2);
    expect(again.reason).toBe("pass");
    expect(g1.e.counters(0)).toMatchObject({ reevaluated: 1, flowsCreated: 1 });
    // g1's frame, as the rack delivers it to g2's sled
    expect(g2.send(again.out, Dir.In, 3).reason).toBe("pass");
    g2.setFirewall([{ name: "no-tcp-in", direction: "in", priority: 1000, action: "deny", protocols: ["tcp"] }]);
    const dropped = g2.send(again.out, Dir.In, 4);
    expect([dropped.reason, dropped.layer, dropped.rule]).toEqual(["LayerDeny", FIREWALL, 1]);
    const [f] = g2.e.flows(0);
    expect(f.in.xform.valid).toBe(false);                      // OPTE: "set:uft.in=0"
  });
});

describe("firewall rules one at a time", () => {
  it("add_remove_fw_rule: adding an inbound rule and removing it each move the epoch on and change the inbound rule count", async () => {
    const SLED = "fd00:1122:3344:101::1";
    const u = await UdpUnderlay.open({ address: SLED, bind: { host: "::1", port: 0 }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01" });
    const sled = await SledHost.create({ name: "sled", underlay: u, underlayAddress: SLED });
    try {
      const json = vpcGuestPortJson({ name: "g1", mac: "a8:40:25:f0:00:05", ipv4: GUEST4, ipv6: "fd00:1024::5", sled: SLED, v2p: [], vni: VNI });
      json.firewall = [];
      const port = await sled.addPort(json, new MemoryDevice("g1"));
      const e = sled.engine;
      const inRules = () => sled.port("g1").compiled.config.firewall.filter((r) => r.direction === "in").length;
      const fwRules = () => e.layers(port.id).find((l) => l.name === "firewall")!.rules.length;
      const epoch = e.portEpoch(port.id);
      await sled.updatePort("g1", (j) => { j.firewall = [{ name: "tcp-in", direction: "in", priority: 10, action: "allow", protocols: ["tcp"] }]; });
      expect([e.portEpoch(port.id), inRules(), fwRules()]).toEqual([epoch + 1, 1, 1]);
      await sled.updatePort("g1", (j) => { j.firewall = (j.firewall ?? []).filter((r) => r.name !== "tcp-in"); });
      expect([e.portEpoch(port.id), inRules(), fwRules()]).toEqual([epoch + 2, 0, 0]);
    } finally {
      await sled.close();
    }
  });
});
