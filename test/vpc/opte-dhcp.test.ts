// The gateway's DHCP servers as OPTE's tests check them: the DHCPv6 exchange
// of its integration test test_reply_to_dhcpv6_solicit_or_request, and the
// DHCPv4 options its unit tests encode (lib/opte/src/engine/dhcp.rs: host
// name, domain name, classless static routes, the domain search list split
// over two options; dhcpv6/options.rs: the domain search list; dns.rs: DNS
// names). Here every option comes from a VPC port's config through the rule
// compiler and the engine, and the bytes asserted are OPTE's test vectors.
import { describe, it, expect } from "vitest";
import { Dir } from "../../hosts/engine/batch.js";
import { eth, ipv4, ipv6, udp, csum } from "../helpers/frames.js";
import { macBytes, ipText } from "../../layers/program/addr.js";
import { linkLocalFromMac } from "../../layers/vpc/addresses.js";
import { encodeDnsName, dnsNameProblem } from "../../layers/program/dns-name.js";
import { parsePortConfig } from "../../layers/vpc/config.js";
import { LayerDef, encodeLayer } from "../../layers/program/encode.js";
import { HairpinKind } from "../../layers/program/hairpin-params.js";
import { EngineError } from "../../hosts/engine/engine.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { G1, G2, GW_MAC, guestJson, portOf, PortJson } from "../helpers/opte-guests.js";

/** OPTE's base_dhcp_config (lib/opte-test-utils). */
function baseDhcp(c: PortJson): void {
  c.dhcp = {
    hostname: "testbox", domainName: "test.oxide.computer", domainSearch: ["oxide.computer"],
    dnsServers: ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "2001:4860:4860::8844"],
    leaseSeconds: 0xffffffff, mtu: 1500,
  };
}

const bytes = (s: string) => [...Buffer.from(s, "latin1")];
const cat = (...p: (Uint8Array | number[])[]) => Uint8Array.from(p.flatMap((x) => [...x]));
const be16 = (n: number) => [n >> 8, n & 0xff];
const be32 = (n: number) => [n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

// ---- DHCPv4

/** A BOOTREQUEST from the guest (no address yet) with DHCP options. */
function dhcp4Request(mac: string, type: number, extra: number[] = []): Uint8Array {
  const bootp = new Uint8Array(240);
  bootp.set([1, 1, 6, 0], 0);
  bootp.set(be32(0x5eed1234), 4);
  bootp.set(macBytes(mac), 28);
  bootp.set([0x63, 0x82, 0x53, 0x63], 236);
  const msg = cat(bootp, [53, 1, type], extra, [255]);
  return eth("ff:ff:ff:ff:ff:ff", mac, 0x0800, ipv4("0.0.0.0", "255.255.255.255", 17, udp("0.0.0.0", "255.255.255.255", 68, 67, msg)));
}

/** The options of a DHCPv4 reply frame, in order, as [code, data]. */
function dhcp4Options(frame: Uint8Array): [number, number[]][] {
  const ihl = (frame[14] & 15) * 4;
  const d = frame.subarray(14 + ihl + 8);
  expect([...d.subarray(236, 240)]).toEqual([0x63, 0x82, 0x53, 0x63]);
  const out: [number, number[]][] = [];
  for (let o = 240; o < d.length && d[o] !== 255;) {
    if (d[o] === 0) { o++; continue; }
    out.push([d[o], [...d.subarray(o + 2, o + 2 + d[o + 1])]]);
    o += 2 + d[o + 1];
  }
  return out;
}
/** The wire bytes of the options with `code`, each as code | length | data (how OPTE's vectors are written). */
const wire = (opts: [number, number[]][], code: number) => opts.filter(([c]) => c === code).flatMap(([c, d]) => [c, d.length, ...d]);

/** A lease offered to a port of `edit`'s config: the OFFER's options. */
async function offer(edit: (c: PortJson) => void, who = G1): Promise<[number, number[]][]> {
  const p = await portOf(guestJson(who, G2, edit));
  const r = p.send(dhcp4Request(who.mac, 1), Dir.Out);
  expect([r.reason, r.layerName]).toEqual(["hairpin", "gateway"]);
  const ip = r.out.subarray(14, 34);
  expect(csum(ip)).toBe(0);
  return dhcp4Options(r.out);
}

/** A port on OPTE's subnet of its route tests: the gateway `gw` on a /`len`, the guest at `guest`. */
function onSubnet(subnet: string, gw: string, guest: string, routes: { dest: string; via: string }[]) {
  return (c: PortJson) => {
    c.subnet.ipv4 = subnet; c.gateway.ipv4 = gw; c.guest.ipv4 = guest;
    c.dhcp.staticRoutes = routes;
  };
}

describe("DHCPv4 options (OPTE's lib/opte/src/engine/dhcp.rs)", () => {
  it("hostname_encode: option 12 carries the port's host name", async () => {
    const opts = await offer((c) => { baseDhcp(c); c.dhcp.hostname = "myhost"; });
    expect(wire(opts, 12)).toEqual([12, 6, 109, 121, 104, 111, 115, 116]);
  });

  it("domainname_encode: option 15 carries the port's domain", async () => {
    const opts = await offer((c) => { baseDhcp(c); c.dhcp.domainName = "myhost.oxide.computer"; });
    expect(wire(opts, 15)).toEqual([15, 21, 109, 121, 104, 111, 115, 116, 46, 111, 120, 105, 100, 101, 46, 99, 111, 109, 112, 117, 116, 101, 114]);
  });

  it("offlink_encode: a /32 on the link, then the default route via the gateway, in option 121 beside option 3", async () => {
    const opts = await offer(onSubnet("172.30.4.0/22", "172.30.4.1", "172.30.7.77", [{ dest: "172.30.7.77/32", via: "0.0.0.0" }]),
      { ...G1, ip4: "172.30.7.77" });
    expect(wire(opts, 121)).toEqual([121, 14, 32, 172, 30, 7, 77, 0, 0, 0, 0, 0, 172, 30, 4, 1]);
    expect(wire(opts, 3)).toEqual([3, 4, 172, 30, 4, 1]);
  });

  it("rfc3442_encode: each route takes its prefix's significant octets (RFC 3442 §3); the default route ends the option", async () => {
    const via = "10.0.0.1", gw = [10, 0, 0, 1];
    const p = (dest: string) => ({ dest, via });
    const p1 = p("0.0.0.0/0"), p2 = p("10.0.0.0/8"), p3 = p("10.0.0.0/24"), p4 = p("10.17.0.0/16"), p5 = p("10.27.129.0/24");
    const p6 = p("10.229.0.128/25"), p7 = p("10.198.122.47/32"), p8 = p("10.16.0.0/15");
    const ask = (routes: { dest: string; via: string }[]) => offer(onSubnet("10.0.0.0/24", via, "10.0.0.5", routes), { ...G1, ip4: "10.0.0.5" }).then((o) => wire(o, 121));
    // OPTE's vectors where they give the default route (p1) themselves …
    expect(await ask([])).toEqual([121, 5, 0, 10, 0, 0, 1]);
    expect(await ask([p1, p2])).toEqual([121, 11, 0, 10, 0, 0, 1, 8, 10, 10, 0, 0, 1]);
    expect(await ask([p1, p2, p3])).toEqual([121, 19, 0, 10, 0, 0, 1, 8, 10, 10, 0, 0, 1, 24, 10, 0, 0, 10, 0, 0, 1]);
    // … and, where they do not, followed by the default route wopte always ends with.
    const withDefault = (v: number[]) => [121, v[1] + 5, ...v.slice(2), 0, ...gw];
    expect(await ask([p4])).toEqual(withDefault([121, 7, 16, 10, 17, 10, 0, 0, 1]));
    expect(await ask([p4, p5])).toEqual(withDefault([121, 15, 16, 10, 17, 10, 0, 0, 1, 24, 10, 27, 129, 10, 0, 0, 1]));
    expect(await ask([p4, p5, p6])).toEqual(withDefault([121, 24, 16, 10, 17, 10, 0, 0, 1, 24, 10, 27, 129, 10, 0, 0, 1, 25, 10, 229, 0, 128, 10, 0, 0, 1]));
    expect(await ask([p6, p7])).toEqual(withDefault([121, 18, 25, 10, 229, 0, 128, 10, 0, 0, 1, 32, 10, 198, 122, 47, 10, 0, 0, 1]));
    expect(await ask([p6, p7, p8])).toEqual(withDefault([121, 25, 25, 10, 229, 0, 128, 10, 0, 0, 1, 32, 10, 198, 122, 47, 10, 0, 0, 1, 15, 10, 16, 10, 0, 0, 1]));
  });

  it("domain_search_option_encode: a search list over 255 bytes is split into two options 119 (RFC 3396), uncompressed", async () => {
    const long = "something.that.is.very.long.so.we.need.to.split.the.option";
    const names = ["foo.bar.com", long, long, long, long, long, "oxide.computer"];
    const opts = await offer((c) => { baseDhcp(c); c.dhcp.domainSearch = names; });
    const pieces = opts.filter(([c]) => c === 119).map(([, d]) => d);
    const all = names.flatMap((n) => [...encodeDnsName(n)]);
    expect(pieces.map((d) => d.length)).toEqual([255, all.length - 255]);
    expect(pieces.flat()).toEqual(all);
  });

  it("an OFFER with OPTE's base config: router, mask, DNS, lease, host name, domain, search list and routes", async () => {
    const opts = await offer(baseDhcp);
    const m = new Map(opts.map(([c, d]) => [c, d]));
    expect(m.get(53)).toEqual([2]);
    expect(m.get(3)).toEqual([172, 30, 0, 1]);
    expect(m.get(1)).toEqual([255, 255, 252, 0]);
    expect(m.get(6)).toEqual([8, 8, 8, 8, 1, 1, 1, 1]);
    expect(m.get(51)).toEqual([255, 255, 255, 255]);
    expect(m.get(12)).toEqual(bytes("testbox"));
    expect(m.get(15)).toEqual(bytes("test.oxide.computer"));
    expect(m.get(119)).toEqual([...encodeDnsName("oxide.computer")]);
    expect(m.get(121)).toEqual([0, 172, 30, 0, 1]);
  });
});

// ---- DHCPv6

const ALL_SERVERS = "ff02::1:2", ALL_SERVERS_MAC = "33:33:00:01:00:02";
const opt6 = (code: number, data: number[] | Uint8Array) => [...be16(code), ...be16(data.length), ...data];
const duidLl = (mac: string) => [0, 3, 0, 1, ...macBytes(mac)];
const INFINITE = 0xffffffff;

/** A client message (OPTE's packet_from_client_dhcpv6_message): link-local source, to All_DHCP_Relay_Agents_and_Servers. */
function dhcp6Message(type: number, xid: number[], options: number[]): Uint8Array {
  const src = linkLocalFromMac(G1.mac);
  return eth(ALL_SERVERS_MAC, G1.mac, 0x86dd, ipv6(src, ALL_SERVERS, 17, udp(src, ALL_SERVERS, 546, 547, Uint8Array.from([type, ...xid, ...options])), 1));
}

interface Reply6 { ethDst: string; src: string; dst: string; sport: number; dport: number; checksum: number; checksumOk: boolean; type: number; xid: number[]; options: Map<number, number[]> }

function reply6(frame: Uint8Array): Reply6 {
  const ip = frame.subarray(14), u = ip.subarray(40), len = (u[4] << 8) | u[5];
  const pseudo = cat(ip.subarray(8, 40), [0, 0, ...be16(len), 0, 0, 0, 17]);
  const msg = u.subarray(8, len);
  const options = new Map<number, number[]>();
  for (let o = 4; o + 4 <= msg.length;) {
    const code = (msg[o] << 8) | msg[o + 1], l = (msg[o + 2] << 8) | msg[o + 3];
    if (!options.has(code)) options.set(code, [...msg.subarray(o + 4, o + 4 + l)]);
    o += 4 + l;
  }
  return {
    ethDst: [...frame.subarray(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join(":"),
    src: ipText(ip.slice(8, 24)), dst: ipText(ip.slice(24, 40)), sport: (u[0] << 8) | u[1], dport: (u[2] << 8) | u[3],
    checksum: (u[6] << 8) | u[7], checksumOk: csum(cat(pseudo, u.subarray(0, len))) === 0,
    type: msg[0], xid: [...msg.subarray(1, 4)], options,
  };
}

const SOLICIT = 1, ADVERTISE = 2, REQUEST = 3, REPLY = 7;

describe("DHCPv6 (OPTE's integration test)", () => {
  it("test_reply_to_dhcpv6_solicit_or_request: Solicit gets Advertise, or Reply with Rapid Commit; Request gets Reply; each with the lease, the search list and the FQDN", async () => {
    const g1 = await portOf(guestJson(G1, G2, baseDhcp));
    const iana = opt6(3, [0, 0, 0x0f, 0xf7, ...be32(3600), ...be32(6200)]);
    const oro = opt6(6, [...be16(23), ...be16(24), ...be16(39)]);
    const base = [...opt6(1, duidLl(G1.mac)), ...opt6(8, be16(10)), ...iana, ...oro];
    for (const type of [SOLICIT, REQUEST]) {
      for (const rapid of [false, true]) {
        const options = [...base, ...(rapid ? opt6(14, []) : []), ...(type === REQUEST ? opt6(2, duidLl(GW_MAC)) : [])];
        const r = g1.send(dhcp6Message(type, [0, 1, 2], options), Dir.Out);
        expect([r.reason, r.layerName]).toEqual(["hairpin", "gateway"]);
        const rep = reply6(r.out);
        // verify_dhcpv6_essentials
        expect(rep).toMatchObject({ ethDst: G1.mac, src: linkLocalFromMac(GW_MAC), dst: linkLocalFromMac(G1.mac), sport: 547, dport: 546, xid: [0, 1, 2], checksumOk: true });
        expect(rep.checksum).not.toBe(0);
        expect(rep.options.get(2)).toEqual(duidLl(GW_MAC));
        expect(rep.options.get(1)).toEqual(duidLl(G1.mac));
        expect(rep.options.get(39)?.slice(1)).toEqual(bytes("\x07testbox\x04test\x05oxide\x08computer\x00"));
        // the message type, and Rapid Commit echoed for a Solicit that carried it
        expect(rep.type).toBe(rapid || type === REQUEST ? REPLY : ADVERTISE);
        if (rapid && type === SOLICIT) expect(rep.options.get(14)).toEqual([]);
        // the lease: the client's IAID, infinite T1/T2, one address with infinite lifetimes
        const ia = rep.options.get(3)!;
        expect(ia.slice(0, 12)).toEqual([0, 0, 0x0f, 0xf7, ...be32(INFINITE), ...be32(INFINITE)]);
        expect(ia.slice(12, 16)).toEqual([0, 5, 0, 24]);
        expect(ipText(Uint8Array.from(ia.slice(16, 32)))).toBe(G1.ip6);
        expect(ia.slice(32, 40)).toEqual([...be32(INFINITE), ...be32(INFINITE)]);
        expect(ia.length).toBe(40);
        // the search list, each name encoded whole
        expect(rep.options.get(24)).toEqual([...encodeDnsName("oxide.computer")]);
      }
    }
  });

  it("test_domain_list_from_slice: option 24 is the names' encodings back to back", async () => {
    const names = ["foo.bar.com", "something", "another.fqdn."];
    const g1 = await portOf(guestJson(G1, G2, (c) => { baseDhcp(c); c.dhcp.domainSearch = names; }));
    const r = g1.send(dhcp6Message(SOLICIT, [9, 9, 9], [...opt6(1, duidLl(G1.mac)), ...opt6(8, be16(0)), ...opt6(6, be16(24))]), Dir.Out);
    const got = reply6(r.out).options.get(24)!;
    const want = names.flatMap((n) => [...encodeDnsName(n)]);
    expect(got).toEqual(want);
    expect(got.length).toBe(13 + 11 + 14);
  });

  it("sends the search list and the FQDN only when asked for (Option Request or the option itself); the FQDN says the server makes no DNS updates", async () => {
    const g1 = await portOf(guestJson(G1, G2, baseDhcp));
    const ask = (more: number[]) => reply6(g1.send(dhcp6Message(SOLICIT, [1, 1, 1], [...opt6(1, duidLl(G1.mac)), ...more]), Dir.Out).out).options;
    const none = ask([]);
    expect([none.has(24), none.has(39), none.has(23)]).toEqual([false, false, true]);
    const hinted = ask(opt6(39, [0x01, 0]));       // the client asks the server to update AAAA (S)
    expect(hinted.get(39)?.[0]).toBe(0x04 | 0x02); // N: no updates, O: its wish overridden
    expect(ask(opt6(6, be16(39))).get(39)?.[0]).toBe(0x04);
  });
});

describe("DNS names (OPTE's crates/opte-api/src/dns.rs)", () => {
  it("test_domain_name: names encode as RFC 1035 labels; malformed ones are refused by the config", () => {
    expect([...encodeDnsName("foo.bar.com")]).toEqual(bytes("\x03foo\x03bar\x03com\x00"));
    expect([...encodeDnsName("foo.bar.com.")]).toEqual(bytes("\x03foo\x03bar\x03com\x00"));
    for (const bad of ["a".repeat(256), ".foo.bar", "foo..bar", "", "a".repeat(64) + ".com", "bad name.com", "-x.com"]) {
      expect(dnsNameProblem(bad), bad).toBeDefined();
      expect(() => parsePortConfig(guestJson(G1, G2, (c) => { baseDhcp(c); c.dhcp.domainSearch = [bad]; }))).toThrow(/dhcp\.domainSearch\.0/);
    }
    expect(() => parsePortConfig(guestJson(G1, G2, (c) => { baseDhcp(c); c.dhcp.hostname = "two.labels"; }))).toThrow(/dhcp\.hostname/);
  });
});


describe("rule programs before version 4", () => {
  /** The gateway layer as a version-3 compiler wrote it: DHCP params without the extension or its flag. */
  function asVersion3(def: LayerDef, stripExtension: boolean): Uint8Array {
    const strip = (kind: number, p: Uint8Array) => {
      if (kind === HairpinKind.Dhcp4) { const q = p.slice(0, 28 + 4 * p[25] + p[26]); q[27] = 0; return q; }
      if (kind === HairpinKind.Dhcp6) { const q = p.slice(0, 32 + 16 * p[6]); q[7] = 0; return q; }
      return p;
    };
    const rules = def.rules.map((r) => r.action.kind === "hairpin" && stripExtension
      ? { ...r, action: { ...r.action, params: strip(r.action.hairpin, r.action.params) } } : r);
    const b = encodeLayer({ ...def, rules });
    new DataView(b.buffer).setUint16(4, 3, true);
    return b;
  }
  const refusal = (f: () => void) => { try { f(); return "loaded"; } catch (e) { return reasonName((e as EngineError).reason); } };

  it("a version-3 gateway layer still loads and leases as before; one that sets the version-4 DHCP flag is refused (BadVersion)", async () => {
    const json = guestJson(G1, G2, baseDhcp);
    const p = await portOf(json);
    const def = p.compiled.layers.find((l) => l.name === "gateway")!;
    expect(refusal(() => p.e.replaceLayer(0, asVersion3(def, false)))).toBe("BadVersion");
    // refused whole: the port still hands out the version-4 options
    const discover = dhcp4Request(G1.mac, 1);
    expect(dhcp4Options(p.send(discover, Dir.Out).out).map(([c]) => c)).toEqual(expect.arrayContaining([12, 119, 121]));
    expect(refusal(() => p.e.replaceLayer(0, asVersion3(def, true)))).toBe("loaded");
    const old = dhcp4Options(p.send(discover, Dir.Out).out).map(([c]) => c);
    expect(old).toEqual([53, 54, 51, 1, 3, 6, 26, 15]);
    const r6 = reply6(p.send(dhcp6Message(SOLICIT, [4, 4, 4], [...opt6(1, duidLl(G1.mac)), ...opt6(6, [0, 24, 0, 39])]), Dir.Out).out);
    expect([...r6.options.keys()]).toEqual([2, 1, 23]);
  });
});
