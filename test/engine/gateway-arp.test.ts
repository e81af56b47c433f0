// The guest asks "who has 10.0.0.1?" and the port itself answers for the
// virtual gateway (RFD 63 / OPTE's gateway layer, RFC 826): a rule matching
// the ARP request runs the ArpReply hairpin, and the reply goes back the way
// the request came (verdict 3) in the request's own slot.
import { describe, it, expect } from "vitest";
import { LayerDef } from "../../layers/program/encode.js";
import { encodeArpParams, HairpinKind } from "../../layers/program/hairpin-params.js";
import { portWith, Dir, Verdict, GUEST_MAC, GW_MAC, arpRequest, arpReply } from "../helpers/port-fixture.js";
import { hex, ipFrame, udp } from "../helpers/frames.js";

const gateway: LayerDef = {
  name: "gateway", defaultIn: "deny", defaultOut: "allow",
  rules: [
    { id: 100, dir: "out", priority: 10,
      predicates: [{ field: "etherType", values: [0x0806] }, { field: "arpOp", values: [1] }, { field: "arpTargetIp", prefixes: ["10.0.0.1"] }],
      action: { kind: "hairpin", hairpin: HairpinKind.ArpReply, params: encodeArpParams({ gatewayMac: GW_MAC, gatewayIp: "10.0.0.1" }) } },
    { id: 101, dir: "out", priority: 20, predicates: [{ field: "etherType", values: [0x0806] }], action: { kind: "deny" } },
  ],
};

describe("the gateway answers ARP", () => {
  it("a request for the gateway IP is hairpinned back with the gateway's MAC", async () => {
    const { b, e } = await portWith([gateway]);
    const request = arpRequest(GUEST_MAC, "10.0.0.5", "10.0.0.1");
    b.set(0, request, 0, Dir.Out);
    b.set(1, ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 17, udp("10.0.0.5", "10.0.0.6", 1, 2)), 0, Dir.Out);
    expect(b.run(2, 0)).toBe(2); // hairpins count with passes
    expect(b.verdict(0)).toBe(Verdict.Hairpin);
    expect(b.reason(0)).toBe(0);
    expect([b.layer(0), b.rule(0)]).toEqual([0, 100]);
    expect(hex(b.output(0))).toBe(hex(arpReply(GW_MAC, "10.0.0.1", GUEST_MAC, "10.0.0.5")));
    expect(b.verdict(1)).toBe(Verdict.Pass);
    expect(e.counters(0)).toMatchObject({ hairpins: 1, flowsCreated: 1 });
    expect(e.layers(0)[0].rules.map((r) => r.hits)).toEqual([1, 0]);
  });

  it("ARP for anyone else, or an ARP reply, falls through to the next rule", async () => {
    const { send } = await portWith([gateway]);
    expect(send(arpRequest(GUEST_MAC, "10.0.0.5", "10.0.0.6"), Dir.Out)).toMatchObject({ reason: "LayerDeny", rule: 101 });
    expect(send(arpReply(GUEST_MAC, "10.0.0.5", GW_MAC, "10.0.0.1"), Dir.Out)).toMatchObject({ reason: "LayerDeny", rule: 101 });
  });

  it("the same request from the network side meets the inbound default instead", async () => {
    const { send } = await portWith([gateway]);
    expect(send(arpRequest(GUEST_MAC, "10.0.0.5", "10.0.0.1"), Dir.In)).toMatchObject({ reason: "LayerDeny", rule: 0xfffffffe });
  });
});
