// `wopte migrate --port <name> --from <sled api> --to <sled api> [--also <sled api> …]`:
// live-migrate a guest's port between two running sled hosts (pre-copy,
// pause, final copy, V2P update on every named sled, resume) and print the
// blackout time. The guest's device on the target: --tap <ifname> or memory.

import { call } from "../client.js";
import { apiControl } from "../../sled/control.js";
import { migratePort } from "../../sled/migrate.js";
import { createLogger, logLevelFrom, LogLevelError } from "../../lib/log.js";
import { parseCommand, required, printJson, Failure, UsageError, guard } from "../conventions.js";

export const USAGE = `usage: wopte migrate --port <name> --from <api> --to <api> [--also <api> ...] [--tap <ifname>] [--json] [--log-level L]
  <api>: a sled's API, unix:<path> or http(s)://host:port
  --log-level info shows each phase on stderr (default: warnings and errors, or $WOPTE_LOG_LEVEL)`;
const CMD = { name: "migrate", usage: USAGE };

async function command(args: string[]): Promise<number> {
  const { values } = parseCommand(CMD, args, {
    port: { type: "string" }, from: { type: "string" }, to: { type: "string" }, also: { type: "string", multiple: true },
    tap: { type: "string" }, json: { type: "boolean" }, "log-level": { type: "string" } }, 0);
  if (values.help) { console.log(USAGE); return 0; }
  const port = required(CMD, "--port <name>", values.port);
  const fromApi = required(CMD, "--from <api> (the sled the port is on)", values.from);
  const toApi = required(CMD, "--to <api> (the sled it moves to)", values.to);
  for (const u of [fromApi, toApi, ...(values.also ?? [])]) {
    if (!/^(https?:\/\/[^/]+|unix:\/|\/)/.test(u)) throw new UsageError(`migrate: "${u}" is not a sled API (unix:<path> or http(s)://host:port)`);
  }
  let level;
  try { level = logLevelFrom(values["log-level"], process.env, "warn"); } catch (e) { if (e instanceof LogLevelError) throw new UsageError(e.message); throw e; }
  // stderr: stdout carries the result (and --json)
  const log = createLogger({ name: "wopte-migrate", level, stream: process.stderr });
  const base = (u: string) => (u.startsWith("/") ? `unix:${u}` : u);
  const control = async (api: string) => {
    const h = await call<{ sled: string; underlay?: string }>(base(api), "GET", "/health");
    if (!h.underlay) throw new Failure(`${api} does not report its underlay address (is it a sled host?)`);
    return apiControl(base(api), h.sled, h.underlay, values.tap ? { type: "tap", name: values.tap } : { type: "memory" });
  };
  const from = await control(fromApi), to = await control(toApi);
  const others = await Promise.all((values.also ?? []).map(control));
  const { config } = await call<{ config: never }>(base(fromApi), "GET", `/ports/${encodeURIComponent(port)}`);
  const r = await migratePort({ port, config, from, to, others, log });
  if (values.json) { printJson(r); return 0; }
  console.log(`moved ${r.port} from ${from.name} to ${to.name}: blackout ${r.blackoutMs.toFixed(1)} ms ` +
    `(pre-copy ${r.preCopyPasses} passes, ${r.preCopyBytes} bytes; final copy ${r.finalBytes} bytes; ${r.totalMs.toFixed(0)} ms in all)`);
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
