// A field-by-field decoder for the playground (and anyone who wants frames
// explained): Ethernet/802.1Q, ARP, IPv4, IPv6 (extension headers), ICMP,
// ICMPv6, TCP, UDP and Geneve with its options and inner frame. It only
// describes bytes for people; the engine's own parsers (engine/packet) decide.

export interface Field { name: string; value: string }
export interface Header { name: string; offset: number; length: number; fields: Field[] }

const hex = (b: Uint8Array, a: number, n: number) => Array.from(b.subarray(a, a + n), (x) => x.toString(16).padStart(2, "0")).join("");
const mac = (b: Uint8Array, a: number) => Array.from(b.subarray(a, a + 6), (x) => x.toString(16).padStart(2, "0")).join(":");
const u16 = (b: Uint8Array, a: number) => (b[a] << 8) | b[a + 1];
const u32 = (b: Uint8Array, a: number) => ((b[a] << 24) >>> 0) + (b[a + 1] << 16) + (b[a + 2] << 8) + b[a + 3];
const v4 = (b: Uint8Array, a: number) => `${b[a]}.${b[a + 1]}.${b[a + 2]}.${b[a + 3]}`;
function v6(b: Uint8Array, a: number): string {
  const w = Array.from({ length: 8 }, (_, i) => u16(b, a + 2 * i).toString(16));
  return w.join(":").replace(/(^|:)0(:0)+(:|$)/, "::").replace(/:{3,}/, "::");
}
const PROTO: Record<number, string> = { 1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6", 0: "Hop-by-Hop", 43: "Routing", 44: "Fragment", 60: "Destination Options" };
const TCP_FLAGS = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];

export function decodeFrame(b: Uint8Array): Header[] {
  const out: Header[] = [];
  try { ethernet(b, 0, out); } catch { out.push({ name: "(truncated)", offset: b.length, length: 0, fields: [] }); }
  return out;
}

function need(b: Uint8Array, at: number, n: number): void {
  if (at + n > b.length) throw new Error("truncated");
}

function ethernet(b: Uint8Array, at: number, out: Header[]): void {
  need(b, at, 14);
  let type = u16(b, at + 12);
  const fields: Field[] = [{ name: "destination", value: mac(b, at) }, { name: "source", value: mac(b, at + 6) }];
  let len = 14;
  if (type === 0x8100) {
    need(b, at, 18);
    fields.push({ name: "802.1Q VLAN", value: String(u16(b, at + 14) & 0xfff) });
    type = u16(b, at + 16);
    len = 18;
  }
  fields.push({ name: "type", value: `0x${type.toString(16).padStart(4, "0")}` });
  out.push({ name: "Ethernet", offset: at, length: len, fields });
  const next = at + len;
  if (type === 0x0806) arp(b, next, out);
  else if (type === 0x0800) ipv4(b, next, out);
  else if (type === 0x86dd) ipv6(b, next, out);
}

function arp(b: Uint8Array, at: number, out: Header[]): void {
  need(b, at, 28);
  out.push({ name: "ARP", offset: at, length: 28, fields: [
    { name: "operation", value: u16(b, at + 6) === 1 ? "request" : u16(b, at + 6) === 2 ? "reply" : String(u16(b, at + 6)) },
    { name: "sender MAC", value: mac(b, at + 8) }, { name: "sender IP", value: v4(b, at + 14) },
    { name: "target MAC", value: mac(b, at + 18) }, { name: "target IP", value: v4(b, at + 24) },
  ] });
}

function ipv4(b: Uint8Array, at: number, out: Header[]): void {
  need(b, at, 20);
  const ihl = (b[at] & 0xf) * 4;
  const proto = b[at + 9];
  const frag = u16(b, at + 6);
  out.push({ name: "IPv4", offset: at, length: ihl, fields: [
    { name: "source", value: v4(b, at + 12) }, { name: "destination", value: v4(b, at + 16) },
    { name: "total length", value: String(u16(b, at + 2)) }, { name: "TTL", value: String(b[at + 8]) },
    { name: "protocol", value: `${PROTO[proto] ?? proto} (${proto})` }, { name: "identification", value: `0x${u16(b, at + 4).toString(16)}` },
    { name: "flags", value: `${frag & 0x4000 ? "DF " : ""}${frag & 0x2000 ? "MF" : ""}`.trim() || "-" },
    { name: "fragment offset", value: String((frag & 0x1fff) * 8) }, { name: "header checksum", value: `0x${u16(b, at + 10).toString(16).padStart(4, "0")}` },
  ] });
  if ((frag & 0x1fff) === 0) l4(b, at + ihl, proto, out);
}

function ipv6(b: Uint8Array, at: number, out: Header[]): void {
  need(b, at, 40);
  let next = b[at + 6];
  out.push({ name: "IPv6", offset: at, length: 40, fields: [
    { name: "source", value: v6(b, at + 8) }, { name: "destination", value: v6(b, at + 24) },
    { name: "payload length", value: String(u16(b, at + 4)) }, { name: "hop limit", value: String(b[at + 7]) },
    { name: "next header", value: `${PROTO[next] ?? next} (${next})` }, { name: "flow label", value: `0x${(u32(b, at) & 0xfffff).toString(16)}` },
  ] });
  let p = at + 40;
  for (let depth = 0; depth < 8 && (next === 0 || next === 43 || next === 44 || next === 60); depth++) {
    need(b, p, 8);
    const len = next === 44 ? 8 : (b[p + 1] + 1) * 8;
    out.push({ name: PROTO[next], offset: p, length: len, fields: [{ name: "next header", value: `${PROTO[b[p]] ?? b[p]} (${b[p]})` },
      ...(next === 44 ? [{ name: "offset", value: String(u16(b, p + 2) & 0xfff8) }, { name: "more fragments", value: String(!!(b[p + 3] & 1)) }] : [])] });
    if (next === 44 && (u16(b, p + 2) & 0xfff8) !== 0) return;
    next = b[p];
    p += len;
  }
  l4(b, p, next, out);
}

function l4(b: Uint8Array, at: number, proto: number, out: Header[]): void {
  if (proto === 6) {
    need(b, at, 20);
    const flags = TCP_FLAGS.filter((_, i) => b[at + 13] & (1 << i)).join(" ");
    out.push({ name: "TCP", offset: at, length: (b[at + 12] >> 4) * 4, fields: [
      { name: "source port", value: String(u16(b, at)) }, { name: "destination port", value: String(u16(b, at + 2)) },
      { name: "flags", value: flags || "-" }, { name: "sequence", value: String(u32(b, at + 4)) }, { name: "ack", value: String(u32(b, at + 8)) },
      { name: "window", value: String(u16(b, at + 14)) }, { name: "checksum", value: `0x${u16(b, at + 16).toString(16).padStart(4, "0")}` },
    ] });
  } else if (proto === 17) {
    need(b, at, 8);
    const dport = u16(b, at + 2);
    out.push({ name: "UDP", offset: at, length: 8, fields: [
      { name: "source port", value: String(u16(b, at)) }, { name: "destination port", value: String(dport) },
      { name: "length", value: String(u16(b, at + 4)) }, { name: "checksum", value: `0x${u16(b, at + 6).toString(16).padStart(4, "0")}` },
    ] });
    if (dport === 6081) geneve(b, at + 8, out);
  } else if (proto === 1 || proto === 58) {
    need(b, at, 8);
    const t = b[at];
    const echo = proto === 1 ? t === 8 || t === 0 : t === 128 || t === 129;
    out.push({ name: proto === 1 ? "ICMP" : "ICMPv6", offset: at, length: 8, fields: [
      { name: "type", value: String(t) }, { name: "code", value: String(b[at + 1]) },
      ...(echo ? [{ name: "identifier", value: String(u16(b, at + 4)) }, { name: "sequence", value: String(u16(b, at + 6)) }] : []),
      { name: "checksum", value: `0x${u16(b, at + 2).toString(16).padStart(4, "0")}` },
    ] });
  }
}

function geneve(b: Uint8Array, at: number, out: Header[]): void {
  need(b, at, 8);
  const optLen = (b[at] & 0x3f) * 4;
  const fields: Field[] = [
    { name: "version", value: String(b[at] >> 6) }, { name: "VNI", value: String((b[at + 4] << 16) | (b[at + 5] << 8) | b[at + 6]) },
    { name: "protocol", value: `0x${u16(b, at + 2).toString(16)}` }, { name: "options length", value: String(optLen) },
  ];
  for (let p = at + 8; p + 4 <= at + 8 + optLen; ) {
    const cls = u16(b, p), type = b[p + 2], len = (b[p + 3] & 0x1f) * 4;
    const name = cls === 0x0129 ? ({ 0: "Oxide External", 1: "Oxide Multicast", 2: "Oxide MSS" } as Record<number, string>)[type & 0x7f] ?? "Oxide option" : `class 0x${cls.toString(16)}`;
    fields.push({ name: `option ${name}`, value: `type 0x${type.toString(16)}${type & 0x80 ? " (critical)" : ""}, ${len} bytes${len ? " " + hex(b, p + 4, len) : ""}` });
    p += 4 + len;
  }
  out.push({ name: "Geneve", offset: at, length: 8 + optLen, fields });
  ethernet(b, at + 8 + optLen, out);
}
