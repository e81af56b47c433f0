// Bandwidth enforcement with a real TCP transfer (root): web-a's port is
// limited to 10 Mbit/s outbound; web-c downloads from web-a with curl through
// two sled hosts. The kernel's TCP, backing off from what the token bucket
// drops, must settle at 10 Mbit/s ± 5 % (counted in frames on the wire, as
// the limit is: curl's goodput plus the headers of every segment).
import { describe, it, expect } from "vitest";
import { spawn, execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { sh, inNs, guestNs } from "../helpers/netns.js";
import { needs } from "../helpers/tools.js";
import { vpcGuestPortJson } from "../helpers/example-port.js";
import { loopbackSleds } from "../helpers/loopback-sleds.js";

const root = new URL("../../", import.meta.url).pathname;
const env = needs("root", "ip", "curl", "addon");
const run = promisify(execFile);
const A = "fd00:1122:3344:101::1", C = "fd00:1122:3344:102::1";
const NS_A = "wopte-bw-a", NS_C = "wopte-bw-c";
const LIMIT_MBPS = 10, WARMUP = 2, SECONDS = 5;

describe(env.title("a 10 Mbit/s limit under real TCP"), env.options, () => {
  it("holds web-a's download to 10 Mbit/s ± 5 %, counting the excess it drops", async () => {
    const { TapDevice } = await import("../../hosts/io/tap.js");
    const webA = vpcGuestPortJson({ name: "web-a", mac: "a8:40:25:f0:00:05", ipv4: "172.30.0.5", ipv6: "fd00:1024::5", sled: A,
      v2p: [{ ip: "172.30.0.6", mac: "a8:40:25:f0:00:06", underlay: C }] });
    webA.bandwidth = { outMbps: LIMIT_MBPS, ...(process.env.BW_BURST ? { burstBytes: Number(process.env.BW_BURST) } : {}) };
    const webC = vpcGuestPortJson({ name: "web-c", mac: "a8:40:25:f0:00:06", ipv4: "172.30.0.6", ipv6: "fd00:1024::6", sled: C,
      v2p: [{ ip: "172.30.0.5", mac: "a8:40:25:f0:00:05", underlay: A }] });
    const sleds = await loopbackSleds([["a", A], ["c", C]]);
    const [a, c] = sleds;
    let server: ReturnType<typeof spawn> | undefined;
    try {
      await a.h.addPort(webA, TapDevice.open("wbwa0"));
      await c.h.addPort(webC, TapDevice.open("wbwc0"));
      guestNs(NS_A, "wbwa0", "a8:40:25:f0:00:05", "172.30.0.5");
      guestNs(NS_C, "wbwc0", "a8:40:25:f0:00:06", "172.30.0.6");
      // an endless stream; curl stops after SECONDS
      const code = `const b=Buffer.alloc(1<<16,7);require("http").createServer((q,s)=>{const more=()=>{while(s.write(b)){}};s.on("drain",more);more();s.on("error",()=>{})}).listen(80,"172.30.0.5",()=>console.log("up"))`;
      server = spawn("ip", ["netns", "exec", NS_A, process.execPath, "-e", code], { stdio: ["ignore", "pipe", "ignore"] });
      await new Promise<void>((resolve, reject) => { server!.stdout!.once("data", () => resolve()); setTimeout(() => reject(new Error("server did not start")), 10_000); });
      const id = a.h.port("web-a").id;
      // frames that got past the limit, as web-c's kernel received them (inner frames, which the meter counts)
      const rxBytes = () => Number(inNs(NS_C, "cat", "/sys/class/net/wbwc0/statistics/rx_bytes"));
      const download = run("ip", ["netns", "exec", NS_C, "curl", "-s", "-o", "/dev/null", "--max-time", String(WARMUP + SECONDS + 1), "http://172.30.0.5/"]).catch(() => undefined);
      // after TCP's start-up and the bucket's initial burst: the steady state
      await new Promise((r) => setTimeout(r, WARMUP * 1000));
      const b0 = rxBytes(), t0 = performance.now();
      await new Promise((r) => setTimeout(r, SECONDS * 1000));
      const b1 = rxBytes(), secs = (performance.now() - t0) / 1000;
      await download;
      const mbps = ((b1 - b0) * 8) / secs / 1e6;
      const after = a.h.engine.counters(id);
      console.log(`10 Mbit/s limit, burst ${webA.bandwidth.burstBytes ?? "default"}: ${mbps.toFixed(2)} Mbit/s of frames reached web-c over ${secs.toFixed(2)} s; ${after.drops.RateLimited ?? 0} frames over the limit dropped`);
      expect(mbps).toBeGreaterThan(LIMIT_MBPS * 0.95);
      expect(mbps).toBeLessThan(LIMIT_MBPS * 1.05);
      expect(after.drops.RateLimited ?? 0).toBeGreaterThan(0);
    } finally {
      server?.kill();
      for (const ns of [NS_A, NS_C]) { try { sh("ip", "netns", "del", ns); } catch { /* gone */ } }
      for (const s of sleds) await s.h.close();
    }
  }, 60_000);
});
