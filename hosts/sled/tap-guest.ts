// A guest VNIC on a Linux TAP device (hosts/io/tap.ts over the native addon).
import type { GuestDevice } from "./devices.js";

export async function openTapGuest(name: string): Promise<GuestDevice> {
  // computed so the browser bundle and type-check do not need the native addon's module
  const tapModule = "../io/tap.js";
  const { TapDevice } = (await import(tapModule)) as { TapDevice: { open(name: string): Promise<GuestDevice> | GuestDevice } };
  return TapDevice.open(name);
}
