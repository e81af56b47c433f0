// `wopte migrate --port <name> --from <sled api> --to <sled api> [--also <sled api> …]`:
// live-migrate a guest's port between two running sled hosts (pre-copy,
// pause, final copy, V2P update on every named sled, resume) and print the
// blackout time. The guest's device on the target: --tap <ifname> or memory.

import { parseArgs } from "node:util";
import { call, guarded } from "../client.js";
import { apiControl } from "../../sled/control.js";
import { migratePort } from "../../sled/migrate.js";
import { createLogger, logLevelFrom, LogLevelError } from "../../lib/log.js";

const HELP = `usage: wopte migrate --port <name> --from <url> --to <url> [--also <url> ...] [--tap <ifname>] [--json] [--log-level L]
  --log-level info shows each phase on stderr (default: warnings and errors, or $WOPTE_LOG_LEVEL)`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: {
    port: { type: "string" }, from: { type: "string" }, to: { type: "string" }, also: { type: "string", multiple: true },
    tap: { type: "string" }, json: { type: "boolean" }, "log-level": { type: "string" }, help: { type: "boolean" } } });
  if (values.help || !values.port || !values.from || !values.to) { console.log(HELP); return values.help ? 0 : 2; }
  let level;
  try { level = logLevelFrom(values["log-level"], process.env, "warn"); } catch (e) { if (e instanceof LogLevelError) { console.error(`wopte: ${e.message}`); return 2; } throw e; }
  // stderr: stdout carries the result (and --json)
  const log = createLogger({ name: "wopte-migrate", level, stream: process.stderr });
  return guarded(async () => {
    const control = async (base: string) => {
      const h = await call<{ sled: string; underlay?: string }>(base, "GET", "/health");
      if (!h.underlay) throw new Error(`${base} does not report its underlay address`);
      return apiControl(base, h.sled, h.underlay, values.tap ? { type: "tap", name: values.tap } : { type: "memory" });
    };
    const from = await control(values.from!), to = await control(values.to!);
    const others = await Promise.all((values.also ?? []).map(control));
    const { config } = await call<{ config: never }>(values.from!, "GET", `/ports/${encodeURIComponent(values.port!)}`);
    const r = await migratePort({ port: values.port!, config, from, to, others, log });
    if (values.json) { console.log(JSON.stringify(r)); return; }
    console.log(`moved ${r.port} from ${from.name} to ${to.name}: blackout ${r.blackoutMs.toFixed(1)} ms ` +
      `(pre-copy ${r.preCopyPasses} passes, ${r.preCopyBytes} bytes; final copy ${r.finalBytes} bytes; ${r.totalMs.toFixed(0)} ms in all)`);
  });
}
