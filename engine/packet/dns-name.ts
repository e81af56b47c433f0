// DNS names in wire form (RFC 1035 §3.1), as DHCP carries them: the DHCPv4
// Domain Search option (RFC 3397), the DHCPv6 Domain Search List (RFC 3646
// §4) and Client FQDN (RFC 4704 §4.2) options.
//
// A name is a sequence of labels, each a length octet (1..63) and that many
// octets, ended by the root label (a zero octet); at most 255 octets in all.
// The gateway writes names uncompressed, as OPTE does: a compression pointer
// (top bits 11) or the reserved label types (01, 10) are refused, so a
// params block cannot make the engine send a name that points elsewhere.

export const DNS_MAX_NAME: u32 = 255;
export const DNS_MAX_LABEL: u32 = 63;

/** Length of the one well-formed name starting at `p` within `len` bytes, or 0 when malformed. */
export function dnsNameLen(p: usize, len: u32): u32 {
  let off: u32 = 0;
  while (off < len) {
    const l = <u32>load<u8>(p + off);
    if (l == 0) return off + 1 <= DNS_MAX_NAME ? off + 1 : 0;
    if (l > DNS_MAX_LABEL) return 0;             // pointer, reserved type, or too long
    off += 1 + l;
    if (off >= DNS_MAX_NAME) return 0;           // no room left for the root label
  }
  return 0;                                      // ran out before the root label
}

/** True when `len` bytes at `p` are one or more whole names, back to back, each with a label. */
export function dnsNamesValid(p: usize, len: u32): bool {
  if (len == 0) return false;
  let off: u32 = 0;
  while (off < len) {
    const n = dnsNameLen(p + off, len - off);
    if (n < 2) return false;                     // malformed, or the bare root
    off += n;
  }
  return true;
}
