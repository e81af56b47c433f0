// Hairpin generators against hostile input: requests and params blocks come
// from guests and from rule programs loaded at run time, so any bytes must
// give either a reply or a negative reason, never a trap. Truncated requests
// and short params blocks must be rejected, not half-answered.

import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import { instantiateEngine, EngineExports, hex } from "../helpers/engine-testing.js";
import {
  HairpinKind, encodeArpParams, encodeIcmp4EchoParams, encodeIcmp6EchoParams, encodeNdpNeighborAdvertParams,
  encodeNdpRouterAdvertParams, encodeDhcp4Params, encodeDhcp6Params, encodeIcmp4ErrorParams, encodeIcmp6ErrorParams,
} from "../../layers/program/hairpin-params.js";

let x: EngineExports;
beforeAll(async () => { x = await instantiateEngine("build/engine-testing.wasm"); });

const GW_MAC = "a8:40:25:ff:77:77";
const NONE = 0xffffffff;

function load(req: Uint8Array, params: Uint8Array) {
  const mem = new Uint8Array(x.memory.buffer);
  mem.fill(0, x.hairpinReqPtr() >>> 0, (x.hairpinReqPtr() >>> 0) + 2048);
  mem.set(req, x.hairpinReqPtr() >>> 0);
  mem.set(params, x.hairpinParamsPtr() >>> 0);
}
function run(kind: number, req: Uint8Array, params: Uint8Array): number {
  load(req, params);
  return x.hairpinAt(kind, req.length, params.length, 16384) | 0;
}

// Requests built with scapy (see hairpin.test.ts for the expressions), one per kind.
const REQUESTS: Record<string, string> = {
  // Ether(dst='ff:ff:ff:ff:ff:ff',src=G)/ARP(op=1,hwsrc=G,psrc='10.0.0.5',hwdst='00:00:00:00:00:00',pdst='10.0.0.1')
  ArpReply: "ffffffffffffa8402500000508060001080006040001a840250000050a0000050000000000000a000001",
  // Ether(dst=GW,src=G)/IP(src='10.0.0.5',dst='10.0.0.1',ttl=64,id=0x1234,flags='DF')/ICMP(type=8,id=0x42,seq=7)/b'wopte-ping-payload'
  Icmp4EchoReply: "a84025ff7777a8402500000508004500002e12344000400114960a0000050a00000108006f1700420007776f7074652d70696e672d7061796c6f6164",
  // Ether(dst=GW,src=G)/IPv6(src=GLL,dst=GWLL,hlim=64)/ICMPv6EchoRequest(id=0x42,seq=7,data=b'wopte-ping6')
  Icmp6EchoReply: "a84025ff7777a8402500000586dd6000000000133a40fe80000000000000aa4025fffe000005fe80000000000000aa4025fffeff777780000b8800420007776f7074652d70696e6736",
  // Ether(dst='33:33:ff:00:00:01',src=G)/IPv6(src='fd00::5',dst='ff02::1:ff00:1',hlim=255)/ICMPv6ND_NS(tgt='fd00::1')/ICMPv6NDOptSrcLLAddr(lladdr=G)
  NdpNeighborAdvert: "3333ff000001a8402500000586dd6000000000203afffd000000000000000000000000000005ff0200000000000000000001ff0000018700b25000000000fd0000000000000000000000000000010101a84025000005",
  // Ether(dst='33:33:00:00:00:02',src=G)/IPv6(src=GLL,dst='ff02::2',hlim=255)/ICMPv6ND_RS()/ICMPv6NDOptSrcLLAddr(lladdr=G)
  NdpRouterAdvert: "333300000002a8402500000586dd6000000000103afffe80000000000000aa4025fffe000005ff0200000000000000000000000000028500e0a2000000000101a84025000005",
  // dh([('message-type','request'),('requested_addr','10.0.0.5'),('server_id','10.0.0.1'),'end'])
  Dhcp4: "ffffffffffffa8402500000508004500011c00010000401179d100000000ffffffff004400430108c20201010600123456780000000000000000000000000000000000000000a84025000005000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006382536335010332040a00000536040a000001ff",
  // d6(DHCP6_Solicit(trid=0xabcdef), DHCP6OptElapsedTime(), cid, DHCP6OptIA_NA(iaid=0x0c0ffee0), DHCP6OptOptReq(reqopts=[23,24]))
  Dhcp6: "333300010002a8402500000586dd60000000003c1101fe80000000000000aa4025fffe000005ff02000000000000000000000001000202220223003c32dd01abcdef0008000200000001000e000100012a2a2a2aa840250000050003000c0c0ffee000000000000000000006000400170018",
  // Ether(dst=GW,src=G)/IP(src='10.0.0.5',dst='192.0.2.10',ttl=1)/ICMP(type=8,id=1,seq=1)/b'abc'
  Icmp4Error: "a84025ff7777a8402500000508004500001f000100000101edce0a000005c000020a0800339b00010001616263",
  // Ether(dst=GW,src=G)/IPv6(src='fd00::5',dst='2001:db8::10',hlim=1)/TCP(sport=40000,dport=443,flags='S')
  Icmp6Error: "a84025ff7777a8402500000586dd6000000000140601fd00000000000000000000000000000520010db80000000000000000000000109c4001bb000000000000000050022000c7180000",
};

const PARAMS: Record<string, Uint8Array> = {
  ArpReply: encodeArpParams({ gatewayMac: GW_MAC, gatewayIp: "10.0.0.1" }),
  Icmp4EchoReply: encodeIcmp4EchoParams({ gatewayMac: GW_MAC, gatewayIp: "10.0.0.1" }),
  Icmp6EchoReply: encodeIcmp6EchoParams({ gatewayMac: GW_MAC, gatewayIp: "fd00::1" }),
  NdpNeighborAdvert: encodeNdpNeighborAdvertParams({ gatewayMac: GW_MAC, gatewayIp: "fd00::1" }),
  NdpRouterAdvert: encodeNdpRouterAdvertParams({ gatewayMac: GW_MAC, mtu: 1500, prefixes: [{ prefix: "fd00::", prefixLen: 64 }] }),
  Dhcp4: encodeDhcp4Params({
    gatewayMac: GW_MAC, serverIp: "10.0.0.1", clientIp: "10.0.0.5", prefixLen: 24, router: "10.0.0.1",
    dnsServers: ["8.8.8.8"], leaseSeconds: 86400, mtu: 1500, domainName: "vpc.internal",
    hostName: "web", searchList: ["vpc.internal", "example.com"], classlessRoutes: [{ dest: "10.1.0.0/16", router: "10.0.0.1" }, { dest: "0.0.0.0/0", router: "10.0.0.1" }],
  }),
  Dhcp6: encodeDhcp6Params({
    gatewayMac: GW_MAC, address: "fd00::5", preferredLifetime: 3600, validLifetime: 7200, dnsServers: ["fd00::53"],
    fqdn: "web.vpc.internal", searchList: ["vpc.internal"],
  }),
  Icmp4Error: encodeIcmp4ErrorParams({ gatewayMac: GW_MAC, gatewayIp: "10.0.0.1", type: 11, code: 0 }),
  Icmp6Error: encodeIcmp6ErrorParams({ gatewayMac: GW_MAC, gatewayIp: "fd00::1", type: 3, code: 0 }),
};
const KINDS = Object.keys(REQUESTS) as (keyof typeof HairpinKind)[];

describe("every kind answers its scapy request", () => {
  for (const k of KINDS) {
    it(k, () => expect(run(HairpinKind[k], hex(REQUESTS[k]), PARAMS[k])).toBeGreaterThan(0));
  }
});

describe("truncated requests are rejected", () => {
  for (const k of KINDS) {
    it(k, () => {
      const full = hex(REQUESTS[k]);
      for (let len = 0; len < full.length; len++) {
        expect(run(HairpinKind[k], full.slice(0, len), PARAMS[k]), `${k} with ${len} of ${full.length} bytes`).toBeLessThan(0);
      }
    });
  }
});

describe("short params blocks are rejected", () => {
  for (const k of KINDS) {
    it(k, () => {
      const full = PARAMS[k];
      for (let len = 0; len < full.length; len++) {
        expect(run(HairpinKind[k], hex(REQUESTS[k]), full.slice(0, len)), `${k} with ${len}-byte params`).toBeLessThan(0);
      }
    });
  }
  it("out-of-range counts and values are rejected", () => {
    const ra = PARAMS.NdpRouterAdvert.slice(); ra[14] = 5;             // five prefixes
    expect(run(HairpinKind.NdpRouterAdvert, hex(REQUESTS.NdpRouterAdvert), ra)).toBeLessThan(0);
    const d4 = PARAMS.Dhcp4.slice(); d4[25] = 9;                          // nine DNS servers
    expect(run(HairpinKind.Dhcp4, hex(REQUESTS.Dhcp4), d4)).toBeLessThan(0);
    const d4b = PARAMS.Dhcp4.slice(); d4b[24] = 33;                       // /33
    expect(run(HairpinKind.Dhcp4, hex(REQUESTS.Dhcp4), d4b)).toBeLessThan(0);
    // the DHCPv4 extension: host name | routes | search list, after the 12-byte domain
    const ext4 = 28 + 4 + 12;
    const bad4 = (f: (p: Uint8Array) => void) => { const p = PARAMS.Dhcp4.slice(); f(p); return run(HairpinKind.Dhcp4, hex(REQUESTS.Dhcp4), p); };
    expect(bad4(() => {})).toBeGreaterThan(0);
    expect(bad4((p) => { p[ext4 + 2] = 0x20; })).toBeLessThan(0);                     // a space in the host name
    expect(bad4((p) => { p[ext4 + 4] = 17; })).toBeLessThan(0);                       // seventeen routes
    expect(bad4((p) => { p[ext4 + 5] = 33; })).toBeLessThan(0);                       // a /33 route
    expect(bad4((p) => { p[ext4 + 8] = 1; })).toBeLessThan(0);                        // 10.1.1.0/16: bits past the prefix
    const search4 = ext4 + 5 + 18 + 2;
    expect(bad4((p) => { p[search4] = 0xc0; })).toBeLessThan(0);                      // a compression pointer
    expect(bad4((p) => { p[search4] = 64; })).toBeLessThan(0);                        // a 64-byte label
    expect(bad4((p) => { p[p.length - 1] = 1; })).toBeLessThan(0);                    // no root label at the end
    const bad6 = (f: (p: Uint8Array) => void) => { const p = PARAMS.Dhcp6.slice(); f(p); return run(HairpinKind.Dhcp6, hex(REQUESTS.Dhcp6), p); };
    expect(bad6(() => {})).toBeGreaterThan(0);
    expect(bad6((p) => { p[32 + 16] = 5; })).toBeLessThan(0);                         // an FQDN length that ends mid-name
    expect(bad6((p) => { p[32 + 16 + 1] = 0xc0; })).toBeLessThan(0);                 // a compression pointer in the FQDN
    const e4 = PARAMS.Icmp4Error.slice(); e4[6] = 0;                      // echo reply is no error
    expect(run(HairpinKind.Icmp4Error, hex(REQUESTS.Icmp4Error), e4)).toBeLessThan(0);
    expect(run(99, hex(REQUESTS.ArpReply), PARAMS.ArpReply)).toBeLessThan(0);
  });
});

describe("random bytes never trap", () => {
  const kind = fc.integer({ min: 0, max: 10 });
  it("random requests with valid params", () => {
    fc.assert(fc.property(kind, fc.uint8Array({ maxLength: 700 }), (k, req) => {
      const params = PARAMS[KINDS[(k + 8) % 9]];
      const n = run(k, req, params);
      expect(Number.isInteger(n)).toBe(true);
      expect(n).toBeLessThanOrEqual(16384);
    }), { numRuns: 3000 });
  });
  it("scapy requests with random bytes flipped, random params", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 8 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      fc.uint8Array({ maxLength: 200 }), fc.boolean(), (i, flips, rnd, keepParams) => {
        const k = KINDS[i];
        const req = hex(REQUESTS[k]);
        for (const [at, v] of flips) req[at % req.length] = v;
        const params = keepParams ? PARAMS[k] : rnd;
        expect(Number.isInteger(run(HairpinKind[k], req, params))).toBe(true);
      }), { numRuns: 3000 });
  });
  it("metas whose offsets disagree with the bytes", () => {
    const off = fc.oneof(fc.constant(NONE), fc.integer({ min: 0, max: 800 }), fc.constant(0xfffffff0));
    fc.assert(fc.property(fc.integer({ min: 1, max: 9 }), fc.uint8Array({ maxLength: 600 }), off, off, off,
      fc.constantFrom(0, 1, 4, 6), fc.constantFrom(1, 6, 17, 58), fc.constantFrom(NONE, 5),
      (k, req, l2, l3, l4, l3Kind, proto, vlan) => {
        load(req, PARAMS[KINDS[k - 1]]);
        const n = x.hairpinRawAt(k, req.length, PARAMS[KINDS[k - 1]].length, l2, l3, l3Kind, l4, proto, vlan) | 0;
        expect(Number.isInteger(n)).toBe(true);
      }), { numRuns: 5000 });
  });
});
