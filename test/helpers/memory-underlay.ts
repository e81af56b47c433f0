// An underlay in the test's hands: what the sled sends is kept in `sent`,
// and `inject` delivers frames as if they came from the rack's switches.
import type { UnderlayDriver } from "../../hosts/sled/underlay.js";

export class MemoryUnderlay implements UnderlayDriver {
  readonly sent: Uint8Array[] = [];
  private cb: ((frames: Uint8Array[]) => void) | undefined;
  send(frames: Uint8Array[]): void { for (const f of frames) this.sent.push(Uint8Array.from(f)); }
  onFrames(cb: (frames: Uint8Array[]) => void): void { this.cb = cb; }
  inject(frames: Uint8Array[]): void { this.cb?.(frames); }
  stats() { return { tx: this.sent.length, rx: 0, txErrors: 0, rxErrors: 0 }; }
  async close(): Promise<void> { this.cb = undefined; }
}
