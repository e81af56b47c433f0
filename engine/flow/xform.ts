// A composed header transformation: what all layers decided to do to one
// direction of a flow, flattened so the fast path applies it with a few
// stores and two constant checksum adjustments.
//
// Layout (44 bytes, inside a flow record or the slow path's scratch) and
// the Mod bits: abi/xform.ts. Each carries the low 16 bits of the port epoch
// it was composed at, and the folded RFC 1624 checksum adjustments.
//
// A cached transformation rewrites at most one IP address per direction
// (source for SNAT/floating IP out, destination for NAT in); the per-flow
// state stays within 256 bytes that way. A composition that rewrites both
// is refused with Reason.XformUnsupported.

export {
  X_SIZE, X_MODS, X_IP_DELTA, X_L4_DELTA, X_SPORT, X_DPORT, X_EPOCH, X_ETH_SRC, X_ETH_DST, X_IP_HI, X_IP_LO, X_ENCAP, Mod,
} from "../../abi/xform";
import { X_MODS } from "../../abi/xform";

@inline export function xMods(x: usize): u32 { return <u32>load<u16>(x + X_MODS); }
