// Bearer tokens for a host's TCP listener. The unix socket needs none (its
// file mode is the gate, as opteadm's root-only device is); over TCP every
// request carries `Authorization: Bearer <token>`. The tokens live in one
// JSON file, mode 0600, made at the first start with an admin and a
// read-only token; operators add named tokens to it (the name is what the
// audit log records). Presented tokens are compared in constant time: each
// side is hashed, and every token is compared, matched or not.

import { randomBytes, createHash, timingSafeEqual } from "node:crypto";
import { readFileSync, writeFileSync, mkdirSync, statSync, openSync, closeSync, constants } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import { name } from "../../layers/program/fields.js";
import type { Role } from "./route.js";
import { issueText } from "./errors.js";

export const TokenFile = z.strictObject({
  tokens: z.array(z.strictObject({
    name,
    role: z.enum(["read", "admin"]),
    token: z.string().min(24, "a token needs at least 24 characters").regex(/^[\x21-\x7e]+$/, "a token is printable ASCII without spaces"),
  })).min(1),
});
export type TokenEntry = z.output<typeof TokenFile>["tokens"][number];

export class TokenSet {
  private readonly hashed: { entry: TokenEntry; digest: Buffer }[];

  constructor(readonly entries: TokenEntry[]) {
    this.hashed = entries.map((entry) => ({ entry, digest: sha256(entry.token) }));
  }

  /** The entry whose token this is, or undefined; the time taken does not depend on which (or whether one) matched. */
  check(presented: string): TokenEntry | undefined {
    const d = sha256(presented);
    let found: TokenEntry | undefined;
    for (const h of this.hashed) if (timingSafeEqual(d, h.digest) && !found) found = h.entry;
    return found;
  }

  /** The first token with this role (what a local CLI run by the operator would use). */
  first(role: Role): TokenEntry | undefined { return this.entries.find((e) => e.role === role); }
}

function sha256(s: string): Buffer { return createHash("sha256").update(s, "utf8").digest(); }

export function newToken(): string { return "wopte_" + randomBytes(32).toString("base64url"); }

/**
 * Read the token file, or create it (admin and read-only tokens, mode 0600,
 * never overwriting a file that appeared meanwhile). A file that group or
 * others may read is refused: its tokens are as good as public.
 */
export function loadOrCreateTokens(path: string): { tokens: TokenSet; created: boolean } {
  let created = false;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeFileSync(fd, JSON.stringify({ tokens: [
        { name: "admin", role: "admin", token: newToken() },
        { name: "read", role: "read", token: newToken() },
      ] }, null, 2) + "\n");
    } finally { closeSync(fd); }
    created = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new Error(`cannot create the token file ${path}: ${(e as Error).message}`);
  }
  return { tokens: readTokens(path), created };
}

export function readTokens(path: string): TokenSet {
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0) throw new Error(`the token file ${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
  let json: unknown;
  try { json = JSON.parse(readFileSync(path, "utf8")); } catch (e) { throw new Error(`cannot read the token file ${path}: ${(e as Error).message}`); }
  const r = TokenFile.safeParse(json);
  if (!r.success) throw new Error(`bad token file ${path}: ${issueText(r.error.issues)}`);
  const names = r.data.tokens.map((t) => t.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`bad token file ${path}: the name ${dup} is used twice`);
  return new TokenSet(r.data.tokens);
}
