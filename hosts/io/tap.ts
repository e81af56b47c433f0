// A guest VNIC on a Linux TAP device, through the wopte_tap native addon
// (hosts/native/tap.c): a native thread reads frames in batches and wakes the
// JS thread once per batch; frames go out with one write(2) each, in one
// addon call per batch.

import { createRequire } from "node:module";
import { join } from "node:path";
import { packageRoot } from "../engine/wasm.js";
import type { GuestDevice } from "../sled/devices.js";

interface TapAddon {
  open(name: string, flags?: number): { fd: number; name: string };
  startReader(fd: number, cb: (buf: Buffer, lens: Uint32Array) => void): void;
  write(fd: number, frames: Uint8Array[]): number;
  close(fd: number): void;
}

let addon: TapAddon | undefined;
function load(): TapAddon {
  if (!addon) {
    const require = createRequire(import.meta.url);
    addon = require(join(packageRoot(), "hosts", "native", "build", "Release", "wopte_tap.node")) as TapAddon;
  }
  return addon;
}

export class TapDevice implements GuestDevice {
  readonly kind = "tap";
  private open = true;
  readonly counters = { rxFrames: 0, rxBatches: 0, txFrames: 0, txDropped: 0 };

  private constructor(readonly name: string, private readonly fd: number) {}

  /** Create (or attach to) TAP interface `name`. Needs CAP_NET_ADMIN. */
  static open(name: string): TapDevice {
    const t = load().open(name);
    return new TapDevice(t.name, t.fd);
  }

  onFrames(cb: (frames: Uint8Array[]) => void): void {
    load().startReader(this.fd, (buf, lens) => {
      const frames: Uint8Array[] = new Array(lens.length);
      let at = 0;
      for (let i = 0; i < lens.length; i++) { frames[i] = buf.subarray(at, at + lens[i]); at += lens[i]; }
      this.counters.rxFrames += lens.length;
      this.counters.rxBatches++;
      cb(frames);
    });
  }

  send(frames: Uint8Array[]): void {
    if (!this.open) return;
    const n = load().write(this.fd, frames);
    this.counters.txFrames += n;
    this.counters.txDropped += frames.length - n;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    load().close(this.fd);
  }
}
