// Firewall rules with a `vpc` host, as OPTE's firewall tests check them:
// "allow from my VPC" admits the VPC's own overlay traffic and never what
// boundary services bring in from the internet (the Oxide External option),
// even though that arrives on the guest's VNI too; outbound, a `vpc` host
// matches destinations mapped in the port's VPC only.
import { describe, it, expect } from "vitest";
import { Dir } from "../../hosts/engine/batch.js";
import { ipFrame, tcp, TCP_FLAGS } from "../helpers/frames.js";
import { G1, G2, GW_MAC, VNI, guestJson, portOf, overlayFrame, fromBoundary } from "../helpers/opte-guests.js";

const syn = (srcMac: string, dstMac: string, src: string, dst: string, dport = 80, sport = 44490) =>
  ipFrame(dstMac, srcMac, src, dst, 6, tcp(src, dst, sport, dport, TCP_FLAGS.SYN));

describe("firewall: vpc hosts", () => {
  it("firewall_vni_inbound: the default allow-from-VPC rule admits the VPC and nothing on another VNI", async () => {
    const g1 = await portOf(guestJson(G1, G2));
    // TCP/80 is open to the VPC only (the default rules open SSH and ICMP to anyone)
    const other = g1.send(overlayFrame(G2, G1, syn(G2.mac, G1.mac, G2.ip4, G1.ip4), { vni: 1234 }), Dir.In);
    expect([other.reason, other.layerName]).toEqual(["WrongVni", "overlay"]);
    const same = g1.send(overlayFrame(G2, G1, syn(G2.mac, G1.mac, G2.ip4, G1.ip4)), Dir.In);
    expect(same.reason).toBe("pass");
    const same6 = g1.send(overlayFrame(G2, G1, syn(G2.mac, G1.mac, G2.ip6, G1.ip6)), Dir.In);
    expect(same6.reason).toBe("pass");
  });

  it("firewall_vni_outbound: with outbound allowed only to the VPC, a peer mapped in another VPC and the internet are denied", async () => {
    const G3 = { mac: "a8:40:25:f0:00:77", ip4: "172.30.0.7", sled: "fd00:0:f7:117::1" };
    const g1 = await portOf(guestJson(G1, G2, (c) => {
      c.firewall = [
        { name: "deny-out", direction: "out", priority: 65535, action: "deny" },
        { name: "vpc-out", direction: "out", priority: 1000, action: "allow", hosts: [{ type: "vpc", vni: VNI }] },
      ];
      c.v2p.push({ ip: G3.ip4, mac: G3.mac, underlay: G3.sled, vni: 1234 });
      c.routes = [{ dest: "0.0.0.0/0", target: { type: "internetGateway" } }];
    }));
    expect(g1.send(syn(G1.mac, GW_MAC, G1.ip4, G2.ip4), Dir.Out).reason).toBe("pass");
    expect(g1.send(syn(G1.mac, GW_MAC, G1.ip6, G2.ip6), Dir.Out).reason).toBe("pass");
    const g3 = g1.send(syn(G1.mac, GW_MAC, G1.ip4, G3.ip4), Dir.Out);
    expect([g3.reason, g3.layerName, g3.rule]).toEqual(["LayerDeny", "firewall", 1]);
    const internet = g1.send(syn(G1.mac, GW_MAC, G1.ip4, "52.10.128.69"), Dir.Out);
    expect([internet.reason, internet.layerName]).toEqual(["LayerDeny", "firewall"]);
  });

  it("firewall_external_inbound: internet traffic on the guest's own VNI is not 'from the VPC'", async () => {
    const g1 = await portOf(guestJson(G1, G2, (c) => { c.externalIps.floating = ["10.77.78.9", "2001:db8:78::9"]; }));
    // already translated by boundary services, as in OPTE's test
    const natted = g1.send(fromBoundary(G1, syn("a8:40:25:77:77:77", G1.mac, "1.1.1.1", G1.ip4)), Dir.In);
    expect([natted.reason, natted.layerName, natted.rule]).toEqual(["LayerDeny", "firewall", 0xfffffffe]);
    // to the floating IPs: HTTP, open to the VPC only, stays closed to the internet…
    for (const [client, fip] of [["1.1.1.1", "10.77.78.9"], ["2606:4700::1111", "2001:db8:78::9"]]) {
      const http = g1.send(fromBoundary(G1, syn("a8:40:25:77:77:77", G1.mac, client, fip)), Dir.In);
      expect([http.reason, http.layerName]).toEqual(["LayerDeny", "firewall"]);
      // …while SSH, open to anyone, gets through
      expect(g1.send(fromBoundary(G1, syn("a8:40:25:77:77:77", G1.mac, client, fip, 22)), Dir.In).reason).toBe("pass");
    }
  });

  it("a rule may mix vpc and address hosts: it matches either", async () => {
    const g1 = await portOf(guestJson(G1, G2, (c) => {
      c.firewall = [{ name: "web", direction: "in", priority: 10, action: "allow", protocols: ["tcp"], ports: [443],
        hosts: [{ type: "vpc", vni: VNI }, { type: "ip", value: "1.1.1.1" }] }];
      c.externalIps.floating = ["10.77.78.9"];
    }));
    expect(g1.send(overlayFrame(G2, G1, syn(G2.mac, G1.mac, G2.ip4, G1.ip4, 443)), Dir.In).reason).toBe("pass");
    expect(g1.send(fromBoundary(G1, syn("a8:40:25:77:77:77", G1.mac, "1.1.1.1", "10.77.78.9", 443)), Dir.In).reason).toBe("pass");
    expect(g1.send(fromBoundary(G1, syn("a8:40:25:77:77:77", G1.mac, "1.1.1.2", "10.77.78.9", 443)), Dir.In).reason).toBe("LayerDeny");
    // not the VPC: another port of the same rule
    expect(g1.send(overlayFrame(G2, G1, syn(G2.mac, G1.mac, G2.ip4, G1.ip4, 444)), Dir.In).reason).toBe("LayerDeny");
  });
});
