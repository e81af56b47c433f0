// The hosts' logger: pino, one JSON object per line for log collectors, or
// one readable line per record when a person watches a terminal. The level
// comes from `--log-level`, else $WOPTE_LOG_LEVEL, else info. Hosts that are
// embedded (tests, the rack in a box) get a silent logger unless given one.

import pino, { Logger, DestinationStream } from "pino";

export type { Logger };

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A bad `--log-level` or $WOPTE_LOG_LEVEL: the message names the source and the valid levels. */
export class LogLevelError extends Error {}

/** The level from a `--log-level` flag, else the environment, else `fallback`; refuses anything else. */
export function logLevelFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, fallback: LogLevel = "info"): LogLevel {
  const [value, source] = flag !== undefined ? [flag, "--log-level"] : env.WOPTE_LOG_LEVEL ? [env.WOPTE_LOG_LEVEL, "$WOPTE_LOG_LEVEL"] : [fallback, ""];
  const level = value.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new LogLevelError(`${source} ${JSON.stringify(value)} is not a log level: use one of ${LOG_LEVELS.join(", ")}`);
}

export interface LoggerOptions {
  /** The host's name in every record ("wopte-sled", "wopte-gateway"). */
  name: string;
  level?: LogLevel;
  /** Where lines go (default stdout: a host prints nothing else there, and log shippers read it). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Readable lines instead of JSON (default: when `stream` is a terminal). */
  pretty?: boolean;
  /** Colour the readable lines (default: when pretty and the terminal allows it). */
  colour?: boolean;
}

export function createLogger(o: LoggerOptions): Logger {
  const stream = o.stream ?? process.stdout;
  const pretty = o.pretty ?? stream.isTTY === true;
  const colour = o.colour ?? (pretty && stream.isTTY === true && !process.env.NO_COLOR);
  const dest: DestinationStream = pretty ? { write: (line: string) => { stream.write(formatRecord(line, colour)); } } : stream;
  return pino({ name: o.name, level: o.level ?? "info" }, dest);
}

/** A logger that writes nothing (embedded hosts, tests). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/**
 * Warnings about something that can happen once per frame (a socket error,
 * an underlay frame for nobody): the first of each kind is logged at once,
 * then at most one per `intervalMs`, carrying how many were not logged.
 */
export class Throttled {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(private readonly log: Logger, private readonly intervalMs = 10_000, private readonly now = () => Date.now()) {}

  warn(kind: string, fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    const l = this.last.get(kind);
    if (l && t - l.at < this.intervalMs) { l.suppressed++; return; }
    this.log.warn(l?.suppressed ? { ...fields, suppressed: l.suppressed } : fields, msg);
    this.last.set(kind, { at: t, suppressed: 0 });
  }
}

const LEVEL_NAMES: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
const LEVEL_COLOURS: Record<number, string> = { 10: "90", 20: "36", 30: "32", 40: "33", 50: "31", 60: "35" };
const OMIT = new Set(["level", "time", "pid", "hostname", "name", "msg", "v"]);

/**
 * One pino JSON line as a person reads it:
 * `12:00:01.234 INFO  wopte-sled: port up port=web-a id=0 device=memory:web-a`.
 * Nested values are written as compact JSON; errors by their message and stack.
 */
export function formatRecord(line: string, colour = false): string {
  let r: Record<string, unknown>;
  try { r = JSON.parse(line); } catch { return line.endsWith("\n") ? line : line + "\n"; }
  const level = Number(r.level);
  const time = typeof r.time === "number" ? new Date(r.time).toISOString().slice(11, 23) : "";
  const name = (LEVEL_NAMES[level] ?? String(r.level)).padEnd(5);
  const tag = colour ? `\x1b[${LEVEL_COLOURS[level] ?? "0"}m${name}\x1b[0m` : name;
  let stack = "";
  const fields = Object.entries(r).filter(([k]) => !OMIT.has(k)).map(([k, v]) => {
    if (k === "err" && v && typeof v === "object") {
      const e = v as { message?: string; stack?: string };
      stack = e.stack ? "\n  " + e.stack.split("\n").join("\n  ") : "";
      return `err=${JSON.stringify(e.message ?? "")}`;
    }
    return `${k}=${typeof v === "string" && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)}`;
  });
  return `${time} ${tag} ${r.name ? `${r.name}: ` : ""}${r.msg ?? ""}${fields.length ? " " + fields.join(" ") : ""}${stack}\n`;
}
