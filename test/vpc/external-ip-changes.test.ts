// External addresses as OPTE's integration tests check them (the
// multi_external_ip_setup family): inbound to every external address in both
// families, outbound spread over the floating IPs, source selection by the
// internet gateway a route chose, and what every external-IP change does to
// open flows (docs/flows.md, "External IP changes"): a flow keeps the
// address it has while that address is still the port's; a flow whose
// address was taken away leaves from another one on its next packet, and
// nothing comes in on the old one. Changes go through the sled host, as the
// API's PUT /ports/{name}/external-ips does.
import { describe, it, expect, afterEach } from "vitest";
import { Dir } from "../../hosts/engine/batch.js";
import { SledHost } from "../../hosts/sled/sled.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { MemoryUnderlay } from "../helpers/memory-underlay.js";
import { ipFrame, tcp, icmpEcho, TCP_FLAGS } from "../helpers/frames.js";
import { G1, G2, GW_MAC, TUNNEL_ENDPOINT_MAC, guestJson, portOf, fromBoundary, view, PortJson } from "../helpers/opte-guests.js";

const PARTNER4 = "93.184.216.34", PARTNER6 = "2606:2800:220:1:248:1893:25c8:1946";
const partnerOf = (ip: string) => (ip.includes(":") ? PARTNER6 : PARTNER4);
const privateOf = (ip: string) => (ip.includes(":") ? G1.ip6 : G1.ip4);

/**
 * OPTE's multi_external_setup: n addresses per family (10.60.1.1…, 2001:db8::1…),
 * the first one ephemeral when asked, the rest floating; SNAT besides; routes
 * to the internet in both families; inbound TCP open to anyone.
 */
function multiExternal(n: number, ephemeral: boolean): { json: PortJson; v4: string[]; v6: string[] } {
  const v4 = Array.from({ length: n }, (_, i) => `10.60.1.${1 + i}`);
  const v6 = Array.from({ length: n }, (_, i) => `2001:db8::${(1 + i).toString(16)}`);
  const json = guestJson(G1, G2, (c) => {
    c.externalIps = {
      snat: [{ ip: "10.77.77.13", firstPort: 1025, lastPort: 4096 }, { ip: "2001:db8:77::13", firstPort: 4097, lastPort: 8192 }],
      ...(ephemeral ? { ephemeral: [v4[0], v6[0]] } : {}),
      floating: [...v4.slice(ephemeral ? 1 : 0), ...v6.slice(ephemeral ? 1 : 0)],
    };
    c.routes = [{ dest: "0.0.0.0/0", target: { type: "internetGateway" } }, { dest: "::/0", target: { type: "internetGateway" } }];
    c.firewall.push({ name: "tcp-in", direction: "in", priority: 10, action: "allow", protocols: ["tcp"] });
  });
  return { json, v4, v6 };
}

const synTo = (ext: string, sport: number) => fromBoundary(G1, ipFrame(G1.mac, TUNNEL_ENDPOINT_MAC, partnerOf(ext), ext, 6, tcp(partnerOf(ext), ext, sport, 80, TCP_FLAGS.SYN)));
const synAckFrom = (ext: string, dport: number) => ipFrame(GW_MAC, G1.mac, privateOf(ext), partnerOf(ext), 6, tcp(privateOf(ext), partnerOf(ext), 80, dport, TCP_FLAGS.SYN | TCP_FLAGS.ACK));
const synOut = (v6: boolean, sport: number, dst = v6 ? PARTNER6 : PARTNER4) => ipFrame(GW_MAC, G1.mac, v6 ? G1.ip6 : G1.ip4, dst, 6, tcp(v6 ? G1.ip6 : G1.ip4, dst, sport, 80, TCP_FLAGS.SYN));
const ackOut = (v6: boolean, sport: number) => ipFrame(GW_MAC, G1.mac, v6 ? G1.ip6 : G1.ip4, v6 ? PARTNER6 : PARTNER4, 6, tcp(v6 ? G1.ip6 : G1.ip4, v6 ? PARTNER6 : PARTNER4, sport, 80, TCP_FLAGS.ACK));

/** The port on a sled host with memory devices: frames in, what comes out, config changes as the API makes them. */
const hosts: SledHost[] = [];
afterEach(async () => { for (const h of hosts.splice(0)) await h.close(); });
async function onSled(json: PortJson) {
  const u = new MemoryUnderlay();
  const h = await SledHost.create({ name: "sled", underlay: u, underlayAddress: json.sled.underlay });
  hosts.push(h);
  const dev = new MemoryDevice("vnic-g1");
  await h.addPort(json, dev);
  const drops = () => h.stats(json.name).counters.drops as Record<string, number>;
  /** One frame through the port: what it emitted (on either side) and the drop reason it added, if any. */
  const run = (frame: Uint8Array, dir: Dir) => {
    const [s, d, before] = [u.sent.length, dev.delivered.length, { ...drops() }];
    if (dir === Dir.Out) dev.inject([frame]); else u.inject([frame]);
    h.flush();
    const after = drops();
    const dropped = Object.keys(after).find((k) => after[k] !== (before[k] ?? 0));
    return { out: [...u.sent.slice(s), ...dev.delivered.slice(d)][0], dropped };
  };
  return { h, run, setExternalIps: (ext: PortJson) => h.updatePort(json.name, (j) => { j.externalIps = ext; }) };
}

describe("external IPs", () => {
  it("external_ip_receive_and_reply_on_all: every ephemeral and floating address of both families takes a connection and answers from itself", async () => {
    const { json, v4, v6 } = multiExternal(8, true);
    const g1 = await portOf(json);
    [...v4, ...v6].forEach((ext, i) => {
      const syn = g1.send(synTo(ext, 44490 + i), Dir.In);
      expect([ext, syn.reason]).toEqual([ext, "pass"]);
      expect(view(syn.out).ip).toMatchObject({ src: partnerOf(ext), dst: privateOf(ext) });
      const reply = g1.send(synAckFrom(ext, 44490 + i), Dir.Out);
      expect([ext, view(reply.out).ip?.src]).toEqual([ext, ext]);
    });
  });

  it("external_ip_balanced_over_floating_ips: new flows spread over the floating IPs of each family, never the ephemeral or SNAT address", async () => {
    const { json, v4, v6 } = multiExternal(8, true);
    const g1 = await portOf(json);
    const seen = { v4: new Set<string>(), v6: new Set<string>() };
    for (let i = 0; i < 16; i++) {
      for (const six of [false, true]) {
        const r = g1.send(synOut(six, 44490 + i), Dir.Out);
        (six ? seen.v6 : seen.v4).add(view(r.out).ip!.src);
      }
    }
    expect(seen.v4.size).toBeGreaterThan(1);
    expect(seen.v6.size).toBeGreaterThan(1);
    expect([...seen.v4].every((ip) => v4.slice(1).includes(ip))).toBe(true);
    expect([...seen.v6].every((ip) => v6.slice(1).includes(ip))).toBe(true);
  });

  it("select_eip_conditioned_on_igw: a route's internet gateway picks which addresses may be the source; a gateway no address serves drops", async () => {
    // OPTE's uuids 1-5 as gateway ids: default, two custom ones, one without addresses, one all addresses serve
    const g1 = await portOf(guestJson(G1, G2, (c) => {
      c.externalIps = {
        snat: [{ ip: "10.77.77.13", firstPort: 1025, lastPort: 4096 }, { ip: "2001:db8:77::13", firstPort: 1025, lastPort: 4096 }],
        ephemeral: { ip: "192.168.0.1", igw: [1, 5] },
        floating: [{ ip: "192.168.0.2", igw: [2, 5] }, { ip: "192.168.0.3", igw: [2, 5] }, { ip: "192.168.0.4", igw: [3, 5] }],
      };
      c.routes = [
        { dest: "0.0.0.0/0", target: { type: "internetGateway", id: 1 } },
        { dest: "1.1.1.0/24", target: { type: "internetGateway", id: 2 } },
        { dest: "2.2.2.0/24", target: { type: "internetGateway", id: 3 } },
        { dest: "3.3.3.0/24", target: { type: "internetGateway", id: 4 } },
        { dest: "4.4.4.0/24", target: { type: "internetGateway", id: 5 } },
        // no id: gateway 0, which the addresses without a gateway set serve (here the IPv6 SNAT block)
        { dest: "::/0", target: { type: "internetGateway" } },
      ];
    }));
    const ping = (dst: string) => g1.send(ipFrame(GW_MAC, G1.mac, dst.includes(":") ? G1.ip6 : G1.ip4, dst, dst.includes(":") ? 58 : 1,
      icmpEcho(dst.includes(":") ? G1.ip6 : G1.ip4, dst, true, 7, 777)), Dir.Out);
    const src = (dst: string) => view(ping(dst).out).ip?.src;
    expect(src("77.77.77.77")).toBe("192.168.0.1");
    expect(["192.168.0.2", "192.168.0.3"]).toContain(src("1.1.1.1"));
    expect(src("2.2.2.1")).toBe("192.168.0.4");
    expect(ping("3.3.3.1")).toMatchObject({ reason: "Unroutable", layerName: "nat" });
    expect(["192.168.0.2", "192.168.0.3", "192.168.0.4"]).toContain(src("4.4.4.1"));
    expect(src("2606:4700::1111")).toBe("2001:db8:77::13");
  });

  it("external_ip_epoch_affinity_preserved: an inbound connection on the ephemeral IP keeps answering from it after another address is added", async () => {
    const { json, v4, v6 } = multiExternal(2, true);
    const g1 = await onSled(json);
    for (const ext of [v4[0], v6[0]]) expect(g1.run(synTo(ext, 44490), Dir.In).dropped).toBeUndefined();
    await g1.setExternalIps({ ...json.externalIps, floating: [...json.externalIps.floating, "10.60.1.10", "2001:db8::10"] });
    for (const ext of [v4[0], v6[0]]) {
      expect([ext, view(g1.run(synAckFrom(ext, 44490), Dir.Out).out).ip!.src]).toEqual([ext, ext]);
    }
  });

  it("adding addresses leaves outbound flows on theirs: a floating IP of a flow spread by hash, a SNAT address and port", async () => {
    const { json } = multiExternal(0, false);
    const g1 = await onSled(json);
    const snat = view(g1.run(synOut(false, 60000), Dir.Out).out);
    expect(snat.ip!.src).toBe("10.77.77.13");
    // an ephemeral and two floating IPs arrive: new flows spread over the floating ones
    const floating = ["10.60.1.2", "10.60.1.3"];
    await g1.setExternalIps({ ...json.externalIps, ephemeral: "10.60.1.1", floating });
    const sports = Array.from({ length: 12 }, (_, i) => 50000 + i);
    const before = sports.map((sp) => view(g1.run(synOut(false, sp), Dir.Out).out).ip!.src);
    expect(new Set(before)).toEqual(new Set(floating));
    // two more: the hash would now spread over four, yet every open flow keeps its address
    await g1.setExternalIps({ ...json.externalIps, ephemeral: "10.60.1.1", floating: [...floating, "10.60.1.10", "10.60.1.11"] });
    expect(sports.map((sp) => view(g1.run(ackOut(false, sp), Dir.Out).out).ip!.src)).toEqual(before);
    // the SNAT connection keeps its address and port, though a floating IP would be chosen for it now
    expect(view(g1.run(ackOut(false, 60000), Dir.Out).out)).toMatchObject({ ip: { src: "10.77.77.13" }, l4: { sport: snat.l4!.sport } });
    expect([...floating, "10.60.1.10", "10.60.1.11"]).toContain(view(g1.run(synOut(false, 61000), Dir.Out).out).ip!.src);
  });

  it("external_ip_reconfigurable: taken away, an address admits nothing and its flows leave from another; new addresses work", async () => {
    const { json, v4, v6 } = multiExternal(1, true);
    const g1 = await onSled(json);
    const old = [v4[0], v6[0]];
    for (const ext of old) expect(g1.run(synTo(ext, 44490), Dir.In).dropped).toBeUndefined();
    // an outbound connection from each old address too
    const outFrom = old.map((ext, i) => view(g1.run(synOut(ext.includes(":"), 52000 + i), Dir.Out).out).ip!.src);
    expect(outFrom).toEqual(old);
    const fresh = ["10.60.1.2", "2001:db8::2"];
    await g1.setExternalIps({ snat: json.externalIps.snat, floating: fresh });
    for (const [i, ext] of old.entries()) {
      // nothing comes in on the old address, for the open flow or a new one
      expect(g1.run(synTo(ext, 44490), Dir.In).dropped).toBe("NotForPort");
      expect(g1.run(synTo(ext, 45000), Dir.In).dropped).toBe("NotForPort");
      // the open flows' next packets leave from a current address, never the old one or the private one
      const reply = view(g1.run(synAckFrom(ext, 44490), Dir.Out).out).ip!.src;
      const again = view(g1.run(ackOut(ext.includes(":"), 52000 + i), Dir.Out).out).ip!.src;
      expect([reply, again]).toEqual([fresh[i], fresh[i]]);
    }
    // the new addresses take connections
    for (const ext of fresh) {
      const r = g1.run(synTo(ext, 46000), Dir.In);
      expect([r.dropped, view(r.out).ip?.dst]).toEqual([undefined, privateOf(ext)]);
    }
  });

  it("removing the last 1:1 address sends its flows through SNAT, and a removed SNAT block's flows through what is left", async () => {
    const { json, v4 } = multiExternal(1, false);
    const g1 = await onSled(json);
    expect(view(g1.run(synOut(false, 53000), Dir.Out).out).ip!.src).toBe(v4[0]);
    await g1.setExternalIps({ snat: json.externalIps.snat, floating: ["2001:db8::1"] });
    const viaSnat = view(g1.run(ackOut(false, 53000), Dir.Out).out);
    expect(viaSnat).toMatchObject({ ip: { src: "10.77.77.13" }, l4: { sport: 1025 } });
    expect(g1.h.stats("g1").nat.find((p) => p.ip === "10.77.77.13")?.inUse).toBe(1);
    // the SNAT block goes, a floating IP comes: the flow moves to it and its port is given back
    await g1.setExternalIps({ floating: ["10.60.1.9", "2001:db8::1"] });
    expect(view(g1.run(ackOut(false, 53000), Dir.Out).out).ip!.src).toBe("10.60.1.9");
    expect(g1.run(synTo("10.77.77.13", 1025), Dir.In).dropped).toBe("NotForPort");
  });
});
