// TAP devices through the native addon (root): frames the kernel sends come
// out of onFrames in batches; frames written in reach the kernel's stack.
import { describe, it, expect, afterAll } from "vitest";
import { existsSync } from "node:fs";
import { createSocket } from "node:dgram";
import { TapDevice } from "../../hosts/io/tap.js";
import { sh } from "../helpers/netns.js";
import { ipFrame, icmpEcho } from "../helpers/frames.js";

const addon = existsSync(new URL("../../hosts/native/build/Release/wopte_tap.node", import.meta.url).pathname);
const root = process.getuid?.() === 0 && existsSync("/dev/net/tun");

describe.skipIf(!addon || !root)("TAP devices", () => {
  const tap = addon && root ? TapDevice.open("wtest0") : undefined;
  const got: Uint8Array[] = [];
  afterAll(() => { tap?.close(); try { sh("ip", "link", "del", "wtest0"); } catch { /* gone with the fd */ } });

  it("reads what the kernel sends out of the interface", async () => {
    tap!.onFrames((frames) => { for (const f of frames) got.push(Uint8Array.from(f)); });
    sh("ip", "link", "set", "wtest0", "address", "02:00:00:77:00:01");
    sh("ip", "addr", "add", "10.99.0.1/24", "dev", "wtest0");
    sh("ip", "link", "set", "wtest0", "up");
    sh("ip", "neigh", "replace", "10.99.0.2", "lladdr", "02:00:00:77:00:02", "dev", "wtest0", "nud", "permanent");
    const s = createSocket("udp4");
    await new Promise<void>((r) => s.send(Buffer.from("hello tap"), 9999, "10.99.0.2", () => r()));
    s.close();
    const deadline = Date.now() + 3000;
    let udp: Uint8Array | undefined;
    while (!udp && Date.now() < deadline) {
      udp = got.find((f) => f[12] === 0x08 && f[13] === 0x00 && f[23] === 17 && ((f[36] << 8) | f[37]) === 9999);
      if (!udp) await new Promise((r) => setTimeout(r, 20));
    }
    expect(udp).toBeDefined();
    expect(Buffer.from(udp!.subarray(0, 6)).toString("hex")).toBe("020000770002");
    expect(Buffer.from(udp!.subarray(42)).toString()).toBe("hello tap");
    expect(tap!.counters.rxBatches).toBeGreaterThan(0);
  });

  it("delivers written frames to the kernel, which answers a ping", async () => {
    const n = got.length;
    tap!.send([ipFrame("02:00:00:77:00:01", "02:00:00:77:00:02", "10.99.0.2", "10.99.0.1", 1, icmpEcho("10.99.0.2", "10.99.0.1", true, 42, 1))]);
    const deadline = Date.now() + 3000;
    let reply: Uint8Array | undefined;
    while (!reply && Date.now() < deadline) {
      reply = got.slice(n).find((f) => f[23] === 1 && f[34] === 0 && ((f[38] << 8) | f[39]) === 42);
      if (!reply) await new Promise((r) => setTimeout(r, 20));
    }
    expect(reply).toBeDefined();
    expect(tap!.counters.txFrames).toBe(1);
  });

  it("refuses a bad name with errno text", () => {
    expect(() => TapDevice.open("this-name-is-far-too-long")).toThrow(/string of at most 15 bytes|TUNSETIFF/);
  });
});
