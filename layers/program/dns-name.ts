// DNS names the gateway hands a guest (DHCP host name, domain, search list,
// FQDN): parsed strictly, once, here, and encoded in the wire form of RFC
// 1035 §3.1 that the engine validates again (engine/packet/dns-name.ts).
//
// OPTE's DomainName takes any UTF-8 label of 1-63 octets; wopte takes host
// names as RFC 1123 §2.1 has them (letters, digits, hyphens, no hyphen at
// either end of a label), because a search domain ends up in a guest's
// resolv.conf and a host name in its shell prompt: a space, a quote or a
// newline has no business in either.

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Why `s` is not a DNS name (one trailing dot allowed), or undefined when it is. */
export function dnsNameProblem(s: string): string | undefined {
  if (s.length === 0 || s.length > 253) return "expected a DNS name of 1 to 253 characters";
  const labels = (s.endsWith(".") ? s.slice(0, -1) : s).split(".");
  for (const l of labels) {
    if (!LABEL.test(l)) return `expected a DNS name of labels of 1-63 letters, digits and inner hyphens, got label "${l}"`;
  }
  return undefined;
}

/** Why `s` is not a host name (one DNS label), or undefined when it is. */
export function hostLabelProblem(s: string): string | undefined {
  return LABEL.test(s) ? undefined : "expected a host name of 1-63 letters, digits and inner hyphens";
}

/** The wire form of a DNS name: length-prefixed labels ending in the root label. Throws RangeError on a bad name. */
export function encodeDnsName(s: string): Uint8Array {
  const problem = dnsNameProblem(s);
  if (problem) throw new RangeError(`${problem}: ${JSON.stringify(s)}`);
  const labels = (s.endsWith(".") ? s.slice(0, -1) : s).split(".");
  const out: number[] = [];
  for (const l of labels) out.push(l.length, ...Array.from(l, (ch) => ch.charCodeAt(0)));
  out.push(0);
  return Uint8Array.from(out);
}

/** Several names back to back, as a DHCP search list carries them (RFC 3397 §2 without compression, as OPTE sends it). */
export function encodeDnsNames(names: readonly string[]): Uint8Array {
  const parts = names.map(encodeDnsName);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}
