// Packet capture on a sled port: what the port sees, before and after the
// engine transformed it, on four pcapng interfaces so Wireshark shows the
// direction and the stage of every frame: from-guest and from-network (what
// entered the port, inbound), to-guest and to-network (what it emitted,
// outbound). Timestamps are nanoseconds (if_tsresol 9) from the host's
// monotonic clock anchored to wall time; a frame the port dropped carries the
// reason, layer and rule in its comment. `wopte replay` reads these files:
// the from-* frames are its inputs. A capture holds its frames in memory
// until it ends, so it ends at whichever comes first: its duration, its frame
// count or its byte budget.

import { writeInterfaces, type FrameToWrite } from "../pcap/pcapng.js";

export const CAPTURE_INTERFACES = ["from-guest", "to-guest", "from-network", "to-network"];
export const enum CapturePoint { FromGuest = 0, ToGuest = 1, FromNetwork = 2, ToNetwork = 3 }

export class Capture {
  private readonly frames: FrameToWrite[] = [];
  private bytes = 0;
  private ended = false;
  readonly done: Promise<Uint8Array>;
  private finish!: (b: Uint8Array) => void;
  private fail!: (e: Error) => void;
  private timer: NodeJS.Timeout;
  private readonly wallNs = BigInt(Date.now()) * 1_000_000n;
  private readonly monoNs = process.hrtime.bigint();

  constructor(readonly maxFrames: number, durationMs: number, private readonly onEnd: () => void, readonly maxBytes = Infinity) {
    this.done = new Promise((resolve, reject) => { this.finish = resolve; this.fail = reject; });
    this.timer = setTimeout(() => this.end(), durationMs);
  }

  /** Record a frame; returns its index (for `dropped`), or -1 when the capture is over or full. */
  add(point: CapturePoint, bytes: Uint8Array): number {
    if (this.ended || this.frames.length >= this.maxFrames) return -1;
    if (this.bytes + bytes.length > this.maxBytes) { this.end(); return -1; }
    const inbound = point === CapturePoint.FromGuest || point === CapturePoint.FromNetwork;
    const timeNs = this.wallNs + (process.hrtime.bigint() - this.monoNs);
    this.frames.push({ iface: point, timeMs: 0, timeNs, bytes: Uint8Array.from(bytes), direction: inbound ? "inbound" : "outbound" });
    this.bytes += bytes.length;
    // ended after the batch, so a frame the batch drops can still be marked
    if (this.frames.length >= this.maxFrames) queueMicrotask(() => this.end());
    return this.frames.length - 1;
  }

  /** The port dropped frame `index`: say why in its comment. */
  dropped(index: number, why: string): void {
    const f = this.frames[index];
    if (f) f.comment = `dropped: ${why}`;
  }

  /** Stop now (also when the client that asked went away); resolves `done` with what was captured. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    this.onEnd();
    // called from a timer and the datapath: a failure goes to whoever awaits `done`, never up the stack
    try { this.finish(writeInterfaces(CAPTURE_INTERFACES, this.frames, { resolution: "ns" })); } catch (e) { this.fail(e as Error); }
    this.frames.length = 0;
  }
}
