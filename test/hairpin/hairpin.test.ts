// Hairpin replies, told as the guest sees them: it ARPs for its gateway,
// pings it, solicits neighbours and routers, runs DHCPv4 and DHCPv6, and
// gets ICMP errors for packets the gateway will not forward. Every request
// was built independently with scapy; each reply is compared byte for byte
// with a scapy-built expected frame, or decoded by tshark with checksum
// verification on and checked field by field.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireOrSkip } from "../helpers/tools.js";
import { instantiateEngine, EngineExports, Reason, hex, toHex } from "../helpers/engine-testing.js";
import {
  HairpinKind, encodeArpParams, encodeIcmp4EchoParams, encodeIcmp6EchoParams, encodeNdpNeighborAdvertParams,
  encodeNdpRouterAdvertParams, encodeDhcp4Params, encodeDhcp6Params, encodeIcmp4ErrorParams, encodeIcmp6ErrorParams,
} from "../../layers/program/hairpin-params.js";

const GW_MAC = "a8:40:25:ff:77:77";
const GUEST_MAC = "a8:40:25:00:00:05";
const GW_LL = "fe80::aa40:25ff:feff:7777";
const GUEST_LL = "fe80::aa40:25ff:fe00:5";

let x: EngineExports;
beforeAll(async () => { x = await instantiateEngine("build/engine-testing.wasm"); });

/** Run generator `kind` on `req` with `params`; returns the result and the reply bytes. */
function hairpin(kind: number, req: Uint8Array, params: Uint8Array, cap = 16384): { n: number; reply: Uint8Array } {
  const mem = new Uint8Array(x.memory.buffer);
  mem.set(req, x.hairpinReqPtr() >>> 0);
  mem.set(params, x.hairpinParamsPtr() >>> 0);
  const n = x.hairpinAt(kind, req.length, params.length, cap) | 0;
  const out = x.hairpinOutPtr() >>> 0;
  return { n, reply: n > 0 ? new Uint8Array(x.memory.buffer).slice(out, out + n) : new Uint8Array(0) };
}

function reply(kind: number, req: Uint8Array, params: Uint8Array): Uint8Array {
  const { n, reply } = hairpin(kind, req, params);
  expect(n, `generator ${kind} failed with reason ${-n}`).toBeGreaterThan(0);
  return reply;
}

const tmp = mkdtempSync(join(tmpdir(), "wopte-hairpin-"));
let pcapSeq = 0;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Write a one-frame pcap (LINKTYPE_ETHERNET). */
function writePcap(frame: Uint8Array): string {
  const g = Buffer.alloc(24);
  g.writeUInt32LE(0xa1b2c3d4, 0); g.writeUInt16LE(2, 4); g.writeUInt16LE(4, 6);
  g.writeUInt32LE(65535, 16); g.writeUInt32LE(1, 20);
  const r = Buffer.alloc(16);
  r.writeUInt32LE(frame.length, 8); r.writeUInt32LE(frame.length, 12);
  const file = join(tmp, `reply-${pcapSeq++}.pcap`);
  writeFileSync(file, Buffer.concat([g, r, Buffer.from(frame)]));
  return file;
}

type Tree = Record<string, unknown>;

/** Every value of `key` anywhere in tshark's JSON tree. */
function all(t: unknown, key: string, acc: unknown[] = []): unknown[] {
  if (t && typeof t === "object") {
    for (const [k, v] of Object.entries(t as Tree)) {
      if (k === key) { if (Array.isArray(v)) acc.push(...v); else acc.push(v); }
      all(v, key, acc);
    }
  }
  return acc;
}
function one(t: unknown, key: string): string {
  const v = all(t, key);
  expect(v.length, `tshark field ${key}`).toBeGreaterThan(0);
  return String(v[0]);
}

/**
 * Decode with tshark, checksums verified; fails on any bad checksum or
 * malformed packet. Without tshark the rest of the test skips (the checks
 * before it have run).
 */
function tshark(frame: Uint8Array): Tree {
  requireOrSkip("tshark");
  const out = execFileSync("tshark", [
    "-r", writePcap(frame), "-T", "json", "--no-duplicate-keys",
    "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
  ], { encoding: "utf8" });
  const layers = JSON.parse(out)[0]._source.layers as Tree;
  const statuses: string[] = [];
  const walk = (t: unknown) => {
    if (t && typeof t === "object") for (const [k, v] of Object.entries(t as Tree)) {
      if (k.endsWith("checksum.status")) statuses.push(String(v));
      walk(v);
    }
  };
  walk(layers);
  expect(statuses, "checksum statuses").not.toContain("0");
  expect(statuses.length).toBeGreaterThan(0);
  expect(JSON.stringify(layers)).not.toMatch(/_ws\.malformed|Bad checksum|\[incorrect/);
  return layers;
}

/** Checksum status of the outermost ICMP header (quoted inner headers are not verified). */
function icmpChecksumGood(l: Tree, proto: "icmp" | "icmpv6") {
  expect(String((l[proto] as Tree)[`${proto}.checksum.status`])).toBe("1");
}

// Generated once with /usr/bin/python3 (scapy 2.5.0); the scapy expression is above each frame.
// Setup: GW='a8:40:25:ff:77:77'; G='a8:40:25:00:00:05' ; GWLL='fe80::aa40:25ff:feff:7777'; GLL='fe80::aa40:25ff:fe00:5' ; mac=bytes.fromhex('a84025000005') ; cid = DHCP6OptClientId(duid=DUID_LLT(lladdr=G,timeval=0x2a2a2a2a)) ; sid = DHCP6OptServerId(duid=DUID_LL(lladdr=GW)) ; big = Ether(dst=GW,src=G)/IP(src='10.0.0.5',dst='192.0.2.10',ttl=64,id=7,flags='DF')/UDP(sport=40000,dport=53)/(b'q'*1400)
// dh(opts, ciaddr, src, flags) = Ether(dst=bcast,src=G)/IP(src=src,dst='255.255.255.255')/UDP(68,67)/BOOTP(chaddr=mac,xid=0x12345678,flags=flags,ciaddr=ciaddr)/DHCP(options=opts)
// d6(msg, *opts) = Ether(dst='33:33:00:01:00:02',src=G)/IPv6(src=GLL,dst='ff02::1:2',hlim=1)/UDP(sport=546,dport=547)/msg/opts…
const F = {
  // Ether(dst='ff:ff:ff:ff:ff:ff',src=G)/ARP(op=1,hwsrc=G,psrc='10.0.0.5',hwdst='00:00:00:00:00:00',pdst='10.0.0.1')
  arp_req: "ffffffffffffa8402500000508060001080006040001a840250000050a0000050000000000000a000001",
  // Ether(dst=G,src=GW)/ARP(op=2,hwsrc=GW,psrc='10.0.0.1',hwdst=G,pdst='10.0.0.5')
  arp_rep: "a84025000005a84025ff777708060001080006040002a84025ff77770a000001a840250000050a000005",
  // Ether(dst='ff:ff:ff:ff:ff:ff',src=G)/ARP(op=1,hwsrc=G,psrc='10.0.0.5',pdst='10.0.0.7')
  arp_other: "ffffffffffffa8402500000508060001080006040001a840250000050a0000050000000000000a000007",
  // Ether(dst=GW,src=G)/IP(src='10.0.0.5',dst='10.0.0.1',ttl=64,id=0x1234,flags='DF')/ICMP(type=8,id=0x42,seq=7)/b'wopte-ping-payload'
  echo4_req: "a84025ff7777a8402500000508004500002e12344000400114960a0000050a00000108006f1700420007776f7074652d70696e672d7061796c6f6164",
  // Ether(dst=G,src=GW)/IP(src='10.0.0.1',dst='10.0.0.5',ttl=64,id=0,flags=0)/ICMP(type=0,id=0x42,seq=7)/b'wopte-ping-payload'
  echo4_rep: "a84025000005a84025ff777708004500002e00000000400166ca0a0000010a0000050000771700420007776f7074652d70696e672d7061796c6f6164",
  // Ether(dst=GW,src=G)/IPv6(src=GLL,dst=GWLL,hlim=64)/ICMPv6EchoRequest(id=0x42,seq=7,data=b'wopte-ping6')
  echo6_req: "a84025ff7777a8402500000586dd6000000000133a40fe80000000000000aa4025fffe000005fe80000000000000aa4025fffeff777780000b8800420007776f7074652d70696e6736",
  // Ether(dst=G,src=GW)/IPv6(src=GWLL,dst=GLL,hlim=255)/ICMPv6EchoReply(id=0x42,seq=7,data=b'wopte-ping6')
  echo6_rep: "a84025000005a84025ff777786dd6000000000133afffe80000000000000aa4025fffeff7777fe80000000000000aa4025fffe00000581000a8800420007776f7074652d70696e6736",
  // Ether(dst=GW,src=G)/IPv6(src='fd00::5',dst='fd00::1',hlim=64)/ICMPv6EchoRequest(id=1,seq=1,data=b'x'*33)
  echo6g_req: "a84025ff7777a8402500000586dd6000000000293a40fd000000000000000000000000000005fd0000000000000000000000000000018000860a00010001787878787878787878787878787878787878787878787878787878787878787878",
  // Ether(dst=G,src=GW)/IPv6(src='fd00::1',dst='fd00::5',hlim=255)/ICMPv6EchoReply(id=1,seq=1,data=b'x'*33)
  echo6g_rep: "a84025000005a84025ff777786dd6000000000293afffd000000000000000000000000000001fd0000000000000000000000000000058100850a00010001787878787878787878787878787878787878787878787878787878787878787878",
  // Ether(dst='33:33:ff:00:00:01',src=G)/IPv6(src='fd00::5',dst='ff02::1:ff00:1',hlim=255)/ICMPv6ND_NS(tgt='fd00::1')/ICMPv6NDOptSrcLLAddr(lladdr=G)
  ns_req: "3333ff000001a8402500000586dd6000000000203afffd000000000000000000000000000005ff0200000000000000000001ff0000018700b25000000000fd0000000000000000000000000000010101a84025000005",
  // Ether(dst=G,src=GW)/IPv6(src='fd00::1',dst='fd00::5',hlim=255)/ICMPv6ND_NA(R=1,S=1,O=1,tgt='fd00::1')/ICMPv6NDOptDstLLAddr(lladdr=GW)
  na_rep: "a84025000005a84025ff777786dd6000000000203afffd000000000000000000000000000001fd000000000000000000000000000005880058e2e0000000fd0000000000000000000000000000010201a84025ff7777",
  // Ether(dst='33:33:ff:ff:77:77',src=G)/IPv6(src=GLL,dst='ff02::1:ffff:7777',hlim=255)/ICMPv6ND_NS(tgt=GWLL)/ICMPv6NDOptSrcLLAddr(lladdr=G)
  nsll_req: "3333ffff7777a8402500000586dd6000000000203afffe80000000000000aa4025fffe000005ff0200000000000000000001ffff7777870021e400000000fe80000000000000aa4025fffeff77770101a84025000005",
  // Ether(dst=G,src=GW)/IPv6(src=GWLL,dst=GLL,hlim=255)/ICMPv6ND_NA(R=1,S=1,O=1,tgt=GWLL)/ICMPv6NDOptDstLLAddr(lladdr=GW)
  nall_rep: "a84025000005a84025ff777786dd6000000000203afffe80000000000000aa4025fffeff7777fe80000000000000aa4025fffe0000058800f8b4e0000000fe80000000000000aa4025fffeff77770201a84025ff7777",
  // Ether(dst='33:33:ff:00:00:01',src=G)/IPv6(src='::',dst='ff02::1:ff00:1',hlim=255)/ICMPv6ND_NS(tgt='fd00::1')
  nsdad_req: "3333ff000001a8402500000586dd6000000000183aff00000000000000000000000000000000ff0200000000000000000001ff00000187007da500000000fd000000000000000000000000000001",
  // Ether(dst=G,src=GW)/IPv6(src='fd00::1',dst='ff02::1',hlim=255)/ICMPv6ND_NA(R=1,S=0,O=1,tgt='fd00::1')/ICMPv6NDOptDstLLAddr(lladdr=GW)
  nadad_rep: "333300000001a84025ff777786dd6000000000203afffd000000000000000000000000000001ff020000000000000000000000000001880096e4a0000000fd0000000000000000000000000000010201a84025ff7777",
  // Ether(dst='33:33:ff:00:00:01',src=G)/IPv6(src='fd00::5',dst='ff02::1:ff00:1',hlim=64)/ICMPv6ND_NS(tgt='fd00::1')/ICMPv6NDOptSrcLLAddr(lladdr=G)
  ns_hlim64: "3333ff000001a8402500000586dd6000000000203a40fd000000000000000000000000000005ff0200000000000000000001ff0000018700b25000000000fd0000000000000000000000000000010101a84025000005",
  // Ether(dst='33:33:ff:00:00:09',src=G)/IPv6(src='fd00::5',dst='ff02::1:ff00:9',hlim=255)/ICMPv6ND_NS(tgt='fd00::9')/ICMPv6NDOptSrcLLAddr(lladdr=G)
  ns_other: "3333ff000009a8402500000586dd6000000000203afffd000000000000000000000000000005ff0200000000000000000001ff0000098700b24000000000fd0000000000000000000000000000090101a84025000005",
  // Ether(dst='33:33:00:00:00:02',src=G)/IPv6(src=GLL,dst='ff02::2',hlim=255)/ICMPv6ND_RS()/ICMPv6NDOptSrcLLAddr(lladdr=G)
  rs_req: "333300000002a8402500000586dd6000000000103afffe80000000000000aa4025fffe000005ff0200000000000000000000000000028500e0a2000000000101a84025000005",
  // Ether(dst=G,src=GW)/IPv6(src=GWLL,dst=GLL,hlim=255)/ICMPv6ND_RA(chlim=64,M=0,O=1,prf=0,routerlifetime=9000,reachabletime=0,retranstimer=0)/ICMPv6NDOptSrcLLAddr(lladdr=GW)/ICMPv6NDOptMTU(mtu=1500)/ICMPv6NDOptPrefixInfo(prefixlen=64,L=1,A=1,validlifetime=86400,preferredlifetime=14400,prefix='fd00::')
  ra_rep: "a84025000005a84025ff777786dd6000000000403afffe80000000000000aa4025fffeff7777fe80000000000000aa4025fffe0000058600e8014040232800000000000000000101a84025ff777705010000000005dc030440c0000151800000384000000000fd000000000000000000000000000000",
  // dh([('message-type','discover'),('param_req_list',[1,3,6,15,26]),'end'])
  dhcp_discover: "ffffffffffffa8402500000508004500011700010000401179d600000000ffffffff004400430103bd2e01010600123456780000000000000000000000000000000000000000a84025000005000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006382536335010137050103060f1aff",
  // dh([('message-type','discover'),'end'], flags=0x8000)
  dhcp_discover_bcast: "ffffffffffffa8402500000508004500011000010000401179dd00000000ffffffff0044004300fc529601010600123456780000800000000000000000000000000000000000a840250000050000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000063825363350101ff",
  // dh([('message-type','request'),('requested_addr','10.0.0.5'),('server_id','10.0.0.1'),'end'])
  dhcp_request: "ffffffffffffa8402500000508004500011c00010000401179d100000000ffffffff004400430108c20201010600123456780000000000000000000000000000000000000000a84025000005000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006382536335010332040a00000536040a000001ff",
  // dh([('message-type','request'),('requested_addr','10.0.0.9'),('server_id','10.0.0.1'),'end'])
  dhcp_request_wrong: "ffffffffffffa8402500000508004500011c00010000401179d100000000ffffffff004400430108be0201010600123456780000000000000000000000000000000000000000a84025000005000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006382536335010332040a00000936040a000001ff",
  // dh([('message-type','request'),('requested_addr','10.0.0.5'),('server_id','10.0.0.2'),'end'])
  dhcp_request_other_server: "ffffffffffffa8402500000508004500011c00010000401179d100000000ffffffff004400430108c10201010600123456780000000000000000000000000000000000000000a84025000005000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006382536335010332040a00000536040a000002ff",
  // dh([('message-type','request'),'end'], ciaddr='10.0.0.5', src='10.0.0.5')
  dhcp_renew: "ffffffffffffa840250000050800450001100001000040116fd80a000005ffffffff0044004300fcbc8c0101060012345678000000000a000005000000000000000000000000a840250000050000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000063825363350103ff",
  // dh([('message-type','release'),('server_id','10.0.0.1'),'end'], ciaddr='10.0.0.5', src='10.0.0.5')
  dhcp_release: "ffffffffffffa840250000050800450001160001000040116fd20a000005ffffffff004400430102b3400101060012345678000000000a000005000000000000000000000000a84025000005000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006382536335010736040a000001ff",
  // d6(DHCP6_Solicit(trid=0xabcdef), DHCP6OptElapsedTime(), cid, DHCP6OptIA_NA(iaid=0x0c0ffee0), DHCP6OptOptReq(reqopts=[23,24]))
  dhcp6_solicit: "333300010002a8402500000586dd60000000003c1101fe80000000000000aa4025fffe000005ff02000000000000000000000001000202220223003c32dd01abcdef0008000200000001000e000100012a2a2a2aa840250000050003000c0c0ffee000000000000000000006000400170018",
  // d6(DHCP6_Solicit(trid=0x111111), cid, DHCP6OptRapidCommit(), DHCP6OptIA_NA(iaid=7))
  dhcp6_solicit_rapid: "333300010002a8402500000586dd6000000000321101fe80000000000000aa4025fffe000005ff020000000000000000000000010002022202230032fb87011111110001000e000100012a2a2a2aa84025000005000e00000003000c000000070000000000000000",
  // d6(DHCP6_Request(trid=0x222222), cid, sid, DHCP6OptIA_NA(iaid=0x0c0ffee0, ianaopts=[DHCP6OptIAAddress(addr='fd00::5',preflft=3600,validlft=7200)]))
  dhcp6_request: "333300010002a8402500000586dd6000000000581101fe80000000000000aa4025fffe000005ff0200000000000000000000000100020222022300587008032222220001000e000100012a2a2a2aa840250000050002000a00030001a84025ff7777000300280c0ffee0000000000000000000050018fd00000000000000000000000000000500000e1000001c20",
  // d6(DHCP6_Request(trid=0x222222), cid, DHCP6OptServerId(duid=DUID_LL(lladdr='02:00:00:00:00:01')), DHCP6OptIA_NA(iaid=1))
  dhcp6_request_other: "333300010002a8402500000586dd60000000003c1101fe80000000000000aa4025fffe000005ff02000000000000000000000001000202220223003ce654032222220001000e000100012a2a2a2aa840250000050002000a000300010200000000010003000c000000010000000000000000",
  // d6(DHCP6_InfoRequest(trid=0x333333), cid, DHCP6OptOptReq(reqopts=[23]))
  dhcp6_inforeq: "333300010002a8402500000586dd6000000000241101fe80000000000000aa4025fffe000005ff020000000000000000000000010002022202230024cf640b3333330001000e000100012a2a2a2aa84025000005000600020017",
  // big
  err4_big: "a84025ff7777a8402500000508004500059400074000401169430a000005c000020a9c40003505805a377171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171",
  // Ether(dst=GW,src=G)/IP(src='10.0.0.5',dst='192.0.2.10')/ICMP(type=3,code=3)/IP(src='192.0.2.10',dst='10.0.0.5')/UDP(sport=53,dport=40000)
  err4_icmperr: "a84025ff7777a84025000005080045000038000100004001aeb50a000005c000020a0303c925000000004500001c000100004011aec1c000020a0a00000500359c4000089759",
  // Ether(dst=GW,src=G)/IP(src='10.0.0.5',dst='192.0.2.10',ttl=1)/ICMP(type=8,id=1,seq=1)/b'abc'
  err4_ping: "a84025ff7777a8402500000508004500001f000100000101edce0a000005c000020a0800339b00010001616263",
  // Ether(dst=GW,src=G)/IPv6(src='fd00::5',dst='2001:db8::10',hlim=64)/UDP(sport=40000,dport=53)/(b'q'*1400)
  err6_big: "a84025ff7777a8402500000586dd6000000005801140fd00000000000000000000000000000520010db80000000000000000000000109c4000350580fb777171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171717171",
  // Ether(dst=GW,src=G)/IPv6(src='fd00::5',dst='2001:db8::10')/ICMPv6DestUnreach()/IPv6(src='2001:db8::10',dst='fd00::5')/UDP()
  err6_icmperr: "a84025ff7777a8402500000586dd6000000000383a40fd00000000000000000000000000000520010db80000000000000000000000100100628f00000000600000000008114020010db8000000000000000000000010fd000000000000000000000000000005003500350008d4a5",
  // Ether(dst=GW,src=G)/IPv6(src='fd00::5',dst='2001:db8::10',hlim=1)/TCP(sport=40000,dport=443,flags='S')
  err6_small: "a84025ff7777a8402500000586dd6000000000140601fd00000000000000000000000000000520010db80000000000000000000000109c4001bb000000000000000050022000c7180000",
};

const req = (k: keyof typeof F) => hex(F[k]);

const gw4 = { gatewayMac: GW_MAC, gatewayIp: "10.0.0.1" };
const gw6 = { gatewayMac: GW_MAC, gatewayIp: "fd00::1" };

describe("ARP: the guest asks who has its gateway", () => {
  it("answers with the gateway MAC, byte for byte as scapy builds it", () => {
    expect(toHex(reply(HairpinKind.ArpReply, req("arp_req"), encodeArpParams(gw4)))).toBe(F.arp_rep);
  });
  it("on a VLAN the reply carries the same 802.1Q tag", () => {
    // Ether(dst='ff:ff:ff:ff:ff:ff',src=G)/Dot1Q(vlan=100)/ARP(op=1,hwsrc=G,psrc='10.0.0.5',pdst='10.0.0.1')
    const vlanReq = hex("ffffffffffffa840250000058100006408060001080006040001a840250000050a0000050000000000000a000001");
    // Ether(dst=G,src=GW)/Dot1Q(vlan=100)/ARP(op=2,hwsrc=GW,psrc='10.0.0.1',hwdst=G,pdst='10.0.0.5')
    const vlanRep = "a84025000005a84025ff77778100006408060001080006040002a84025ff77770a000001a840250000050a000005";
    expect(toHex(reply(HairpinKind.ArpReply, vlanReq, encodeArpParams(gw4)))).toBe(vlanRep);
  });
  it("stays silent for any other address", () => {
    expect(hairpin(HairpinKind.ArpReply, req("arp_other"), encodeArpParams(gw4)).n).toBe(-Reason.HairpinFailed);
  });
  it("does not answer an IPv4 packet", () => {
    expect(hairpin(HairpinKind.ArpReply, req("echo4_req"), encodeArpParams(gw4)).n).toBeLessThan(0);
  });
});

describe("ICMP echo: the guest pings its gateway", () => {
  it("IPv4: echo reply with the same id, sequence and data, TTL 64", () => {
    const r = reply(HairpinKind.Icmp4EchoReply, req("echo4_req"), encodeIcmp4EchoParams(gw4));
    expect(toHex(r)).toBe(F.echo4_rep);
    icmpChecksumGood(tshark(r), "icmp");
  });
  it("IPv6 to the gateway's link-local address: hop limit 255, pseudo-header checksum", () => {
    const r = reply(HairpinKind.Icmp6EchoReply, req("echo6_req"), encodeIcmp6EchoParams(gw6));
    expect(toHex(r)).toBe(F.echo6_rep);
    icmpChecksumGood(tshark(r), "icmpv6");
  });
  it("IPv6 to the gateway's configured address", () => {
    expect(toHex(reply(HairpinKind.Icmp6EchoReply, req("echo6g_req"), encodeIcmp6EchoParams(gw6)))).toBe(F.echo6g_rep);
  });
  it("does not answer pings to another address", () => {
    const other = encodeIcmp4EchoParams({ gatewayMac: GW_MAC, gatewayIp: "10.0.0.254" });
    expect(hairpin(HairpinKind.Icmp4EchoReply, req("echo4_req"), other).n).toBe(-Reason.HairpinFailed);
    const other6 = encodeIcmp6EchoParams({ gatewayMac: "02:00:00:00:00:01", gatewayIp: "fd00::9" });
    expect(hairpin(HairpinKind.Icmp6EchoReply, req("echo6_req"), other6).n).toBe(-Reason.HairpinFailed);
  });
});

describe("NDP: the guest resolves its gateway and asks for a router", () => {
  const na = encodeNdpNeighborAdvertParams(gw6);
  it("NS for the configured address → NA with R|S|O and the target link-layer option", () => {
    const r = reply(HairpinKind.NdpNeighborAdvert, req("ns_req"), na);
    expect(toHex(r)).toBe(F.na_rep);
    const l = tshark(r);
    icmpChecksumGood(l, "icmpv6");
    expect(one(l, "icmpv6.nd.na.flag.r")).toBe("1");
    expect(one(l, "icmpv6.nd.na.flag.s")).toBe("1");
    expect(one(l, "icmpv6.nd.na.flag.o")).toBe("1");
  });
  it("NS for the EUI-64 link-local address → NA from that address", () => {
    expect(toHex(reply(HairpinKind.NdpNeighborAdvert, req("nsll_req"), na))).toBe(F.nall_rep);
  });
  it("duplicate address detection from :: → NA to all-nodes with S clear", () => {
    expect(toHex(reply(HairpinKind.NdpNeighborAdvert, req("nsdad_req"), na))).toBe(F.nadad_rep);
  });
  it("rejects an NS with hop limit 64 (may have crossed a router)", () => {
    expect(hairpin(HairpinKind.NdpNeighborAdvert, req("ns_hlim64"), na).n).toBe(-Reason.BadIcmp);
  });
  it("rejects an NS with a bad checksum", () => {
    const bad = req("ns_req"); bad[14 + 40 + 2] ^= 0xff;
    expect(hairpin(HairpinKind.NdpNeighborAdvert, bad, na).n).toBe(-Reason.BadChecksum);
  });
  it("stays silent for other targets", () => {
    expect(hairpin(HairpinKind.NdpNeighborAdvert, req("ns_other"), na).n).toBe(-Reason.HairpinFailed);
  });
  it("RS → RA from the link-local address with MTU and a SLAAC prefix", () => {
    const ra = encodeNdpRouterAdvertParams({
      gatewayMac: GW_MAC, curHopLimit: 64, otherConfig: true, routerLifetime: 9000, mtu: 1500,
      prefixes: [{ prefix: "fd00::", prefixLen: 64, validLifetime: 86400, preferredLifetime: 14400 }],
    });
    const r = reply(HairpinKind.NdpRouterAdvert, req("rs_req"), ra);
    expect(toHex(r)).toBe(F.ra_rep);
    const l = tshark(r);
    icmpChecksumGood(l, "icmpv6");
    expect(one(l, "icmpv6.opt.prefix")).toBe("fd00::");
    expect(one(l, "icmpv6.opt.mtu")).toBe("1500");
  });
  it("RA carries up to four prefixes", () => {
    const prefixes = [1, 2, 3, 4].map((i) => ({ prefix: `fd00:${i}::`, prefixLen: 64 }));
    const r = reply(HairpinKind.NdpRouterAdvert, req("rs_req"), encodeNdpRouterAdvertParams({ gatewayMac: GW_MAC, prefixes }));
    const l = tshark(r);
    icmpChecksumGood(l, "icmpv6");
    expect(all(l, "icmpv6.opt.prefix")).toEqual(["fd00:1::", "fd00:2::", "fd00:3::", "fd00:4::"]);
    expect(all(l, "icmpv6.opt.mtu")).toEqual([]);
  });
});

describe("DHCPv4: the guest boots and asks for an address", () => {
  const params = encodeDhcp4Params({
    gatewayMac: GW_MAC, serverIp: "10.0.0.1", clientIp: "10.0.0.5", prefixLen: 24, router: "10.0.0.1",
    dnsServers: ["8.8.8.8", "1.1.1.1"], leaseSeconds: 86400, mtu: 1500, domainName: "vpc.internal",
  });
  function decode(r: Uint8Array) {
    const l = tshark(r);
    expect(one(l, "eth.dst")).toBe(GUEST_MAC);
    expect(one(l, "eth.src")).toBe(GW_MAC);
    expect(one(l, "ip.src")).toBe("10.0.0.1");
    expect(one(l, "udp.srcport")).toBe("67");
    expect(one(l, "udp.dstport")).toBe("68");
    expect(one(l, "dhcp.id")).toBe("0x12345678");
    expect(one(l, "dhcp.hw.mac_addr")).toBe(GUEST_MAC);
    return l;
  }
  it("DISCOVER → OFFER with mask, router, DNS, lease, MTU and domain, broadcast", () => {
    const l = decode(reply(HairpinKind.Dhcp4, req("dhcp_discover"), params));
    expect(one(l, "dhcp.option.dhcp")).toBe("2");
    expect(one(l, "ip.dst")).toBe("255.255.255.255");
    expect(one(l, "dhcp.ip.your")).toBe("10.0.0.5");
    expect(one(l, "dhcp.option.dhcp_server_id")).toBe("10.0.0.1");
    expect(one(l, "dhcp.option.subnet_mask")).toBe("255.255.255.0");
    expect(one(l, "dhcp.option.router")).toBe("10.0.0.1");
    expect(all(l, "dhcp.option.domain_name_server")).toEqual(["8.8.8.8", "1.1.1.1"]);
    expect(one(l, "dhcp.option.ip_address_lease_time")).toBe("86400");
    expect(one(l, "dhcp.option.interface_mtu")).toBe("1500");
    expect(one(l, "dhcp.option.domain_name")).toBe("vpc.internal");
  });
  it("DISCOVER → OFFER with host name, search list and classless routes (the version-4 params), as tshark reads them", () => {
    const ext = encodeDhcp4Params({
      gatewayMac: GW_MAC, serverIp: "10.0.0.1", clientIp: "10.0.0.5", prefixLen: 24, router: "10.0.0.1", leaseSeconds: 86400,
      hostName: "web-1", searchList: ["vpc.internal", "example.com"],
      classlessRoutes: [{ dest: "10.1.0.0/16", router: "10.0.0.1" }, { dest: "0.0.0.0/0", router: "10.0.0.1" }],
    });
    const l = decode(reply(HairpinKind.Dhcp4, req("dhcp_discover"), ext));
    expect(one(l, "dhcp.option.hostname")).toBe("web-1");
    expect(all(l, "dhcp.option.dhcp_dns_domain_search_list_fqdn")).toEqual(["vpc.internal", "example.com"]);
    expect(all(l, "dhcp.option.classless_static_route")).toEqual(["10:0a:01:0a:00:00:01", "00:0a:00:00:01"]);
    expect(one(l, "dhcp.option.router")).toBe("10.0.0.1");
  });
  it("echoes the broadcast flag", () => {
    const l = decode(reply(HairpinKind.Dhcp4, req("dhcp_discover_bcast"), params));
    expect(one(l, "dhcp.flags.bc")).toBe("1");
    expect(one(l, "ip.dst")).toBe("255.255.255.255");
  });
  it("REQUEST for the offered address → ACK", () => {
    const l = decode(reply(HairpinKind.Dhcp4, req("dhcp_request"), params));
    expect(one(l, "dhcp.option.dhcp")).toBe("5");
    expect(one(l, "dhcp.ip.your")).toBe("10.0.0.5");
  });
  it("REQUEST for another address → NAK without configuration", () => {
    const l = decode(reply(HairpinKind.Dhcp4, req("dhcp_request_wrong"), params));
    expect(one(l, "dhcp.option.dhcp")).toBe("6");
    expect(one(l, "dhcp.ip.your")).toBe("0.0.0.0");
    expect(all(l, "dhcp.option.router")).toEqual([]);
  });
  it("renewal from a bound client (ciaddr set) → unicast ACK", () => {
    const l = decode(reply(HairpinKind.Dhcp4, req("dhcp_renew"), params));
    expect(one(l, "dhcp.option.dhcp")).toBe("5");
    expect(one(l, "ip.dst")).toBe("10.0.0.5");
    expect(one(l, "dhcp.ip.client")).toBe("10.0.0.5");
  });
  it("REQUEST naming another server and RELEASE get no reply", () => {
    expect(hairpin(HairpinKind.Dhcp4, req("dhcp_request_other_server"), params).n).toBe(-Reason.HairpinFailed);
    expect(hairpin(HairpinKind.Dhcp4, req("dhcp_release"), params).n).toBe(-Reason.HairpinFailed);
  });
  it("rejects options running past the message", () => {
    const bad = req("dhcp_discover");
    const opts = 14 + 20 + 8 + 240;
    bad[opts + 1] = 0xf0; // message-type length far beyond the end
    expect(hairpin(HairpinKind.Dhcp4, bad, params).n).toBeLessThan(0);
  });
});

describe("DHCPv6: the guest asks for an address and DNS servers", () => {
  const params = encodeDhcp6Params({
    gatewayMac: GW_MAC, address: "fd00::5", preferredLifetime: 3600, validLifetime: 7200,
    dnsServers: ["2001:4860:4860::8888"],
  });
  function decode(r: Uint8Array) {
    const l = tshark(r);
    expect(one(l, "eth.dst")).toBe(GUEST_MAC);
    expect(one(l, "ipv6.src")).toBe(GW_LL);
    expect(one(l, "ipv6.dst")).toBe(GUEST_LL);
    expect(one(l, "udp.srcport")).toBe("547");
    expect(one(l, "udp.dstport")).toBe("546");
    expect(one(l, "dhcpv6.duidll.link_layer_addr")).toBe(GW_MAC);
    return l;
  }
  it("SOLICIT → ADVERTISE with the IAID echoed, one address and DNS", () => {
    const l = decode(reply(HairpinKind.Dhcp6, req("dhcp6_solicit"), params));
    expect(one(l, "dhcpv6.msgtype")).toBe("2");
    expect(one(l, "dhcpv6.xid")).toBe("0xabcdef");
    expect(one(l, "dhcpv6.iaid")).toBe("0c0ffee0");
    expect(one(l, "dhcpv6.iaaddr.ip")).toBe("fd00::5");
    expect(one(l, "dhcpv6.iaaddr.pref_lifetime")).toBe("3600");
    expect(one(l, "dhcpv6.iaaddr.valid_lifetime")).toBe("7200");
    expect(one(l, "dhcpv6.dns_server")).toBe("2001:4860:4860::8888");
    expect(one(l, "dhcpv6.duidllt.link_layer_addr")).toBe(GUEST_MAC); // client id echoed
  });
  it("SOLICIT asking for the search list → ADVERTISE with it, and no FQDN it did not ask for (the version-4 params)", () => {
    const ext = encodeDhcp6Params({
      gatewayMac: GW_MAC, address: "fd00::5", preferredLifetime: 3600, validLifetime: 7200,
      fqdn: "web-1.vpc.internal", searchList: ["vpc.internal", "example.com"],
    });
    const l = decode(reply(HairpinKind.Dhcp6, req("dhcp6_solicit"), ext));
    expect(all(l, "dhcpv6.search_list_entry")).toEqual(["vpc.internal.", "example.com."]);
    expect(all(l, "dhcpv6.client_domain")).toEqual([]);
  });
  it("SOLICIT with Rapid Commit → REPLY with Rapid Commit", () => {
    const r = reply(HairpinKind.Dhcp6, req("dhcp6_solicit_rapid"), params);
    const l = decode(r);
    expect(one(l, "dhcpv6.msgtype")).toBe("7");
    expect(JSON.stringify(l)).toMatch(/Rapid Commit/);
  });
  it("REQUEST to this server → REPLY", () => {
    const l = decode(reply(HairpinKind.Dhcp6, req("dhcp6_request"), params));
    expect(one(l, "dhcpv6.msgtype")).toBe("7");
    expect(one(l, "dhcpv6.iaaddr.ip")).toBe("fd00::5");
  });
  it("REQUEST to another server gets no reply", () => {
    expect(hairpin(HairpinKind.Dhcp6, req("dhcp6_request_other"), params).n).toBe(-Reason.HairpinFailed);
  });
  it("INFORMATION-REQUEST → REPLY with DNS and no address", () => {
    const l = decode(reply(HairpinKind.Dhcp6, req("dhcp6_inforeq"), params));
    expect(one(l, "dhcpv6.msgtype")).toBe("7");
    expect(all(l, "dhcpv6.iaaddr.ip")).toEqual([]);
    expect(one(l, "dhcpv6.dns_server")).toBe("2001:4860:4860::8888");
  });
});

describe("ICMP errors: the gateway refuses to forward a guest packet", () => {
  it("IPv4 fragmentation needed quotes 548 bytes and carries the next-hop MTU", () => {
    const p = encodeIcmp4ErrorParams({ ...gw4, type: 3, code: 4, mtu: 1400 });
    const r = reply(HairpinKind.Icmp4Error, req("err4_big"), p);
    expect(r.length).toBe(14 + 20 + 8 + 548);
    const l = tshark(r);
    icmpChecksumGood(l, "icmp");
    expect(one(l, "icmp.type")).toBe("3");
    expect(one(l, "icmp.code")).toBe("4");
    expect(one(l, "icmp.mtu")).toBe("1400");
    expect(all(l, "ip.dst")[0]).toBe("10.0.0.5");
    expect(toHex(r.slice(14 + 28))).toBe(F.err4_big.slice(28, 28 + 2 * 548));
  });
  it("IPv4 time exceeded quotes a small packet whole", () => {
    const p = encodeIcmp4ErrorParams({ ...gw4, type: 11, code: 0 });
    const r = reply(HairpinKind.Icmp4Error, req("err4_ping"), p);
    const l = tshark(r);
    icmpChecksumGood(l, "icmp");
    expect(one(l, "icmp.type")).toBe("11");
    expect(toHex(r.slice(14 + 28))).toBe(F.err4_ping.slice(28));
  });
  it("never answers an ICMPv4 error with an error", () => {
    const p = encodeIcmp4ErrorParams({ ...gw4, type: 3, code: 1 });
    expect(hairpin(HairpinKind.Icmp4Error, req("err4_icmperr"), p).n).toBe(-Reason.HairpinFailed);
  });
  it("IPv6 packet too big fits in 1280 bytes", () => {
    const p = encodeIcmp6ErrorParams({ ...gw6, type: 2, code: 0, mtu: 1280 });
    const r = reply(HairpinKind.Icmp6Error, req("err6_big"), p);
    expect(r.length).toBe(14 + 1280);
    const l = tshark(r);
    icmpChecksumGood(l, "icmpv6");
    expect(one(l, "icmpv6.type")).toBe("2");
    expect(one(l, "icmpv6.mtu")).toBe("1280");
    expect(all(l, "ipv6.src")[0]).toBe("fd00::1");
  });
  it("IPv6 time exceeded about a TCP SYN", () => {
    const p = encodeIcmp6ErrorParams({ ...gw6, type: 3, code: 0 });
    const r = reply(HairpinKind.Icmp6Error, req("err6_small"), p);
    icmpChecksumGood(tshark(r), "icmpv6");
    expect(toHex(r.slice(14 + 48))).toBe(F.err6_small.slice(28));
  });
  it("never answers an ICMPv6 error with an error", () => {
    const p = encodeIcmp6ErrorParams({ ...gw6, type: 1, code: 0 });
    expect(hairpin(HairpinKind.Icmp6Error, req("err6_icmperr"), p).n).toBe(-Reason.HairpinFailed);
  });
});

describe("output space", () => {
  it("a reply that does not fit the output buffer is Truncated", () => {
    expect(hairpin(HairpinKind.ArpReply, req("arp_req"), encodeArpParams(gw4), 41).n).toBe(-Reason.Truncated);
    expect(hairpin(HairpinKind.ArpReply, req("arp_req"), encodeArpParams(gw4), 42).n).toBe(42);
  });
});
