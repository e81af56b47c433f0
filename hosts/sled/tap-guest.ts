// A guest VNIC on a Linux TAP device (hosts/io/tap.ts over the native addon).
import type { GuestDevice } from "./devices.js";

export async function openTapGuest(name: string): Promise<GuestDevice> {
  const { TapDevice } = await import("../io/tap.js");
  return TapDevice.open(name) as unknown as GuestDevice;
}
