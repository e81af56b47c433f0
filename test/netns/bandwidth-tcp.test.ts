// Bandwidth enforcement with a real TCP transfer (root): web-a's port is
// limited to 10 Mbit/s outbound; web-c downloads from web-a with curl through
// two sled hosts. Whatever the machine's speed, a token bucket never lets
// through more than its burst plus the rate times the time that passed
// (counted in frames on the wire, as the limit is), and the excess the
// kernel's TCP offers is dropped and counted. How close TCP settles to the
// limit is a speed figure, not a test: it is printed here for the log.
import { describe, it, expect } from "vitest";
import { spawn } from "node:child_process";
import { sh, inNs, guestNs } from "../helpers/netns.js";
import { needs } from "../helpers/tools.js";
import { vpcGuestPortJson } from "../helpers/example-port.js";
import { loopbackSleds } from "../helpers/loopback-sleds.js";
import { until } from "../helpers/until.js";

const root = new URL("../../", import.meta.url).pathname;
const env = needs("root", "ip", "curl", "addon");
const A = "fd00:1122:3344:101::1", C = "fd00:1122:3344:102::1";
const NS_A = "wopte-bw-a", NS_C = "wopte-bw-c";
const LIMIT_MBPS = 10;
/** Bytes to watch pass once the limit bites (about 4 s at the limit; however long it takes). */
const WATCH_BYTES = 5_000_000;
/** Frames the guest's kernel receives that the meter never saw (ARP and NDP answered by web-c's own sled). */
const SLACK_BYTES = 16_384;

describe(env.title("a 10 Mbit/s limit under real TCP"), env.options, () => {
  it("holds web-a's download under 10 Mbit/s plus the burst, counting the excess it drops", async () => {
    const { TapDevice } = await import("../../hosts/io/tap.js");
    const webA = vpcGuestPortJson({ name: "web-a", mac: "a8:40:25:f0:00:05", ipv4: "172.30.0.5", ipv6: "fd00:1024::5", sled: A,
      v2p: [{ ip: "172.30.0.6", mac: "a8:40:25:f0:00:06", underlay: C }] });
    webA.bandwidth = { outMbps: LIMIT_MBPS, ...(process.env.BW_BURST ? { burstBytes: Number(process.env.BW_BURST) } : {}) };
    const webC = vpcGuestPortJson({ name: "web-c", mac: "a8:40:25:f0:00:06", ipv4: "172.30.0.6", ipv6: "fd00:1024::6", sled: C,
      v2p: [{ ip: "172.30.0.5", mac: "a8:40:25:f0:00:05", underlay: A }] });
    const sleds = await loopbackSleds([["a", A], ["c", C]]);
    const [a, c] = sleds;
    let server: ReturnType<typeof spawn> | undefined;
    let curl: ReturnType<typeof spawn> | undefined;
    try {
      await a.h.addPort(webA, TapDevice.open("wbwa0"));
      await c.h.addPort(webC, TapDevice.open("wbwc0"));
      guestNs(NS_A, "wbwa0", "a8:40:25:f0:00:05", "172.30.0.5");
      guestNs(NS_C, "wbwc0", "a8:40:25:f0:00:06", "172.30.0.6");
      // an endless stream; curl runs until the test has seen enough
      const code = `const b=Buffer.alloc(1<<16,7);require("http").createServer((q,s)=>{const more=()=>{while(s.write(b)){}};s.on("drain",more);more();s.on("error",()=>{})}).listen(80,"172.30.0.5",()=>console.log("up"))`;
      server = spawn("ip", ["netns", "exec", NS_A, process.execPath, "-e", code], { stdio: ["ignore", "pipe", "ignore"] });
      await new Promise<void>((resolve, reject) => { server!.stdout!.once("data", () => resolve()); setTimeout(() => reject(new Error("server did not start")), 10_000); });
      const id = a.h.port("web-a").id;
      const burstBytes = a.h.port("web-a").compiled.meters.find((m) => m.meter === 0 && m.dir === "out")!.burstBytes;
      // frames that got past the limit, as web-c's kernel received them (inner frames, which the meter counts)
      const rxBytes = () => Number(inNs(NS_C, "cat", "/sys/class/net/wbwc0/statistics/rx_bytes"));
      const limited = () => a.h.engine.counters(id).drops.RateLimited ?? 0;
      curl = spawn("ip", ["netns", "exec", NS_C, "curl", "-s", "-o", "/dev/null", "http://172.30.0.5/"], { stdio: "ignore" });
      // the limit bites: TCP offers more than 10 Mbit/s and the excess is dropped
      await until(() => limited() > 0, "the meter to drop the excess", 30_000);
      // from here, whatever passes is bounded by the bucket: burst + rate × time
      const b0 = rxBytes(), t0 = performance.now();
      await until(() => rxBytes() - b0 >= WATCH_BYTES, `${WATCH_BYTES} bytes to reach web-c`, 60_000);
      const b1 = rxBytes(), secs = (performance.now() - t0) / 1000;
      const bound = burstBytes + (LIMIT_MBPS * 1e6 / 8) * secs + SLACK_BYTES;
      console.log(`10 Mbit/s limit, burst ${burstBytes} B: ${(((b1 - b0) * 8) / secs / 1e6).toFixed(2)} Mbit/s of frames reached web-c over ${secs.toFixed(2)} s ` +
        `(bound ${((bound * 8) / secs / 1e6).toFixed(2)}); ${limited()} frames over the limit dropped`);
      expect(b1 - b0).toBeLessThanOrEqual(bound);
      expect(limited()).toBeGreaterThan(0);
    } finally {
      curl?.kill();
      server?.kill();
      for (const ns of [NS_A, NS_C]) { try { sh("ip", "netns", "del", ns); } catch { /* gone */ } }
      for (const s of sleds) await s.h.close();
    }
  }, 120_000);
});
