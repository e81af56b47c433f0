// Address helpers for the VPC layers.

import { macBytes, ipText } from "../program/addr.js";

/** The fe80::/64 EUI-64 link-local address of a MAC (RFC 4291 appendix A). */
export function linkLocalFromMac(mac: string): string {
  const m = macBytes(mac);
  const b = new Uint8Array(16);
  b[0] = 0xfe; b[1] = 0x80;
  b[8] = m[0] ^ 0x02; b[9] = m[1]; b[10] = m[2]; b[11] = 0xff; b[12] = 0xfe; b[13] = m[3]; b[14] = m[4]; b[15] = m[5];
  return ipText(b);
}
