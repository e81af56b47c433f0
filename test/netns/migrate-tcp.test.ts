// Live migration with a real TCP connection (root): a guest in a namespace
// downloads a paced 12 MB stream with curl from a guest on sled C while its
// port moves from sled A to sled B (pre-copy, pause, final copy, V2P update,
// resume). The guest's VNIC is re-plugged into sled B at resume, as a
// hypervisor would move the VM's NIC. The download must finish with the
// right checksum and no reset, and the blackout is printed.
import { describe, it, expect } from "vitest";
import { spawn, execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { sh, guestNs } from "../helpers/netns.js";
import { needs } from "../helpers/tools.js";
import { until } from "../helpers/until.js";
import { vpcGuestPortJson } from "../helpers/example-port.js";
import { loopbackSleds } from "../helpers/loopback-sleds.js";
import type { GuestDevice } from "../../hosts/sled/devices.js";
import type { FrameBatch } from "../../hosts/io/ring.js";
import type { TapDevice as TapDeviceType } from "../../hosts/io/tap.js";

const root = new URL("../../", import.meta.url).pathname;
const env = needs("root", "ip", "curl", "addon");
const run = promisify(execFile);
const A = "fd00:1122:3344:101::1", B = "fd00:1122:3344:103::1", C = "fd00:1122:3344:102::1";
const NS_A = "wopte-mig-a", NS_C = "wopte-mig-c";

/** The guest's VNIC as the hypervisor sees it: one TAP, plugged into whichever sled runs the guest. */
class MovableVnic {
  private readonly sinks = new Map<string, (b: FrameBatch) => void>();
  constructor(readonly tap: TapDeviceType, public active: string) { tap.onBatch((b) => this.sinks.get(this.active)?.(b)); }
  /** What sled `sled` sees: frames only while the guest runs there; closing it leaves the TAP alone. */
  view(sled: string): GuestDevice {
    const tap = this.tap;
    return {
      kind: "tap", name: tap.name,
      onBatch: (cb) => { this.sinks.set(sled, cb); },
      onFrames: (cb) => { this.sinks.set(sled, (b) => cb(b.copy())); },
      send: (frames) => { tap.send(frames); },
      stage: (buf, off, len) => tap.stage(buf, off, len),
      commit: () => tap.commit(),
      close: () => { this.sinks.delete(sled); },
    };
  }
}

describe(env.title("live migration under a real TCP download"), env.options, () => {
  it("keeps curl's connection through the move, byte for byte", async () => {
    const { TapDevice } = await import("../../hosts/io/tap.js");
    const { migratePort } = await import("../../hosts/sled/migrate.js");
    const { localControl } = await import("../../hosts/sled/control.js");
    const webA = vpcGuestPortJson({ name: "web-a", mac: "a8:40:25:f0:00:05", ipv4: "172.30.0.5", ipv6: "fd00:1024::5", sled: A,
      v2p: [{ ip: "172.30.0.6", mac: "a8:40:25:f0:00:06", underlay: C }] });
    const webC = vpcGuestPortJson({ name: "web-c", mac: "a8:40:25:f0:00:06", ipv4: "172.30.0.6", ipv6: "fd00:1024::6", sled: C,
      v2p: [{ ip: "172.30.0.5", mac: "a8:40:25:f0:00:05", underlay: A }] });
    const sleds = await loopbackSleds([["a", A], ["b", B], ["c", C]]);
    const [a, b, c] = sleds;
    const vnic = new MovableVnic(TapDevice.open("wmiga0"), "a");
    const tapC = TapDevice.open("wmigc0");
    let server: ReturnType<typeof spawn> | undefined;
    try {
      await a.h.addPort(webA, vnic.view("a"));
      await c.h.addPort(webC, tapC);
      guestNs(NS_A, "wmiga0", "a8:40:25:f0:00:05", "172.30.0.5");
      guestNs(NS_C, "wmigc0", "a8:40:25:f0:00:06", "172.30.0.6");

      // web-c serves 12 MB of seeded bytes, 96 KB every 15 ms (about 2.5 s)
      const serverCode = `let x=Buffer.alloc(12<<20);
        for(let i=0;i<x.length;i+=64){require("crypto").createHash("sha512").update(String(i)).digest().copy(x,i)}
        require("http").createServer((q,s)=>{s.writeHead(200,{"content-length":x.length});let o=0;
          const t=setInterval(()=>{if(o>=x.length){clearInterval(t);s.end();return}s.write(x.subarray(o,o+98304));o+=98304},15);})
          .listen(80,"172.30.0.6",()=>console.log("up"));`;
      server = spawn("ip", ["netns", "exec", NS_C, process.execPath, "-e", serverCode], { stdio: ["ignore", "pipe", "ignore"] });
      await new Promise<void>((resolve, reject) => { server!.stdout!.once("data", () => resolve()); setTimeout(() => reject(new Error("server did not start")), 10_000); });
      const expected = (() => {
        const x = Buffer.alloc(12 << 20);
        for (let i = 0; i < x.length; i += 64) createHash("sha512").update(String(i)).digest().copy(x, i);
        return createHash("sha256").update(x).digest("hex");
      })();

      const download = run("ip", ["netns", "exec", NS_A, "sh", "-c", "curl -sS --fail --max-time 30 http://172.30.0.6/ | sha256sum"], { timeout: 40_000 });
      // well into the stream: a few hundred of web-c's segments have reached web-a
      await until(() => a.h.stats("web-a").counters.pktsIn > 300, "the download to be under way", 20_000);
      const toB = localControl(b.h, B, () => vnic.view("b"));
      const report = await migratePort({
        port: "web-a", config: webA,
        from: localControl(a.h, A, () => vnic.view("a")),
        // the VM's NIC is plugged into sled B when the guest resumes there
        to: { ...toB, setState: async (n, s) => { if (s === "running") vnic.active = "b"; await toB.setState(n, s); } },
        others: [localControl(c.h, C, () => tapC)],
      });
      console.log(`migrated web-a under a curl download: blackout ${report.blackoutMs.toFixed(1)} ms, pre-copy ${report.preCopyPasses} passes, final copy ${report.finalBytes} bytes`);
      expect(a.h.ports.has("web-a")).toBe(false);

      const { stdout } = await download;
      expect(stdout.split(" ")[0]).toBe(expected);
      // the connection lived on through B and was closed with FINs when the download ended
      // (curl's FIN reaches B's pump a moment after curl exits: wait for it, up to 3 s)
      const closing = ["fin-wait-1", "fin-wait-2", "time-wait", "close-wait", "last-ack", "closed"];
      const flowState = () => b.h.flows("web-a").find((f) => f.out.proto === 6 && f.out.dport === 80)?.tcpState;
      for (let t = 0; t < 60 && !closing.includes(flowState() ?? ""); t++) await new Promise((r) => setTimeout(r, 50));
      expect(closing).toContain(flowState());
      expect(b.h.stats("web-a").counters.pktsIn).toBeGreaterThan(100); // the rest of the stream came through B
      expect(report.blackoutMs).toBeGreaterThan(0); // how short it is: bench/migrate.ts
    } finally {
      server?.kill();
      for (const ns of [NS_A, NS_C]) { try { sh("ip", "netns", "del", ns); } catch { /* gone */ } }
      for (const s of sleds) await s.h.close();
      vnic.tap.close();
    }
  }, 60_000);
});
