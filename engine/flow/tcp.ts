// TCP connection tracking for a flow record, seen from the guest: the state
// machine of OPTE's `TcpFlowState` (lib/opte/src/engine/tcp_state.rs), so a
// flow opens, closes and expires where OPTE's would. It is not a TCP stack:
// it follows flags (and, while closing, whether an ACK covers the guest's
// FIN) to decide how long the flow's state is worth keeping.
//
//   guest opens:   Closed -SYN out-> SynSent -SYN+ACK in-> Established
//   guest accepts: Closed -SYN in-> Listen -SYN+ACK out-> SynRcvd -ACK in-> Established
//   guest closes:  Established -FIN out-> FinWait1 -ACK of FIN in-> FinWait2 -FIN in-> TimeWait
//                  (FinWait1 -FIN+ACK in-> TimeWait)
//   remote closes: Established -FIN in-> CloseWait -FIN out-> LastAck -ACK of FIN in-> Closed
//   RST either way: Closed. An ACK on a Closed flow adopts it as Established
//   (a connection older than its flow: after a restore, an expiry, a restart).
//
// A segment the machine has no transition for is let through with the state
// unchanged (OPTE logs it), except: a SYN starts the flow over (the guest or
// its peer reused the 4-tuple before we let go of it: `tcpSynRestarts`), and
// a segment that cannot begin a connection (no SYN, ACK or RST) on a flow
// with no TCP state is dropped (`TcpInvalid`).

import { TcpFlag } from "../packet/meta";
import { R_TCP, R_FLAGS, R_GUEST_SEQ, RF_GUEST_SEQ, Dir } from "./record";

export { TcpState } from "../../abi/record";
import { TcpState } from "../../abi/record";
export const TCP_STATE_COUNT: u32 = TcpState.TimeWait + 1;

/** No transition: the segment is unexpected in this state. */
export const TCP_NONE: i32 = -1;

/**
 * The state after a segment with `flags` (and acknowledgement `ack`) travelling
 * in `dir`, or TCP_NONE. `finAcked` tells whether `ack` covers the guest's
 * last segment (its FIN, while closing).
 */
export function tcpNext(st: u32, dir: u32, flags: u32, finAcked: bool): i32 {
  if ((flags & TcpFlag.RST) != 0) return TcpState.Closed;
  const syn = (flags & TcpFlag.SYN) != 0;
  const ack = (flags & TcpFlag.ACK) != 0;
  const fin = (flags & TcpFlag.FIN) != 0;
  if (dir == Dir.Out) {
    switch (st) {
      case TcpState.Closed: return syn ? TcpState.SynSent : ack ? TcpState.Established : TCP_NONE;
      case TcpState.Listen: return syn && ack ? TcpState.SynRcvd : TCP_NONE;
      case TcpState.SynSent: return syn ? TcpState.SynSent : TCP_NONE;
      case TcpState.SynRcvd: return syn && ack ? TcpState.SynRcvd : TCP_NONE;
      case TcpState.Established: return fin ? TcpState.FinWait1 : syn ? TCP_NONE : TcpState.Established;
      case TcpState.FinWait1: return fin || ack ? TcpState.FinWait1 : TCP_NONE;
      case TcpState.FinWait2: return ack ? TcpState.FinWait2 : TCP_NONE;
      case TcpState.TimeWait: return ack ? TcpState.TimeWait : TCP_NONE;
      case TcpState.CloseWait: return fin ? TcpState.LastAck : TcpState.CloseWait;
      case TcpState.LastAck: return fin || ack ? TcpState.LastAck : TCP_NONE;
    }
    return TCP_NONE;
  }
  switch (st) {
    case TcpState.Closed: return ack ? TcpState.Established : syn ? TcpState.Listen : TCP_NONE;
    case TcpState.Listen: return syn ? TcpState.Listen : TCP_NONE;
    case TcpState.SynSent: return syn && ack ? TcpState.Established : TCP_NONE;
    case TcpState.SynRcvd: return ack ? TcpState.Established : syn ? TcpState.SynRcvd : TCP_NONE;
    case TcpState.Established: return fin ? TcpState.CloseWait : syn ? TCP_NONE : TcpState.Established;
    case TcpState.CloseWait: return fin || ack ? TcpState.CloseWait : TCP_NONE;
    case TcpState.LastAck: return ack ? (finAcked ? TcpState.Closed : TcpState.LastAck) : TCP_NONE;
    case TcpState.FinWait1:
      if (fin && ack) return TcpState.TimeWait;
      return ack ? (finAcked ? TcpState.FinWait2 : TcpState.FinWait1) : TCP_NONE;
    case TcpState.FinWait2:
      if (fin && finAcked) return TcpState.TimeWait;
      return ack ? TcpState.FinWait2 : TCP_NONE;
    case TcpState.TimeWait: return fin || ack ? TcpState.TimeWait : TCP_NONE;
  }
  return TCP_NONE;
}

/** Does `ack` acknowledge the guest's last segment (its FIN)? Unknown sequence: assume so. */
@inline function finAcked(rec: usize, ack: u32): bool {
  return (<u32>load<u8>(rec + R_FLAGS) & RF_GUEST_SEQ) == 0 || ack == load<u32>(rec + R_GUEST_SEQ) + 1;
}

/** The state `rec` would move to for this segment, or TCP_NONE. */
export function tcpPeek(rec: usize, dir: u32, flags: u32, ack: u32): i32 {
  return tcpNext(<u32>load<u8>(rec + R_TCP), dir, flags, finAcked(rec, ack));
}

/**
 * A SYN the state machine does not expect (on an established, closing or
 * half-open flow) means an endpoint reused the 4-tuple: the flow starts over
 * (OPTE's `TcpFlowStateError::NewFlow`).
 */
export function tcpSynRestarts(rec: usize, dir: u32, flags: u32, ack: u32): bool {
  return tcpPeek(rec, dir, flags, ack) == TCP_NONE;
}

/**
 * Advance the TCP state of `rec` for a segment travelling in `dir`. Returns
 * the new state; an unexpected segment leaves the state as it was.
 */
export function tcpTrack(rec: usize, dir: u32, flags: u32, seq: u32, ack: u32): u32 {
  const next = tcpPeek(rec, dir, flags, ack);
  if (dir == Dir.Out) {
    store<u32>(rec + R_GUEST_SEQ, seq);
    store<u8>(rec + R_FLAGS, load<u8>(rec + R_FLAGS) | <u8>RF_GUEST_SEQ);
  }
  if (next == TCP_NONE) return <u32>load<u8>(rec + R_TCP);
  store<u8>(rec + R_TCP, <u8>next);
  return <u32>next;
}

/** Forget the TCP state (RST/close handled, expiry, a restart). */
export function tcpReset(rec: usize): void {
  store<u8>(rec + R_TCP, <u8>TcpState.Closed);
  store<u8>(rec + R_FLAGS, load<u8>(rec + R_FLAGS) & ~(<u8>RF_GUEST_SEQ));
}

/** Incipient states (the handshake, and LastAck) live briefly so SYN floods cannot hold state (OPTE's INCIPIENT_EXPIRE). */
export function tcpIncipient(st: u32): bool {
  return st == TcpState.Listen || st == TcpState.SynSent || st == TcpState.SynRcvd || st == TcpState.LastAck;
}

/** Quiescent states: closing, held so late segments and port reuse are recognised (OPTE's TIME_WAIT_EXPIRE). */
export function tcpQuiescent(st: u32): bool {
  return st == TcpState.FinWait1 || st == TcpState.FinWait2 || st == TcpState.TimeWait || st == TcpState.CloseWait;
}
