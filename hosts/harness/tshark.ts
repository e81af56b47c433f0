// A second opinion on captures: tshark (Wireshark) must decode them and find
// no checksum or malformed-packet errors. IP, TCP and UDP checksum checks are
// switched on (Wireshark leaves them off by default).
//
// The rule: a problem is any expert item of severity Error (bad IPv4/TCP/UDP
// checksum, malformed packet, bogus lengths) or of group Checksum at any
// severity (Wireshark rates a bad ICMP or ICMPv6 checksum a mere Warning).
// One exception: `udp.checksum.zero` ("Illegal checksum value (0)") on the
// outermost UDP header of a frame whose outer network layer is IPv6 and whose
// UDP destination port is Geneve's 6081: tunnels may send a zero checksum over
// IPv6 (RFC 6935, RFC 6936; RFC 8926 §3.3). A zero UDP checksum anywhere else
// over IPv6, inner packets included, is still an error.

import { execFileSync } from "node:child_process";

const SEVERITY_ERROR = 0x00800000;
const GROUP_CHECKSUM = 0x01000000;
const GENEVE_PORT = "6081";

export interface TsharkCheck {
  /** Frames tshark decoded. */
  packets: number;
  /** "frame N: <protocol>: <expert message>" for each problem. */
  problems: string[];
}

let available: boolean | undefined;

/** Is tshark installed and runnable? */
export function tsharkAvailable(): boolean {
  if (available === undefined) {
    try { execFileSync("tshark", ["--version"], { stdio: "ignore" }); available = true; } catch { available = false; }
  }
  return available;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObj = (v: Json | undefined): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const each = (v: Json | undefined): Json[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** Run tshark over a capture and apply the rule above. Throws when tshark cannot read the file. */
export function tsharkCheck(file: string): TsharkCheck {
  const text = execFileSync("tshark", ["-r", file, "-n",
    "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
    "-T", "json", "--no-duplicate-keys"], { encoding: "utf8", maxBuffer: 256 << 20, stdio: ["ignore", "pipe", "pipe"] });
  const packets = (text.trim() ? JSON.parse(text) : []) as Obj[];
  const problems: string[] = [];
  for (const p of packets) {
    const layers = (p._source as Obj).layers as Obj;
    const frame = String(((layers.frame as Obj)?.["frame.number"]) ?? "?");
    const outerNet = Object.keys(layers).find((k) => k === "ip" || k === "ipv6");
    const outerUdp = each(layers.udp)[0];
    const excused = (layer: Json, item: Obj) =>
      "udp.checksum.zero" in item && layer === outerUdp && outerNet === "ipv6" && isObj(layer) && layer["udp.dstport"] === GENEVE_PORT;
    for (const [proto, value] of Object.entries(layers)) {
      for (const layer of each(value)) {
        for (const item of expertItems(layer)) {
          const severity = Number(item["_ws.expert.severity"]), group = Number(item["_ws.expert.group"]);
          if (severity < SEVERITY_ERROR && group !== GROUP_CHECKSUM) continue;
          if (excused(layer, item)) continue;
          problems.push(`frame ${frame}: ${proto}: ${item["_ws.expert.message"]}`);
        }
      }
    }
  }
  return { packets: packets.length, problems };
}

/** Every `_ws.expert` item under a layer's tree. */
function expertItems(v: Json): Obj[] {
  const out: Obj[] = [];
  const walk = (x: Json) => {
    if (Array.isArray(x)) { x.forEach(walk); return; }
    if (!isObj(x)) return;
    for (const [k, child] of Object.entries(x)) {
      if (k === "_ws.expert") { for (const e of each(child)) if (isObj(e)) out.push(e); } else walk(child);
    }
  };
  walk(v);
  return out;
}
