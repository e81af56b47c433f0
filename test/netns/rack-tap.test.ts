// The rack in a box with real guests (`wopte demo --tap`, root): namespaces
// behind TAP devices, the kernel's TCP/IP stack, ping and TCP through the
// sleds, the underlay switch and the gateway.
import { describe, it, expect } from "vitest";
import { needs } from "../helpers/tools.js";

const root = new URL("../../", import.meta.url).pathname;
const env = needs("root", "ip", "ping", "built", "addon");

describe(env.title("rack in a box with TAP guests"), env.options, () => {
  it("carries real pings and TCP between namespaces, through SNAT, and stops what the firewall denies", async () => {
    const { runRack } = await import(`${root}dist/hosts/rack/rack.js`);
    const { loadTopology } = await import(`${root}dist/hosts/rack/topology.js`);
    const s = await runRack(loadTopology(), { durationMs: 6000, tap: true });
    const eps = (s.machines as { endpoints: { name: string }[] }[]).flatMap((m) => m.endpoints);
    const ep = (name: string) => eps.find((e) => e.name === name) as unknown as Record<string, number>;
    expect(ep("web-a").pingsAnswered).toBeGreaterThan(5);
    expect(ep("web-a").bulkBytesAcked).toBeGreaterThan(1_000_000);
    expect(ep("web-a").shortCompleted).toBeGreaterThan(10);   // to the external server, through SNAT
    expect(ep("api-d").shortCompleted).toBeGreaterThan(5);
    expect(ep("web-c").probesAnswered).toBe(0);              // web-a's firewall stops SSH
    expect(ep("db-b").pingsAnswered).toBe(0);                // no external IP: no internet
    expect(ep("stray-x").pingsAnswered).toBe(0);             // another VPC
  }, 60_000);
});
