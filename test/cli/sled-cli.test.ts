// The sled host and the `wopte` commands as a user runs them: start
// `wopte sled`, then list, change and dump its ports over the API.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn, execFile, ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { promisify } from "node:util";
import { needs, requireOrSkip, which } from "../helpers/tools.js";

const root = new URL("../../", import.meta.url).pathname;
const bin = join(root, "bin", "wopte.js");
const env = needs("built");
const run = promisify(execFile);

describe(env.title("wopte sled + CLI"), env.options, () => {
  let sled: ChildProcess;
  let api = "";
  const wopte = async (...args: string[]) => (await run("node", [bin, ...args, "--api", api], { cwd: root })).stdout;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "wopte-cli-"));
    const port = JSON.parse(readFileSync(join(root, "examples/port-a.json"), "utf8"));
    writeFileSync(join(dir, "port-a.json"), JSON.stringify(port));
    writeFileSync(join(dir, "sled.json"), JSON.stringify({
      name: "sled-a",
      underlay: { address: "fd00:1122:3344:101::1", bind: { host: "::1", port: 0 } },
      api: { socket: join(dir, "sled.sock") },
      ports: [{ config: "port-a.json", device: { type: "memory" } }],
      multicast: { forwarding: [{ underlay: "ff04::9:9", nextHops: [{ nextHop: "fd00:1122:3344:1::9", replication: "underlay" }] }] },
    }));
    sled = spawn("node", [bin, "sled", "--config", join(dir, "sled.json"), "--state-dir", join(dir, "state")], { cwd: root });
    api = await new Promise<string>((resolve, reject) => {
      let out = "";
      sled.stdout!.on("data", (d) => {
        out += d;
        const m = /"api":"(unix:[^"]+)"/.exec(out);
        if (m) resolve(m[1]);
      });
      sled.on("exit", (code) => reject(new Error(`sled exited ${code}: ${out}`)));
      setTimeout(() => reject(new Error(`no API line in: ${out}`)), 15_000);
    });
  }, 30_000);
  afterAll(() => { sled?.kill("SIGTERM"); });

  it("lists ports as a table and as JSON", async () => {
    expect(await wopte("port", "list")).toMatch(/^NAME\s+ID\s+VNI.*\nweb-a\s+0\s+1024/m);
    expect(JSON.parse(await wopte("port", "list", "--json"))[0].name).toBe("web-a");
  });

  it("adds and removes firewall rules and routes", async () => {
    await wopte("fw", "add", "web-a", "--name", "ssh", "--direction", "in", "--action", "allow", "--proto", "tcp", "--ports", "22", "--host", "subnet:10.0.0.0/8");
    const rules = JSON.parse(await wopte("fw", "list", "web-a", "--json"));
    expect(rules.map((r: { name: string }) => r.name)).toContain("ssh");
    await wopte("fw", "rm", "web-a", "ssh");
    expect(await wopte("fw", "list", "web-a")).not.toMatch(/\bssh\b/);
    await wopte("route", "add", "web-a", "--dest", "192.0.2.0/24", "--target", "drop");
    expect(await wopte("route", "list", "web-a")).toMatch(/192\.0\.2\.0\/24\s+drop/);
    await wopte("route", "rm", "web-a", "--dest", "192.0.2.0/24");
  });

  it("sets V2P mappings and shows layers and stats", async () => {
    await wopte("v2p", "set", "--vni", "1024", "--ip", "172.30.0.9", "--mac", "a8:40:25:f0:00:09", "--underlay", "fd00:1122:3344:103::1");
    expect(await wopte("v2p", "list")).toMatch(/172\.30\.0\.9/);
    expect(await wopte("layers", "web-a")).toMatch(/gateway[\s\S]*firewall[\s\S]*router[\s\S]*nat[\s\S]*overlay/);
    const stats = JSON.parse(await wopte("stats", "web-a", "--json"));
    expect(stats).toMatchObject({ port: "web-a", state: "running" });
  });

  it("sets M2P mappings and joins and leaves groups with source filters", async () => {
    await wopte("mcast", "m2p", "set", "--group", "239.1.2.3", "--underlay", "ff04::1:2:3");
    expect(await wopte("mcast", "m2p", "list")).toMatch(/^239\.1\.2\.3\s+ff04::1:2:3$/m);
    await wopte("mcast", "join", "web-a", "--group", "239.1.2.3", "--mode", "include", "--source", "172.30.0.6", "--source", "172.30.0.7");
    expect(await wopte("mcast", "list", "web-a")).toMatch(/^239\.1\.2\.3\s+include\s+172\.30\.0\.6, 172\.30\.0\.7$/m);
    const stats = JSON.parse(await wopte("stats", "web-a", "--json"));
    expect(stats.multicast.groups).toBe(1);
    expect(await wopte("mcast", "members")).toMatch(/^239\.1\.2\.3\s+ff04::1:2:3\s+web-a\s+include 172\.30\.0\.6,172\.30\.0\.7$/m);
    expect(await wopte("mcast", "leave", "web-a", "--group", "239.1.2.3")).toBe("web-a left 239.1.2.3\n");
    expect(JSON.parse(await wopte("mcast", "list", "web-a", "--json"))).toEqual([]);
    expect(await wopte("mcast", "leave", "web-a", "--group", "239.1.2.3")).toBe("web-a was not a member of 239.1.2.3\n");
    await wopte("mcast", "m2p", "rm", "--group", "239.1.2.3");
    expect(await wopte("mcast", "m2p", "list")).toBe("(none)\n");
    await expect(run("node", [bin, "mcast", "join", "web-a", "--group", "224.0.0.251", "--api", api]))
      .rejects.toMatchObject({ stderr: expect.stringMatching(/224\.0\.0\.251 is a link-scope group/) });
    await expect(run("node", [bin, "mcast", "join", "web-a", "--group", "239.1.2.3", "--api", api]))
      .rejects.toMatchObject({ stderr: expect.stringMatching(/no M2P mapping for 239\.1\.2\.3/) });
  });

  it("keeps a multicast forwarding table: next hops added, replaced, listed and cleared", async () => {
    expect(await wopte("mcast", "fwd", "list")).toMatch(/^ff04::9:9\s+fd00:1122:3344:1::9\s+77\s+underlay\s+any$/m); // from the sled's config file
    await wopte("mcast", "fwd", "set", "--underlay", "ff04::1:2:3", "--next-hop", "fd00:1122:3344:1::7", "--next-hop", "fd00:1122:3344:2::7", "--replication", "underlay");
    expect(await wopte("mcast", "fwd", "set", "--underlay", "ff04::1:2:3", "--next-hop", "fd00:1122:3344:1::7", "--replication", "both",
      "--mode", "include", "--source", "172.30.0.6")).toBe("ff04::1:2:3: fd00:1122:3344:1::7 (both), fd00:1122:3344:2::7 (underlay)\n");
    const list = await wopte("mcast", "fwd", "list");
    expect(list).toMatch(/^ff04::1:2:3\s+fd00:1122:3344:1::7\s+77\s+both\s+include 172\.30\.0\.6$/m);
    expect(list).toMatch(/^ff04::1:2:3\s+fd00:1122:3344:2::7\s+77\s+underlay\s+any$/m);
    await expect(run("node", [bin, "mcast", "fwd", "set", "--underlay", "ff04::1:2:3", "--next-hop", "ff04::1", "--replication", "external", "--api", api]))
      .rejects.toMatchObject({ stderr: expect.stringMatching(/ff04::1 is a multicast address/) });
    expect(await wopte("mcast", "fwd", "clear", "--underlay", "ff04::1:2:3")).toBe("cleared the forwarding entry of ff04::1:2:3\n");
    expect(await wopte("mcast", "fwd", "clear", "--underlay", "ff04::1:2:3")).toBe("ff04::1:2:3 had no forwarding entry\n");
    expect(JSON.parse(await wopte("mcast", "fwd", "list", "--json")).map((e: { underlay: string }) => e.underlay)).toEqual(["ff04::9:9"]);
  });

  it("fw list fits 80 columns and writes hosts, protocols and ports as the options take them", async () => {
    await wopte("fw", "add", "web-a", "--name", "web-from-partners", "--direction", "in", "--action", "allow", "--priority", "100", "--proto", "tcp,udp",
      "--ports", "80,443,8000-8080", "--host", "subnet:198.51.100.0/24", "--host", "ip:2001:db8:1234:5678::77", "--host", "instance:172.30.0.6,172.30.0.7");
    const text = await wopte("fw", "list", "web-a");
    for (const line of text.trimEnd().split("\n")) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(text).toMatch(/^web-from-partners\s+in\s+100\s+allow\s+subnet:/m);
    expect(text).toMatch(/198\.51\.100\.0\/24/);
    expect(text).not.toMatch(/[{}"]/); // no JSON in cells
    expect(text).toMatch(/instance:172\.30\.0\.6,/);
    expect(text).toMatch(/8000-8080/);
    await wopte("fw", "rm", "web-a", "web-from-partners");
  });

  it("port show prints a table; --json prints the data", async () => {
    const text = await wopte("port", "show", "web-a");
    expect(text).not.toMatch(/^\{/);
    expect(text).toMatch(/^FIELD\s+VALUE/m);
    expect(text).toMatch(/^port\s+web-a$/m);
    expect(JSON.parse(await wopte("port", "show", "web-a", "--json")).config.name).toBe("web-a");
  });

  it("top: the first frame already shows rates, all of them rates; --json prints them", async () => {
    const lines = (await wopte("top", "--count", "1", "--interval", "0.2")).split("\n");
    expect(lines[0]).toMatch(/^wopte top — .* rates over 0\.2 s/);
    expect(lines.find((l) => /^PORT/.test(l))).toMatch(/IN BPS\s+OUT BPS\s+IN PPS\s+OUT PPS\s+FLOWS\s+NAT\s+DROPS\/S/);
    const frames = (await wopte("top", "--count", "2", "--interval", "0.1", "--json")).trim().split("\n").map((l) => JSON.parse(l));
    expect(frames).toHaveLength(2);
    expect(frames[0].ports[0]).toMatchObject({ port: "web-a", bpsIn: expect.any(Number), dropsPerSec: expect.any(Number) });
  });

  it("capture --out - writes pcapng to stdout, which tshark reads from a pipe", async () => {
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      const p = spawn("node", [bin, "capture", "--port", "web-a", "--out", "-", "--seconds", "1", "--api", api], { cwd: root });
      const chunks: Buffer[] = [];
      p.stdout!.on("data", (d: Buffer) => chunks.push(d));
      p.on("exit", (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`capture exited ${code}`))));
    });
    expect(bytes.readUInt32LE(0)).toBe(0x0a0d0d0a); // a pcapng section header, nothing else on stdout
    expect(bytes.includes(Buffer.from("from-guest"))).toBe(true);
    requireOrSkip("tshark");
    const { stdout } = await run("sh", ["-c", `node "${bin}" capture --port web-a --out - --seconds 1 --api ${api} | "${which("tshark")}" -r - -T fields -e frame.number; echo "tshark exit $?"`], { cwd: root });
    expect(stdout).toMatch(/tshark exit 0/);
  });

  it("reports a clear error for a bad request and exits non-zero", async () => {
    await expect(run("node", [bin, "fw", "rm", "web-a", "nope", "--api", api])).rejects.toMatchObject({ stderr: expect.stringMatching(/no firewall rule nope/) });
  });
});
