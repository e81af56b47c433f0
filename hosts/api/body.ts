// Request bodies, read under limits: a declared length over the limit is
// refused before a byte is read, a body that grows past it is cut off as it
// streams in, and one that has not arrived whole within its time is cut off
// too (a client trickling a byte a second holds nothing for long).

import type { IncomingMessage } from "node:http";
import { HttpError } from "./errors.js";

/** Deeper JSON than any schema here accepts; refused before parsing so nothing recurses on it. */
const MAX_DEPTH = 64;

export async function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  let expected: number | undefined;
  if (declared !== undefined) {
    if (!/^\d{1,15}$/.test(declared)) throw new HttpError(400, `bad content-length ${JSON.stringify(declared)}`);
    expected = Number(declared);
    if (expected > limit) throw new HttpError(413, `the body is ${expected} bytes; the limit here is ${limit}`);
    if (expected === 0) return Buffer.alloc(0);
  } else if (req.headers["transfer-encoding"] === undefined) {
    return Buffer.alloc(0);
  }
  return new Promise<Buffer>((resolve, reject) => {
    // a declared length is read straight into its buffer: no chunk list, no copy at the end
    const whole = expected !== undefined ? Buffer.allocUnsafe(expected) : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      clearTimeout(timer);
      req.off("data", onData); req.off("end", onEnd); req.off("error", onError); req.off("aborted", onAborted);
      if (err) { req.pause(); reject(err); return; }
      resolve(whole ? whole.subarray(0, size) : Buffer.concat(chunks, size));
    };
    const timer = setTimeout(() => done(new HttpError(408, `the body did not arrive within ${timeoutMs} ms`)), timeoutMs);
    const onData = (c: Buffer) => {
      if (size + c.length > (expected ?? limit)) {
        done(new HttpError(413, expected !== undefined ? "the body is longer than its content-length" : `the body is over the limit of ${limit} bytes`));
        return;
      }
      if (whole) c.copy(whole, size); else chunks.push(c);
      size += c.length;
    };
    const onEnd = () => done(expected !== undefined && size !== expected ? new HttpError(400, "the body is shorter than its content-length") : undefined);
    const onError = (e: Error) => done(new HttpError(400, `reading the body failed: ${e.message}`));
    const onAborted = () => done(new HttpError(400, "the client went away"));
    req.on("data", onData); req.on("end", onEnd); req.on("error", onError); req.on("aborted", onAborted);
  });
}

/** JSON text → value, or a 400 that says what is wrong with it. */
export function parseJson(buf: Buffer): unknown {
  const depth = nesting(buf);
  if (depth > MAX_DEPTH) throw new HttpError(400, `the JSON body nests deeper than ${MAX_DEPTH} levels`);
  let text: string;
  try { text = new TextDecoder("utf-8", { fatal: true }).decode(buf); } catch { throw new HttpError(400, "the body is not UTF-8"); }
  try { return JSON.parse(text); } catch (e) { throw new HttpError(400, `the body is not JSON: ${(e as Error).message}`); }
}

/** The deepest nesting of [ and { outside strings. */
function nesting(buf: Buffer): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++;                 // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) { if (++depth > max) max = depth; }
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}
