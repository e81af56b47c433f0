// What each machine of the rack in a box reports while it runs, and the
// summary at the end: shared by the runner (rack.ts) and the views (view.ts).

import type { EndpointStats } from "./endpoint.js";
import type { SwitchCounters } from "./switch.js";

export interface PortStatsView {
  port: string; flows?: number; counters: Record<string, number> & { drops: Record<string, number> };
  nat?: { inUse: number; size: number }[];
}
export interface MachineReport { machine: string; role: "sled" | "guests" | "gateway"; ports: PortStatsView[]; endpoints: (EndpointStats & { name: string })[] }

export interface RackSummary {
  seconds: number;
  /** in topology order: each sled, its guests, the gateway */
  machines: MachineReport[];
  /** frames the underlay switch delivered, and those it could not */
  switched: number;
  unroutable: number;
  underlay: SwitchCounters;
  /** machines that failed while running (their last report stands) */
  errors: string[];
}
