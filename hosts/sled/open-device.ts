// Opening a guest device from its spec in a sled config or an API request.

import { DeviceSpec } from "./config.js";
import { GuestDevice, MemoryDevice } from "./devices.js";
import { ConfigError } from "../../layers/vpc/config.js";

export async function openDevice(spec: unknown, portName: string): Promise<GuestDevice> {
  const r = DeviceSpec.safeParse(spec ?? { type: "memory" });
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => ({ path: ["device", ...i.path.map(String)].join("."), message: i.message })));
  const d = r.data;
  if (d.type === "memory") return new MemoryDevice(portName);
  const { openTapGuest } = await import("./tap-guest.js");
  return openTapGuest(d.name);
}
