// `wopte capture --port X --out f.pcapng [--seconds 10] [--max 10000]`: what a
// port sees, before and after transformation, as pcapng for Wireshark and
// for `wopte replay` (interfaces from-guest, to-guest, from-network,
// to-network; nanosecond timestamps; dropped frames carry the reason in their
// comment). `--out -` writes the capture to stdout: `| tshark -r -`.

import { writeFileSync } from "node:fs";
import { apiBase, call } from "../client.js";
import { parseCommand, required, numberOption, Failure, guard } from "../conventions.js";

export const USAGE = `usage: wopte capture --port <name> --out <file.pcapng>|- [--seconds 10] [--max 10000] [--api <url>]
--out -: pcapng on stdout (wopte capture --port web-a --out - | tshark -r -)
--seconds: 1 to 600; --max: frames, 1 to 1000000 (whichever comes first ends it)`;
const CMD = { name: "capture", usage: USAGE };

async function command(args: string[]): Promise<number> {
  const { values } = parseCommand(CMD, args, {
    api: { type: "string" }, port: { type: "string" }, out: { type: "string" }, seconds: { type: "string" }, max: { type: "string" } }, 0);
  if (values.help) { console.log(USAGE); return 0; }
  const port = required(CMD, "--port <name>", values.port);
  const out = required(CMD, "--out <file> (or - for stdout)", values.out);
  const seconds = numberOption(CMD, "--seconds", values.seconds, { min: 1, max: 600, integer: true, unit: "seconds", fallback: 10 });
  const max = numberOption(CMD, "--max", values.max, { min: 1, max: 1_000_000, integer: true, unit: "frames", fallback: 10_000 });
  const q = new URLSearchParams({ seconds: String(seconds), max: String(max) });
  process.stderr.write(`capturing on ${port} for up to ${seconds} s or ${max} frames …\n`);
  const bytes = await call<Uint8Array>(apiBase(values.api), "GET", `/ports/${encodeURIComponent(port)}/capture?${q}`);
  if (out === "-") {
    await new Promise<void>((resolve, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())));
    process.stderr.write(`wrote ${bytes.length} bytes of pcapng to stdout\n`);
    return 0;
  }
  try { writeFileSync(out, bytes); } catch (err) { throw new Failure(`cannot write ${out}: ${(err as Error).message}`); }
  console.log(`wrote ${out} (${bytes.length} bytes)`);
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
