// The values every config file, API request and CLI flag shares (addresses,
// prefixes, MACs, VNIs, ports and port ranges, names) as zod schemas over the
// one strict parser in addr.ts. A value that passes here is what the rule
// compiler, the engine and BIRD's config will see: no trailing text, no
// second `/`, no newline, no number outside its field.

import { z } from "zod";
import { isIP, isMac, parsePrefix, parsePortRange, VNI_MAX } from "./addr.js";
// zod speaks the operator's words wherever a value is refused
import "./messages.js";
import { dnsNameProblem, hostLabelProblem } from "./dns-name.js";

/** Runs a throwing parser as a zod check; its message becomes the issue's. */
function parses(f: (s: string) => unknown): (s: string, ctx: z.RefinementCtx) => void {
  return (s, ctx) => {
    try { f(s); } catch (e) { ctx.addIssue({ code: "custom", message: (e as Error).message }); }
  };
}

export const mac = z.string().refine(isMac, "expected a MAC address like a8:40:25:00:00:01");
export const ipv4 = z.string().refine((s) => isIP(s) === 4, "expected an IPv4 address");
export const ipv6 = z.string().refine((s) => isIP(s) === 6, "expected an IPv6 address");
export const ip = z.string().refine((s) => isIP(s) !== 0, "expected an IP address");
/** A prefix with its length ("10.0.0.0/24", "fd00::/64"). */
export const cidr = z.string().superRefine(parses((s) => parsePrefix(s, { lengthRequired: true })));
export const cidr4 = cidr.refine((s) => isIP(s.split("/")[0]) === 4, "expected an IPv4 prefix");
export const cidr6 = cidr.refine((s) => isIP(s.split("/")[0]) === 6, "expected an IPv6 prefix");
export const port = z.number().int().min(0).max(65535);
export const vni = z.number().int().min(0).max(VNI_MAX);
/** A port (80) or an inclusive range as text ("8000-8080"). */
export const portRange = z.union([port, z.string().superRefine(parses(parsePortRange))]);
/**
 * A name an operator gives a port or a host: it appears in URLs, log lines,
 * metric labels and file names, so letters, digits, `.`, `_` and `-` only.
 */
export const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "expected a name of letters, digits, '.', '_' or '-' (1-64, starting with a letter or digit)");
/** A DNS name ("vpc.example", a trailing dot allowed): labels of letters, digits and inner hyphens (layers/program/dns-name.ts). */
export const dnsName = z.string().superRefine((s, ctx) => {
  const problem = dnsNameProblem(s);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
/** A host name: one DNS label. */
export const hostLabel = z.string().superRefine((s, ctx) => {
  const problem = hostLabelProblem(s);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
/** A label for a rule or a class: any printable text, no control characters. */
export const label = z.string().min(1).max(128).regex(/^[^\p{Cc}]+$/u, "expected printable text without control characters");

/** A number written in a URL segment or query: decimal digits, no sign, no leading zeros, then checked by `schema`. */
export function decimal<S extends z.ZodType<number, number>>(schema: S) {
  return z.string().regex(/^(0|[1-9]\d{0,15})$/, "expected a decimal number").transform(Number).pipe(schema);
}
