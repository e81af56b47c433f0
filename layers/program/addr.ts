// Address parsing shared by the rule compiler and the hosts.
//
// The engine holds every IP address as 16 bytes; IPv4 addresses use the
// IPv4-mapped form ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), and an IPv4 prefix
// /n becomes /(n+96) over that form.

// No node:net here: the same code runs in the browser playground.

export function isIPv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

export function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.includes(":::")) return false;
  let body = s;
  let words = 0;
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".")) {
    if (!isIPv4(s.slice(lastColon + 1))) return false;
    body = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = body.split("::");
  if (halves.length > 2) return false;
  for (const h of halves) {
    if (h === "") continue;
    const ws = h.split(":");
    if (ws.some((w) => !/^[0-9a-fA-F]{1,4}$/.test(w))) return false;
    words += ws.length;
  }
  return halves.length === 2 ? words < 8 : words === 8;
}

/** 4, 6 or 0, like node:net's isIP. */
export function isIP(s: string): number {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0;
}

export function parseIpv4(s: string): Uint8Array {
  if (!isIPv4(s)) throw new Error(`not an IPv4 address: ${JSON.stringify(s)}`);
  return Uint8Array.from(s.split(".").map((x) => Number(x)));
}

export function parseIpv6(s: string): Uint8Array {
  if (!isIPv6(s)) throw new Error(`not an IPv6 address: ${JSON.stringify(s)}`);
  let str = s;
  const out = new Uint8Array(16);
  // an embedded dotted IPv4 tail (::ffff:1.2.3.4)
  const dot = str.lastIndexOf(".");
  let tail: number[] = [];
  if (dot >= 0) {
    const colon = str.lastIndexOf(":");
    const v4 = parseIpv4(str.slice(colon + 1));
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    str = str.slice(0, colon + 1) + "0:0";
  }
  const [head, rest] = str.includes("::") ? str.split("::") : [str, undefined];
  const hs = head ? head.split(":").filter((x) => x !== "") : [];
  const rs = rest !== undefined && rest !== "" ? rest.split(":") : [];
  const words = new Array<number>(8).fill(0);
  hs.forEach((w, i) => (words[i] = parseInt(w, 16)));
  rs.forEach((w, i) => (words[8 - rs.length + i] = parseInt(w, 16)));
  if (tail.length) { words[6] = tail[0]; words[7] = tail[1]; }
  words.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  return out;
}

/** Any IP address as the engine's 16 bytes (IPv4 mapped). */
export function ip16(s: string): Uint8Array {
  if (isIPv4(s)) {
    const out = new Uint8Array(16);
    out[10] = 0xff; out[11] = 0xff;
    out.set(parseIpv4(s), 12);
    return out;
  }
  return parseIpv6(s);
}

/**
 * The family of an address or a prefix ("8.0.0.0/8" is IPv4): every layer
 * sorts addresses and CIDRs into families with this one check.
 */
export function isV4(s: string): boolean { return isIPv4(s.split("/")[0]); }

/** A parsed prefix: 16 engine bytes with host bits cleared, its length over 128 bits, and its family's own length. */
export interface Prefix { addr: Uint8Array; len: number; family: 4 | 6; bits: number }

/**
 * "10.0.0.0/24" or "fd00::/64" (or a bare address, as a host prefix), and
 * nothing else: one `/`, a decimal length without sign or leading zeros, no
 * trailing text. Prefixes become rule programs and routing-daemon config, so
 * whatever follows a second `/` or a newline must be refused, not ignored.
 */
export function parsePrefix(s: string, o: { lengthRequired?: boolean } = {}): Prefix {
  const slash = s.indexOf("/");
  const a = slash < 0 ? s : s.slice(0, slash);
  const l = slash < 0 ? undefined : s.slice(slash + 1);
  const family = isIPv4(a) ? 4 : isIPv6(a) ? 6 : 0;
  if (family === 0) throw new Error(`not an IP prefix: ${JSON.stringify(s)}`);
  if (l === undefined && o.lengthRequired) throw new Error(`not a prefix (no /length): ${JSON.stringify(s)}`);
  const max = family === 4 ? 32 : 128;
  if (l !== undefined && !(/^(0|[1-9]\d{0,2})$/.test(l) && Number(l) <= max)) {
    throw new Error(`bad prefix length in ${JSON.stringify(s)} (0-${max})`);
  }
  const bits = l === undefined ? max : Number(l);
  const addr = ip16(a);
  const len = family === 4 ? bits + 96 : bits;
  // zero the host bits so equal prefixes encode equally
  for (let bit = len; bit < 128; bit++) addr[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { addr, len, family, bits };
}

/** "10.0.0.0/24" or "fd00::/64" (or a bare address) → 16 bytes + prefix length over 128 bits. */
export function prefix16(s: string): { addr: Uint8Array; len: number } {
  const { addr, len } = parsePrefix(s);
  return { addr, len };
}

/** A prefix written back from its parsed value: one spelling per prefix, host bits cleared. */
export function prefixText(p: Prefix): string { return `${ipText(p.addr)}/${p.bits}`; }

/** A VXLAN/Geneve network identifier: 24 bits (RFC 8926 §3.4). */
export const VNI_MAX = 0xffffff;
export function isVni(n: unknown): n is number { return Number.isInteger(n) && (n as number) >= 0 && (n as number) <= VNI_MAX; }
/** A VNI from a number or its decimal text (a URL segment, a CLI flag). */
export function parseVni(x: string | number): number {
  const n = typeof x === "number" ? x : /^(0|[1-9]\d{0,7})$/.test(x) ? Number(x) : NaN;
  if (!isVni(n)) throw new Error(`not a VNI (0-${VNI_MAX}): ${JSON.stringify(x)}`);
  return n;
}

/** A TCP/UDP port from a number or its decimal text. */
export function parsePort(x: string | number): number {
  const n = typeof x === "number" ? x : /^(0|[1-9]\d{0,4})$/.test(x) ? Number(x) : NaN;
  if (!(Number.isInteger(n) && n >= 0 && n <= 65535)) throw new Error(`not a port (0-65535): ${JSON.stringify(x)}`);
  return n;
}

/** "80", "8000-8080" or a number → an inclusive range, first ≤ last. */
export function parsePortRange(x: string | number): { first: number; last: number } {
  if (typeof x === "number") { const p = parsePort(x); return { first: p, last: p }; }
  const m = /^(\d+)(?:-(\d+))?$/.exec(x);
  if (!m) throw new Error(`not a port or a range like 8000-8080: ${JSON.stringify(x)}`);
  const first = parsePort(m[1]), last = m[2] === undefined ? first : parsePort(m[2]);
  if (first > last) throw new Error(`port range out of order: ${x}`);
  return { first, last };
}

/** 16 engine bytes back to text (IPv4-mapped shown as dotted quad). */
export function ipText(b: Uint8Array): string {
  const mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mapped) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i] << 8) | b[i + 1]);
  // compress the longest run of zero words
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/** Six hex pairs separated by colons (a8:40:25:00:00:01), the one spelling configs and the API use. */
export function isMac(s: string): boolean { return /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(s); }

export function parseMac(s: string): bigint {
  if (!isMac(s)) throw new Error(`not a MAC address: ${JSON.stringify(s)}`);
  return BigInt("0x" + s.replace(/:/g, ""));
}

export function macBytes(s: string): Uint8Array {
  const v = parseMac(s);
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = Number((v >> BigInt(8 * (5 - i))) & 0xffn);
  return out;
}

export function macText(v: bigint): string {
  const parts: string[] = [];
  for (let i = 5; i >= 0; i--) parts.push(((v >> BigInt(8 * i)) & 0xffn).toString(16).padStart(2, "0"));
  return parts.join(":");
}
