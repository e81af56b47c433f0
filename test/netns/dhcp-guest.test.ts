// A real DHCP client configures a guest (root): busybox udhcpc in a network
// namespace behind a TAP device asks the sled host's port for a lease, and the
// engine's gateway layer answers (DISCOVER → OFFER, REQUEST → ACK) with the
// guest's address, mask, router, DNS, domain, lease and MTU from the port
// config, and its host name, search list and classless static routes (RFC
// 3442, which udhcpc prefers to the router option). With that lease applied
// the guest pings its gateway.
import { describe, it, expect } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { sh, inNs } from "../helpers/netns.js";
import { needs } from "../helpers/tools.js";
import { loopbackSleds } from "../helpers/loopback-sleds.js";

const root = new URL("../../", import.meta.url).pathname;
const env = needs("root", "ip", "busybox", "ping", "addon");
const run = promisify(execFile);
const NS = "wopte-dhcp-g", TAP = "wdhcp0";

// udhcpc runs this at each event with the lease in its environment: keep
// the environment for the test, and apply the lease as a guest OS would.
const SCRIPT = `#!/bin/sh
[ "$1" = bound ] || exit 0
env | grep -E '^(ip|subnet|mask|router|dns|domain|lease|mtu|serverid|hostname|search|staticroutes)=' > "$LEASE_FILE"
ip addr add "$ip/$mask" dev "$interface"
ip link set "$interface" mtu "$mtu"
# RFC 3442: with classless routes the router option is ignored
set -- $staticroutes
while [ $# -ge 2 ]; do ip route add "$1" via "$2" dev "$interface"; shift 2; done
`;

describe(env.title("a guest configured by DHCP from the engine"), env.options, () => {
  it("gets its lease from udhcpc and then pings its gateway", async () => {
    const { TapDevice } = await import("../../hosts/io/tap.js");
    const port = JSON.parse(readFileSync(join(root, "examples/port-a.json"), "utf8"));
    Object.assign(port.dhcp, { hostname: "web-a", domainSearch: ["vpc.example", "example.com"], staticRoutes: [{ dest: "10.20.0.0/16", via: "172.30.0.1" }] });
    const dir = mkdtempSync(join(tmpdir(), "wopte-dhcp-"));
    const script = join(dir, "lease.sh"), leaseFile = join(dir, "lease.env");
    writeFileSync(script, SCRIPT);
    chmodSync(script, 0o755);

    const [{ h: sled }] = await loopbackSleds([["dhcp", port.sled.underlay]]);
    try { sh("ip", "netns", "del", NS); } catch { /* fresh */ }
    try {
      await sled.addPort(port, TapDevice.open(TAP));
      sh("ip", "netns", "add", NS);
      sh("ip", "link", "set", TAP, "netns", NS);
      inNs(NS, "ip", "link", "set", "lo", "up");
      inNs(NS, "ip", "link", "set", TAP, "address", port.guest.mac);
      inNs(NS, "ip", "link", "set", TAP, "up");
      // asynchronously: the sled answering lives on this process's event loop
      await run("ip", ["netns", "exec", NS, "env", `LEASE_FILE=${leaseFile}`, "busybox", "udhcpc", "-i", TAP, "-f", "-q", "-n",
        "-t", "5", "-T", "1", "-s", script], { timeout: 20_000 });
      const lease = Object.fromEntries(readFileSync(leaseFile, "utf8").trim().split("\n").map((l) => l.split("=", 2) as [string, string]));
      expect(lease).toMatchObject({
        ip: "172.30.0.5", mask: "24", router: "172.30.0.1", serverid: "172.30.0.1",
        dns: "172.30.0.2", domain: "vpc.example", lease: "86400", mtu: "1500",
        hostname: "web-a", search: "vpc.example example.com", staticroutes: "10.20.0.0/16 172.30.0.1 0.0.0.0/0 172.30.0.1",
      });
      expect(inNs(NS, "ip", "-4", "addr", "show", "dev", TAP)).toContain("172.30.0.5/24");
      const routes = inNs(NS, "ip", "-4", "route", "show", "dev", TAP);
      expect(routes).toMatch(/^default via 172\.30\.0\.1/m);
      expect(routes).toMatch(/^10\.20\.0\.0\/16 via 172\.30\.0\.1/m);
      const ping = await run("ip", ["netns", "exec", NS, "ping", "-c", "3", "-i", "0.2", "-W", "2", "172.30.0.1"], { timeout: 15_000 });
      expect(ping.stdout).toMatch(/3 packets transmitted, 3 received/);
      const c = sled.stats("web-a").counters;
      expect(c.hairpins).toBeGreaterThanOrEqual(2 + 3); // OFFER, ACK, three echo replies (ARP too)
    } finally {
      try { sh("ip", "netns", "del", NS); } catch { /* gone */ }
      await sled.close();
    }
  }, 40_000);
});
