// The tshark rule (hosts/harness/tshark.ts) on frames built to break it: bad
// IPv4, TCP and ICMP checksums and a zero UDP checksum inside a tunnel are
// problems; the zero outer UDP checksum of Geneve over IPv6 is not.
import { describe, it, expect, afterAll } from "vitest";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { tsharkCheck } from "../../hosts/harness/tshark.js";
import { needs } from "../helpers/tools.js";

const env = needs("tshark");
import { writeCapture } from "../../hosts/pcap/pcapng.js";
import { geneve, ipFrame, tcp, udp, icmpEcho, TCP_FLAGS } from "../helpers/frames.js";

const dir = mkdtempSync(join(tmpdir(), "wopte-tshark-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const check = (...frames: Uint8Array[]) => {
  const f = join(dir, `c${Math.random().toString(36).slice(2)}.pcap`);
  writeFileSync(f, writeCapture(frames.map((bytes, i) => ({ side: "network" as const, timeMs: i, bytes }))));
  return tsharkCheck(f);
};
const G = "a8:40:25:f0:00:05", P = "a8:40:25:f0:00:06";
const v4tcp = () => ipFrame(P, G, "172.30.0.5", "172.30.0.6", 6, tcp("172.30.0.5", "172.30.0.6", 40000, 80, TCP_FLAGS.SYN));
const v6udp = () => ipFrame(P, G, "fd00:1024::5", "fd00:1024::6", 17, udp("fd00:1024::5", "fd00:1024::6", 40000, 7777, new Uint8Array(4)));
const encap = (inner: Uint8Array) => geneve("02:08:20:ff:ff:01", "02:08:20:01:01:01", "fd00:1122:3344:101::1", "fd00:1122:3344:102::1", { vni: 1024 }, inner);

describe(env.title("tshark checksum rule"), env.options, () => {
  it("accepts good frames, and Geneve over IPv6 with a zero outer UDP checksum", () => {
    expect(check(v4tcp(), v6udp(), encap(v4tcp()), encap(v6udp()))).toEqual({ packets: 4, problems: [] });
  });

  it("flags a bad IPv4 header checksum and a bad TCP checksum, inside Geneve too", () => {
    const ip = v4tcp(); ip[24] ^= 0xff;
    const seg = v4tcp(); seg[50] ^= 0xff;
    const r = check(ip, encap(seg));
    expect(r.problems).toEqual([expect.stringMatching(/^frame 1: ip: Bad checksum/), expect.stringMatching(/^frame 2: tcp: Bad checksum/)]);
  });

  it("flags a bad ICMP checksum, which Wireshark only rates a warning", () => {
    const ping = ipFrame(P, G, "172.30.0.5", "172.30.0.6", 1, icmpEcho("172.30.0.5", "172.30.0.6", true, 1, 1));
    ping[36] ^= 0xff;
    expect(check(ping).problems).toEqual([expect.stringMatching(/^frame 1: icmp: Bad checksum/)]);
  });

  it("flags a zero UDP checksum over IPv6 that is not the Geneve outer header", () => {
    const zero = v6udp(); zero[60] = 0; zero[61] = 0;
    expect(check(zero).problems).toEqual(["frame 1: udp: Illegal checksum value (0)"]);
    expect(check(encap(zero)).problems).toEqual(["frame 1: udp: Illegal checksum value (0)"]);
  });
});
