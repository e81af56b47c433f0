// TCP connection tracking for a flow record, enough to expire closed
// connections quickly and keep established ones for their idle TTL.
//
// A simplified RFC 793 state machine seen from the middle, as OPTE's
// TcpState: the origin side opens (SYN), the other side answers (SYN+ACK),
// FINs are tracked per side, RST closes at once. A connection first seen
// mid-stream (after a restore, or after the guest's flow outlived an engine
// restart) is adopted as established rather than dropped.

import { TcpFlag } from "../packet/meta";
import { R_TCP, R_FLAGS, R_ORIGIN } from "./record";

export const enum TcpState {
  None = 0, SynSent = 1, SynRcvd = 2, Established = 3,
  FinWait = 4,   // one side has sent FIN
  Closing = 5,   // both sides have sent FIN
  Closed = 6,    // RST, or the last ACK after both FINs
}

// Record flag bits used for FIN tracking (bits 0..2 belong to the flow table).
const FIN_OUT: u8 = 0x10;
const FIN_IN: u8 = 0x20;

/** Advance the TCP state of `rec` for a segment with `flags` travelling in `dir`. */
export function tcpTrack(rec: usize, dir: u32, flags: u32): void {
  let st = <u32>load<u8>(rec + R_TCP);
  const fromOrigin = dir == <u32>load<u8>(rec + R_ORIGIN);
  if ((flags & TcpFlag.RST) != 0) {
    store<u8>(rec + R_TCP, <u8>TcpState.Closed);
    return;
  }
  const syn = (flags & TcpFlag.SYN) != 0;
  const ack = (flags & TcpFlag.ACK) != 0;
  const fin = (flags & TcpFlag.FIN) != 0;
  switch (st) {
    case TcpState.None:
      st = syn && !ack ? TcpState.SynSent : TcpState.Established;
      break;
    case TcpState.SynSent:
      if (!fromOrigin && syn && ack) st = TcpState.SynRcvd;
      else if (!fromOrigin && ack && !syn) st = TcpState.Established;
      break;
    case TcpState.SynRcvd:
      if (fromOrigin && ack && !syn) st = TcpState.Established;
      break;
    case TcpState.Closing:
      if (ack && !fin) st = TcpState.Closed;
      break;
    case TcpState.Closed:
      // a new SYN on a closed 4-tuple starts over (port reuse)
      if (syn && !ack && fromOrigin) {
        st = TcpState.SynSent;
        store<u8>(rec + R_FLAGS, load<u8>(rec + R_FLAGS) & ~(FIN_OUT | FIN_IN));
      }
      break;
  }
  if (fin && st != TcpState.Closed) {
    let f = load<u8>(rec + R_FLAGS) | (dir == 2 ? FIN_OUT : FIN_IN);
    store<u8>(rec + R_FLAGS, f);
    st = (f & (FIN_OUT | FIN_IN)) == (FIN_OUT | FIN_IN) ? TcpState.Closing : TcpState.FinWait;
  }
  store<u8>(rec + R_TCP, <u8>st);
}
