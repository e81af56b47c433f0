// The sled API's multicast routes (docs/sled-api.md, "Multicast"): the
// rack-wide M2P mappings, each port's groups, the sled's subscriptions and
// its multicast forwarding table, with the validation OPTE's xde applies to
// the same requests (set_m2p, mcast_subscribe/unsubscribe/unsubscribe_all,
// set/clear/dump_mcast_fwd). Removals are idempotent, as there: leaving a
// group the port never joined, or clearing an entry that is gone, succeeds
// and says so.

import { z } from "zod";
import type { SledHost } from "./sled.js";
import { M2pMapping, MulticastJoin } from "../../layers/vpc/config.js";
import { isMulticast, isUnderlayGroup } from "../../layers/vpc/multicast.js";
import { name, ip } from "../../layers/program/fields.js";
import { isIP } from "../../layers/program/addr.js";
import { ForwardingEntry, canonIp } from "./multicast.js";
import { route, RouteSpec } from "../api/route.js";

/** A multicast address in a path: leaving takes any group (ff02::1:3 too), but not a unicast address. */
const multicastAddress = ip.refine((s) => isIP(s) === 0 || isMulticast(s), { error: (i) => `${String(i.input)} is not a multicast address` });
const underlayGroup = z.string().refine((s) => isIP(s) === 6 && isUnderlayGroup(s), { error: (i) => `${String(i.input)} is not an underlay group in ff04::/16` });
const Port = z.strictObject({ name });

/** Every change goes through the host's commit path, which moves its generation. */
export function multicastRoutes(h: SledHost): RouteSpec[] {
  return [
    // M2P: rack-wide, overlay group → underlay group in ff04::/16
    route({ method: "GET", path: "/m2p", summary: "the rack-wide multicast-to-physical mappings", handler: () => h.listM2p() }),
    route({
      method: "PUT", path: "/m2p", summary: "add or replace an M2P mapping (overlay group → underlay group in ff04::/16)", body: M2pMapping,
      handler: async ({ body }) => { await h.setM2p(body); return { ...body }; },
    }),
    route({
      method: "DELETE", path: "/m2p/{group}", summary: "remove an M2P mapping", params: z.strictObject({ group: ip }),
      handler: async ({ params }) => { await h.removeM2p(params.group); return { removed: params.group }; },
    }),
    // a port's groups, with their source filters
    route({ method: "GET", path: "/ports/{name}/multicast", summary: "the groups the port has joined", params: Port,
      handler: ({ params }) => h.port(params.name).compiled.config.multicast }),
    route({
      method: "PUT", path: "/ports/{name}/multicast", summary: "replace the port's groups (new groups need an M2P mapping)", params: Port,
      body: z.array(MulticastJoin).max(256),
      handler: async ({ params, body }) => { await h.replaceGroups(params.name, body); return { groups: h.port(params.name).compiled.config.multicast }; },
    }),
    route({
      method: "POST", path: "/ports/{name}/multicast", summary: "join a group, or replace its source filter (INCLUDE {} leaves it)", params: Port, body: MulticastJoin,
      handler: async ({ params, body }) => { await h.joinGroup(params.name, body); return { ...body }; },
    }),
    route({
      method: "DELETE", path: "/ports/{name}/multicast/{group}", summary: "leave a group (no error if the port is no member)",
      params: z.strictObject({ name, group: multicastAddress }),
      handler: async ({ params }) => ({ left: params.group, wasMember: await h.leaveGroup(params.name, params.group) }),
    }),
    // the sled's subscriptions: who joined what, across ports
    route({ method: "GET", path: "/mcast/subscriptions", summary: "every group local ports joined, with its underlay group and members", handler: () => h.subscriptions() }),
    route({
      method: "DELETE", path: "/mcast/subscriptions/{group}", summary: "every local port leaves the group", params: z.strictObject({ group: multicastAddress }),
      handler: async ({ params }) => ({ group: params.group, left: await h.leaveGroupEverywhere(params.group) }),
    }),
    // the multicast forwarding table: per underlay group, the next hops local senders' copies go to
    route({ method: "GET", path: "/mcast/forwarding", summary: "the multicast forwarding table", handler: () => h.listForwarding() }),
    route({
      method: "PUT", path: "/mcast/forwarding", summary: "add next hops to an underlay group's entry (a next hop named again is replaced)", body: ForwardingEntry,
      handler: async ({ body }) => {
        await h.setForwarding(body);
        return { ...h.listForwarding().find((x) => x.underlay === canonIp(body.underlay))! };
      },
    }),
    route({
      method: "DELETE", path: "/mcast/forwarding/{underlay}", summary: "drop an underlay group's forwarding entry (no error if there is none)",
      params: z.strictObject({ underlay: underlayGroup }),
      handler: async ({ params }) => ({ cleared: canonIp(params.underlay), existed: await h.clearForwarding(params.underlay) }),
    }),
  ];
}
