// Packet capture on a sled port: what the port sees, before and after the
// engine transformed it, on four pcapng interfaces so Wireshark shows the
// direction and the stage of every frame.

import { writeInterfaces } from "../pcap/pcapng.js";

export const CAPTURE_INTERFACES = ["guest-in", "guest-out", "network-in", "network-out"];
export const enum CapturePoint { FromGuest = 0, ToGuest = 1, FromNetwork = 2, ToNetwork = 3 }

export class Capture {
  private readonly frames: { iface: number; timeMs: number; bytes: Uint8Array }[] = [];
  readonly done: Promise<Uint8Array>;
  private finish!: (b: Uint8Array) => void;
  private timer: NodeJS.Timeout;

  constructor(readonly maxFrames: number, durationMs: number, private readonly onEnd: () => void) {
    this.done = new Promise((resolve) => { this.finish = resolve; });
    this.timer = setTimeout(() => this.end(), durationMs);
  }

  add(point: CapturePoint, bytes: Uint8Array): void {
    if (this.frames.length >= this.maxFrames) return;
    this.frames.push({ iface: point, timeMs: Date.now(), bytes: Uint8Array.from(bytes) });
    if (this.frames.length >= this.maxFrames) this.end();
  }

  end(): void {
    clearTimeout(this.timer);
    this.onEnd();
    this.finish(writeInterfaces(CAPTURE_INTERFACES, this.frames));
  }
}
