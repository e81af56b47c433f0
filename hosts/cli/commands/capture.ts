// `wopte capture --port X --out f.pcap [--seconds 10] [--max 10000]`: what a
// port sees, before and after transformation, as pcapng for Wireshark
// (interfaces guest-in, guest-out, network-in, network-out).

import { parseArgs } from "node:util";
import { writeFileSync } from "node:fs";
import { apiBase, call, guarded } from "../client.js";

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: {
    api: { type: "string" }, port: { type: "string" }, out: { type: "string" }, seconds: { type: "string" }, max: { type: "string" }, help: { type: "boolean" } } });
  if (values.help || !values.port || !values.out) {
    console.log("usage: wopte capture --port <name> --out <file.pcap> [--seconds 10] [--max 10000] [--api <url>]");
    return values.help ? 0 : 2;
  }
  return guarded(async () => {
    const q = new URLSearchParams({ seconds: values.seconds ?? "10", max: values.max ?? "10000" });
    console.error(`capturing on ${values.port} for up to ${q.get("seconds")} s or ${q.get("max")} frames …`);
    const bytes = await call<Uint8Array>(apiBase(values.api), "GET", `/ports/${encodeURIComponent(values.port!)}/capture?${q}`);
    writeFileSync(values.out!, bytes);
    console.log(`wrote ${values.out} (${bytes.length} bytes)`);
  });
}
