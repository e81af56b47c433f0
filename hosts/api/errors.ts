// How a request's failure becomes an HTTP answer. Errors are values with a
// meaning (a missing port is 404, a taken name 409, a config the schema
// refuses 400, a change the engine refuses 422); only an error nothing here
// recognises is a bug, answered 500 and logged with the request id.

import { z } from "zod";
import "../../layers/program/messages.js"; // refusals in the operator's words
import { NotFound, Conflict } from "../sled/sled.js";
import { ConfigError } from "../../layers/vpc/config.js";
import { EngineError } from "../engine/engine.js";
import { RoutingDaemonError } from "../gateway/bgp.js";
import { NotDurable } from "../lib/committer.js";

export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) { super(message); }
}

/** zod issues as "path: message" lines, the way config errors read. */
export function issueText(issues: readonly z.core.$ZodIssue[], prefix = ""): string {
  return issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter(Boolean).join(".");
    return `${path || "(body)"}: ${i.message}`;
  }).join("; ");
}

/** The status and message for an error thrown while serving a request; undefined for a bug. */
export function classify(err: unknown): { status: number; message: string; headers?: Record<string, string> } | undefined {
  if (err instanceof HttpError) return { status: err.status, message: err.message, headers: err.headers };
  if (err instanceof NotFound) return { status: 404, message: err.message };
  if (err instanceof Conflict) return { status: 409, message: err.message };
  if (err instanceof ConfigError) return { status: 400, message: err.issues.map((i) => `${i.path || "(body)"}: ${i.message}`).join("; ") };
  if (err instanceof z.ZodError) return { status: 400, message: issueText(err.issues) };
  if (err instanceof EngineError) return { status: 422, message: err.message };
  if (err instanceof RoutingDaemonError) return { status: 502, message: err.message };
  // the ledger could not be written: the change was undone, the host cannot make changes durable now
  if (err instanceof NotDurable) return { status: 503, message: err.message };
  return undefined;
}
