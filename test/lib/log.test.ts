// The hosts' logger: a level from --log-level or $WOPTE_LOG_LEVEL (anything
// else refused with the valid levels), JSON lines for collectors, readable
// lines for a person at a terminal.
import { describe, it, expect } from "vitest";
import { Writable } from "node:stream";
import { createLogger, logLevelFrom, formatRecord, LogLevelError } from "../../hosts/lib/log.js";

function sink(isTTY: boolean) {
  const lines: string[] = [];
  const stream = Object.assign(new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }), { isTTY });
  return { stream, lines };
}

describe("log level", () => {
  it("takes the flag first, then $WOPTE_LOG_LEVEL, then info", () => {
    expect(logLevelFrom("debug", { WOPTE_LOG_LEVEL: "warn" })).toBe("debug");
    expect(logLevelFrom(undefined, { WOPTE_LOG_LEVEL: "WARN" })).toBe("warn");
    expect(logLevelFrom(undefined, {})).toBe("info");
  });
  it("refuses an unknown level, naming where it came from and the valid ones", () => {
    expect(() => logLevelFrom("loud", {})).toThrow(LogLevelError);
    expect(() => logLevelFrom("loud", {})).toThrow(/--log-level "loud" is not a log level: use one of fatal, error, warn, info, debug, trace, silent/);
    expect(() => logLevelFrom(undefined, { WOPTE_LOG_LEVEL: "verbose" })).toThrow(/\$WOPTE_LOG_LEVEL "verbose"/);
  });
});

describe("logger output", () => {
  it("writes one JSON object per line when nobody watches a terminal", () => {
    const { stream, lines } = sink(false);
    const log = createLogger({ name: "wopte-sled", stream });
    log.info({ port: "web-a", id: 0 }, "port up");
    log.debug("not at info");
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]);
    expect(r).toMatchObject({ name: "wopte-sled", msg: "port up", port: "web-a", id: 0, level: 30 });
  });

  it("writes readable lines on a terminal, at the level asked for", () => {
    const { stream, lines } = sink(true);
    const log = createLogger({ name: "wopte-sled", stream, level: "debug", colour: false });
    log.debug({ port: "web-a", layers: ["firewall"], note: "two words" }, "port changed");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} DEBUG wopte-sled: port changed port=web-a layers=\["firewall"\] note="two words"\n$/);
  });

  it("writes an error's message and stack, and passes a line that is not JSON through", () => {
    const line = JSON.stringify({ level: 50, time: 0, name: "wopte-gateway", msg: "request failed", err: { message: "boom", stack: "Error: boom\n    at x" } });
    expect(formatRecord(line)).toBe('00:00:00.000 ERROR wopte-gateway: request failed err="boom"\n  Error: boom\n      at x\n');
    expect(formatRecord("plain text")).toBe("plain text\n");
    expect(formatRecord(line, true)).toContain("\x1b[31mERROR\x1b[0m");
  });
});
