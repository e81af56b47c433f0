// A guest VNIC on a Linux TAP device (hosts/io/tap.ts over the native addon).
import type { GuestDevice } from "./devices.js";
import { TapDevice } from "../io/tap.js";

export async function openTapGuest(name: string): Promise<GuestDevice> {
  return TapDevice.open(name);
}
