// Guest to guest inside a VPC (RFD 63 "Instance to Instance"), as OPTE's
// integration tests check it: the router decides, the overlay carries the
// frame to the peer's sled with the VPC's VNI and the peer's MAC, the inner
// packet arrives byte for byte; no route, or a peer in another VPC, is a drop;
// a custom route beats the system route of the same prefix.
import { describe, it, expect } from "vitest";
import { Dir } from "../../hosts/engine/batch.js";
import { ipFrame, tcp, icmpEcho, TCP_FLAGS } from "../helpers/frames.js";
import { G1, G2, GW_MAC, VNI, guestJson, portOf, view } from "../helpers/opte-guests.js";

const syn = (src: string, dst: string) => ipFrame(GW_MAC, G1.mac, src, dst, 6, tcp(src, dst, 44490, 80, TCP_FLAGS.SYN, new Uint8Array(0), 2382112979));
const ping = (dst: string) => ipFrame(GW_MAC, G1.mac, G1.ip4, dst, 1, icmpEcho(G1.ip4, dst, true, 7777, 1));

describe("guest to guest", () => {
  it.each([["IPv4", G1.ip4, G2.ip4], ["IPv6", G1.ip6, G2.ip6]])("guest_to_guest (%s): a SYN reaches the peer through Geneve, its inner packet unchanged", async (_f, src, dst) => {
    const g1 = await portOf(guestJson(G1, G2));
    const g2 = await portOf(guestJson(G2, G1));
    const frame = syn(src, dst);
    const out = g1.send(frame, Dir.Out);
    expect(out.reason).toBe("pass");
    const v = view(out.out);
    expect(v.outer).toMatchObject({ ethSrc: G1.sledMac, ethDst: "02:08:20:ff:ff:01", src: G1.sled, dst: G2.sled, hopLimit: 255, udpDst: 6081, vni: VNI, options: ["Oxide MSS"] });
    expect(v).toMatchObject({ eth: { src: G1.mac, dst: G2.mac }, ip: { src, dst, proto: 6 }, l4: { sport: 44490, dport: 80 } });
    // the inner IP packet (checksums included) is the guest's, untouched
    const innerIp = out.out.subarray(out.out.length - (frame.length - 14));
    expect(Buffer.from(innerIp).equals(Buffer.from(frame.subarray(14)))).toBe(true);
    const got = g2.send(out.out, Dir.In);
    expect(got.reason).toBe("pass");
    expect(view(got.out)).toMatchObject({ outer: undefined, eth: { src: GW_MAC, dst: G2.mac }, ip: { src, dst } });
    expect(Buffer.from(got.out.subarray(14)).equals(Buffer.from(frame.subarray(14)))).toBe(true);
  });

  it("guest_to_guest_no_route: a mapped peer outside every route is dropped by the router", async () => {
    const g1 = await portOf(guestJson(G1, G2, (c) => { c.v2p.push({ ip: "172.31.9.9", mac: "a8:40:25:f0:09:09", underlay: G2.sled }); }));
    const r = g1.send(syn(G1.ip4, "172.31.9.9"), Dir.Out);
    expect([r.reason, r.layerName, r.rule]).toEqual(["Unroutable", "router", r.rule]);
    // a drop route over the whole VPC subnet takes it from its system route as well
    const dropped = await portOf(guestJson(G1, G2, (c) => { c.routes = [{ dest: "172.30.0.0/22", target: { type: "drop" } }]; }));
    expect(dropped.send(syn(G1.ip4, G2.ip4), Dir.Out)).toMatchObject({ reason: "Unroutable", layerName: "router" });
  });

  it("guest_to_guest_diff_vpc_no_peer: a peer mapped only in another VPC is unreachable (the overlay finds no mapping)", async () => {
    const g1 = await portOf(guestJson(G1, undefined, (c) => { c.v2p = [{ ip: G2.ip4, mac: G2.mac, underlay: G2.sled, vni: 100 }]; }));
    const r = g1.send(syn(G1.ip4, G2.ip4), Dir.Out);
    expect([r.reason, r.layerName]).toEqual(["NoEncapTarget", "overlay"]);
  });

  it("intra_subnet_routes_with_custom: another VPC subnet is reachable, a custom drop route for a system route's prefix wins, and removing it restores the path", async () => {
    const other = { ip: "172.30.4.5", mac: "a8:40:25:f0:00:66", underlay: G2.sled };
    const reach = (c: ReturnType<typeof guestJson>) => { c.routes.push({ dest: "172.30.4.0/22", target: { type: "vpcSubnet" } }); c.v2p.push(other); };
    const g1 = await portOf(guestJson(G1, G2, reach));
    expect(g1.send(ping(other.ip), Dir.Out).reason).toBe("pass");
    expect(g1.send(ping(G2.ip4), Dir.Out).reason).toBe("pass");
    // a custom drop route with exactly the system route's prefix (the VPC subnet) is obeyed
    const custom = await portOf(guestJson(G1, G2, (c) => { reach(c); c.routes.push({ dest: "172.30.0.0/22", target: { type: "drop" } }); }));
    expect(custom.send(ping(G2.ip4), Dir.Out)).toMatchObject({ reason: "Unroutable", layerName: "router" });
    expect(custom.send(ping(other.ip), Dir.Out).reason).toBe("pass");
    // the same port updated in place: the cached flow follows the new routes
    const e = g1.e;
    const drop = guestJson(G1, G2, (c) => { reach(c); c.routes.push({ dest: "172.30.0.0/22", target: { type: "drop" } }); });
    const { compilePort, layerBytes } = await import("../../layers/vpc/compile.js");
    e.replaceLayer(0, layerBytes(compilePort(drop), "router"));
    expect(g1.send(ping(G2.ip4), Dir.Out).reason).toBe("Unroutable");
    e.replaceLayer(0, layerBytes(compilePort(guestJson(G1, G2, reach)), "router"));
    expect(g1.send(ping(G2.ip4), Dir.Out).reason).toBe("pass");
  });
});
