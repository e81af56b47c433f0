// Packet capture on a sled port: what the port sees, before and after the
// engine transformed it, on four pcapng interfaces so Wireshark shows the
// direction and the stage of every frame. A capture holds its frames in
// memory until it ends, so it ends at whichever comes first: its duration,
// its frame count or its byte budget.

import { writeInterfaces } from "../pcap/pcapng.js";

export const CAPTURE_INTERFACES = ["guest-in", "guest-out", "network-in", "network-out"];
export const enum CapturePoint { FromGuest = 0, ToGuest = 1, FromNetwork = 2, ToNetwork = 3 }

export class Capture {
  private readonly frames: { iface: number; timeMs: number; bytes: Uint8Array }[] = [];
  private bytes = 0;
  private ended = false;
  readonly done: Promise<Uint8Array>;
  private finish!: (b: Uint8Array) => void;
  private fail!: (e: Error) => void;
  private timer: NodeJS.Timeout;

  constructor(readonly maxFrames: number, durationMs: number, private readonly onEnd: () => void, readonly maxBytes = Infinity) {
    this.done = new Promise((resolve, reject) => { this.finish = resolve; this.fail = reject; });
    this.timer = setTimeout(() => this.end(), durationMs);
  }

  add(point: CapturePoint, bytes: Uint8Array): void {
    if (this.ended) return;
    if (this.bytes + bytes.length > this.maxBytes) { this.end(); return; }
    this.frames.push({ iface: point, timeMs: Date.now(), bytes: Uint8Array.from(bytes) });
    this.bytes += bytes.length;
    if (this.frames.length >= this.maxFrames) this.end();
  }

  /** Stop now (also when the client that asked went away); resolves `done` with what was captured. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    this.onEnd();
    // called from a timer and the datapath: a failure goes to whoever awaits `done`, never up the stack
    try { this.finish(writeInterfaces(CAPTURE_INTERFACES, this.frames)); } catch (e) { this.fail(e as Error); }
    this.frames.length = 0;
  }
}
