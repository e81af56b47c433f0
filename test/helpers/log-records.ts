// A logger whose records a test can read: JSON objects, in order.
import { Writable } from "node:stream";
import { createLogger, Logger } from "../../hosts/lib/log.js";

export function recordingLogger(level: "debug" | "info" = "debug"): { log: Logger; records: Record<string, unknown>[]; messages: () => string[] } {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { for (const l of String(chunk).split("\n")) if (l) records.push(JSON.parse(l)); done(); } });
  const log = createLogger({ name: "test", level, stream, pretty: false });
  return { log, records, messages: () => records.map((r) => String(r.msg)) };
}
