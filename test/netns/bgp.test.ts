// The gateway advertises its external ranges by BGP through BIRD, and a peer
// in the "external" namespace (a second BIRD) learns them; adding and
// removing a range changes what the peer learns.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { spawn, ChildProcess } from "node:child_process";
import { BgpSpeaker } from "../../hosts/gateway/bgp.js";
import { veth, inNs } from "../helpers/netns.js";
import { needs } from "../helpers/tools.js";

const env = needs("root", "ip", "bird");

describe(env.title("BGP advertisement through BIRD"), env.options, () => {
  const dir = env.ready ? mkdtempSync(join(tmpdir(), "wopte-bgp-")) : "";
  let cleanup = () => {};
  let peer: ChildProcess;
  let speaker: BgpSpeaker;
  const peerSock = join(dir, "peer.ctl");

  beforeAll(async () => {
    cleanup = veth({ ns: "wopte-bgp-gw", dev: "wbgp0", addr: "169.254.77.1/30" }, { ns: "wopte-bgp-ext", dev: "wbgp1", addr: "169.254.77.2/30" });
    writeFileSync(join(dir, "peer.conf"), [
      "router id 169.254.77.2;", "protocol device {}",
      "protocol kernel { ipv4 { import none; export none; }; }",
      "protocol bgp wopte_gateway { local 169.254.77.2 as 65002; neighbor 169.254.77.1 as 65001; ipv4 { import all; export none; }; }", "",
    ].join("\n"));
    peer = spawn("ip", ["netns", "exec", "wopte-bgp-ext", "bird", "-f", "-c", join(dir, "peer.conf"), "-s", peerSock], { stdio: "ignore" });
    speaker = new BgpSpeaker({
      localAs: 65001, routerId: "169.254.77.1", localAddress: "169.254.77.1", neighbor: { address: "169.254.77.2", as: 65002 },
      configPath: join(dir, "gw.conf"), socketPath: join(dir, "gw.ctl"), wrap: ["ip", "netns", "exec", "wopte-bgp-gw"],
    });
    await speaker.start(["198.51.100.0/24"]);
  }, 30_000);

  afterAll(async () => {
    await speaker?.stop();
    peer?.kill("SIGTERM");
    cleanup();
  });

  async function learned(want: (routes: string) => boolean): Promise<string> {
    const deadline = Date.now() + 20_000;
    let routes = "";
    while (Date.now() < deadline) {
      try { routes = inNs("wopte-bgp-ext", "birdc", "-s", peerSock, "show", "route"); } catch { routes = ""; }
      if (want(routes)) return routes;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`peer never learned the expected routes:\n${routes}`);
  }

  it("the peer learns the owned range", async () => {
    await learned((r) => r.includes("198.51.100.0/24"));
  }, 30_000);

  it("adding and removing a range changes what the peer learns", async () => {
    await speaker.update(["198.51.100.0/24", "203.0.113.0/25"]);
    await learned((r) => r.includes("203.0.113.0/25"));
    await speaker.update(["203.0.113.0/25"]);
    await learned((r) => !r.includes("198.51.100.0/24") && r.includes("203.0.113.0/25"));
  }, 30_000);
});
