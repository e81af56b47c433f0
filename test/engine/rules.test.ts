// How a layer decides (RFD 63 layers; OPTE's Layer::process): the first rule
// by (priority, program order) whose predicates all hold, else the layer's
// default for the direction. Each predicate is an OR over its values, a
// negation inverts it, and a field the packet lacks matches nothing.
import { describe, it, expect } from "vitest";
import { LayerDef, Rule, Predicate } from "../../layers/program/encode.js";
import { portWith, Dir, GUEST_MAC, GW_MAC, SLED_A, SLED_B, UNDERLAY_MAC, SWITCH_MAC, VNI, arpRequest } from "../helpers/port-fixture.js";
import { ipFrame, tcp, udp, icmpEcho, geneve, eth, ipv4, csum, TCP_FLAGS } from "../helpers/frames.js";

const DEFAULT_RULE = 0xfffffffe;

const out4 = (sport: number, dport: number, dst = "10.0.0.6") =>
  ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", dst, 6, tcp("10.0.0.5", dst, sport, dport, TCP_FLAGS.SYN));
const in4 = (sport: number, dport: number, src = "10.0.0.6") =>
  ipFrame(GUEST_MAC, GW_MAC, src, "10.0.0.5", 6, tcp(src, "10.0.0.5", sport, dport, TCP_FLAGS.SYN));
const udp4 = (dport: number) => ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 17, udp("10.0.0.5", "10.0.0.6", 5000, dport));
const out6 = (dst: string) => ipFrame(GW_MAC, GUEST_MAC, "fd00::5", dst, 17, udp("fd00::5", dst, 5000, 53));
const ping4 = (type = 8) => {
  const f = ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 1, icmpEcho("10.0.0.5", "10.0.0.6", true, 7, 1));
  if (type === 8) return f;
  const m = f.slice();
  m[34] = type; m[36] = 0; m[37] = 0;
  const c = csum(m.subarray(34)); m[36] = c >> 8; m[37] = c & 0xff;
  return m;
};
/** ICMP destination unreachable (type 3 code 3): no echo identifier, so no ports. */
const unreachable = () => {
  const body = new Uint8Array(8 + 28);
  body[0] = 3; body[1] = 3;
  body.set(ipv4("10.0.0.6", "10.0.0.5", 17, udp("10.0.0.6", "10.0.0.5", 53, 5000)).subarray(0, 28), 8);
  const c = csum(body); body[2] = c >> 8; body[3] = c & 0xff;
  return eth(GW_MAC, GUEST_MAC, 0x0800, ipv4("10.0.0.5", "10.0.0.6", 1, body));
};

/** A single layer that denies (with the rule's id visible in the descriptor) whatever `preds` match, and allows the rest. */
const denyWhen = (preds: Predicate[], dir: Rule["dir"] = "both"): LayerDef => ({
  name: "probe", defaultIn: "allow", defaultOut: "allow",
  rules: [{ id: 7, dir, priority: 10, predicates: preds, action: { kind: "deny" } }],
});

describe("rule order", () => {
  it("the lower priority number wins, wherever the rule sits in the program", async () => {
    const { send, e } = await portWith([{
      name: "fw", defaultIn: "allow", defaultOut: "allow",
      rules: [
        { id: 1, dir: "out", priority: 200, predicates: [], action: { kind: "deny" } },
        { id: 2, dir: "out", priority: 100, predicates: [{ field: "dstPort", values: [22] }], action: { kind: "deny" } },
        { id: 3, dir: "out", priority: 50, predicates: [{ field: "dstPort", values: [80] }], action: { kind: "allow" } },
      ],
    }]);
    expect(send(out4(1000, 22), Dir.Out)).toMatchObject({ reason: "LayerDeny", layer: 0, rule: 2 });
    expect(send(out4(1001, 443), Dir.Out)).toMatchObject({ reason: "LayerDeny", layer: 0, rule: 1 });
    expect(send(out4(1002, 80), Dir.Out).reason).toBe("pass");
    expect(e.layers(0)[0].rules.map((r) => r.hits)).toEqual([1, 1, 1]);
  });

  it("equal priorities keep program order", async () => {
    const rule = (id: number): Rule => ({ id, dir: "out", priority: 100, predicates: [], action: { kind: "deny" } });
    const a = await portWith([{ name: "fw", defaultIn: "allow", defaultOut: "allow", rules: [rule(5), rule(4), rule(6)] }]);
    expect(a.send(out4(1000, 80), Dir.Out).rule).toBe(5);
    const b = await portWith([{ name: "fw", defaultIn: "allow", defaultOut: "allow", rules: [rule(6), rule(5), rule(4)] }]);
    expect(b.send(out4(1000, 80), Dir.Out).rule).toBe(6);
  });

  it("a rule only sees its direction; `both` sees both", async () => {
    const { result } = await portWith([{
      name: "fw", defaultIn: "allow", defaultOut: "allow",
      rules: [
        { id: 1, dir: "in", priority: 10, predicates: [{ field: "dstPort", values: [22] }], action: { kind: "deny" } },
        { id: 2, dir: "out", priority: 10, predicates: [{ field: "dstPort", values: [25] }], action: { kind: "deny" } },
        { id: 3, dir: "both", priority: 10, predicates: [{ field: "dstPort", values: [23] }], action: { kind: "deny" } },
      ],
    }]);
    expect(result(out4(1000, 22), Dir.Out)).toBe("pass");
    expect(result(in4(1000, 22), Dir.In)).toBe("LayerDeny");
    expect(result(out4(1001, 25), Dir.Out)).toBe("LayerDeny");
    expect(result(in4(1001, 25), Dir.In)).toBe("pass");
    expect(result(out4(1002, 23), Dir.Out)).toBe("LayerDeny");
    expect(result(in4(1002, 23), Dir.In)).toBe("LayerDeny");
  });
});

describe("layer defaults", () => {
  it("apply per direction when no rule matches, reported as the default rule", async () => {
    const { send, e } = await portWith([{
      name: "fw", defaultIn: "deny", defaultOut: "allow",
      rules: [{ id: 1, dir: "in", priority: 10, predicates: [{ field: "dstPort", values: [80] }], action: { kind: "allow" } }],
    }]);
    expect(send(out4(1000, 9999), Dir.Out).reason).toBe("pass");
    expect(send(in4(1000, 80), Dir.In).reason).toBe("pass");
    expect(send(in4(1000, 81), Dir.In)).toMatchObject({ reason: "LayerDeny", layer: 0, rule: DEFAULT_RULE });
    expect(e.layers(0)[0].stats).toMatchObject({ defaultIn: 1, defaultOut: 1, denies: 1 });
  });

  it("a statefulAllow default lets the replies of outbound flows in past a deny default", async () => {
    const { result } = await portWith([{ name: "fw", defaultIn: "deny", defaultOut: "statefulAllow", rules: [] }]);
    expect(result(in4(80, 40000), Dir.In)).toBe("LayerDeny");       // unsolicited
    expect(result(out4(40000, 80), Dir.Out)).toBe("pass");
    expect(result(in4(80, 40000), Dir.In)).toBe("pass");            // the reply
    expect(result(in4(80, 40001), Dir.In)).toBe("LayerDeny");       // another port is still closed
  });

  it("a plain allow default keeps no state: replies meet the inbound default", async () => {
    const { result } = await portWith([{ name: "fw", defaultIn: "deny", defaultOut: "allow", rules: [] }]);
    expect(result(out4(40000, 80), Dir.Out)).toBe("pass");
    expect(result(in4(80, 40000), Dir.In)).toBe("LayerDeny");
  });
});

describe("predicates", () => {
  it("negation inverts a predicate", async () => {
    const { result } = await portWith([denyWhen([{ field: "dstPort", values: [80, 443], not: true }], "out")]);
    expect(result(out4(1000, 80), Dir.Out)).toBe("pass");
    expect(result(out4(1000, 443), Dir.Out)).toBe("pass");
    expect(result(out4(1000, 22), Dir.Out)).toBe("LayerDeny");
  });

  it("several values are alternatives, and all predicates of a rule must hold", async () => {
    const { result } = await portWith([denyWhen([{ field: "proto", values: [6] }, { field: "dstPort", values: [22, 23, [3000, 3999]] }], "out")]);
    expect(result(out4(1000, 22), Dir.Out)).toBe("LayerDeny");
    expect(result(out4(1000, 23), Dir.Out)).toBe("LayerDeny");
    expect(result(out4(1000, 24), Dir.Out)).toBe("pass");
    expect(result(udp4(22), Dir.Out)).toBe("pass"); // proto does not hold
  });

  it("port ranges include both ends", async () => {
    const { result } = await portWith([denyWhen([{ field: "dstPort", values: [[1000, 2000]] }], "out")]);
    expect([999, 1000, 1500, 2000, 2001].map((p) => result(out4(40000 + p, p), Dir.Out)))
      .toEqual(["pass", "LayerDeny", "LayerDeny", "LayerDeny", "pass"]);
  });

  it("IPv4 prefixes: /24, /32 and /0 (which covers every IPv4 address but no IPv6 one)", async () => {
    const t24 = await portWith([denyWhen([{ field: "dstIp", prefixes: ["192.168.7.0/24"] }], "out")]);
    expect(t24.result(out4(1, 80, "192.168.7.255"), Dir.Out)).toBe("LayerDeny");
    expect(t24.result(out4(2, 80, "192.168.8.0"), Dir.Out)).toBe("pass");
    const t32 = await portWith([denyWhen([{ field: "dstIp", prefixes: ["192.168.7.9/32"] }], "out")]);
    expect(t32.result(out4(1, 80, "192.168.7.9"), Dir.Out)).toBe("LayerDeny");
    expect(t32.result(out4(2, 80, "192.168.7.8"), Dir.Out)).toBe("pass");
    const t0 = await portWith([denyWhen([{ field: "dstIp", prefixes: ["0.0.0.0/0"] }], "out")]);
    expect(t0.result(out4(1, 80, "1.2.3.4"), Dir.Out)).toBe("LayerDeny");
    expect(t0.result(out4(2, 80, "255.255.255.255"), Dir.Out)).toBe("LayerDeny");
    expect(t0.result(out6("fd00::6"), Dir.Out)).toBe("pass");
  });

  it("IPv6 prefixes: /64, /128 and ::/0 (which covers IPv4 too, in its mapped form)", async () => {
    const t64 = await portWith([denyWhen([{ field: "dstIp", prefixes: ["fd00:1:2:3::/64"] }], "out")]);
    expect(t64.result(out6("fd00:1:2:3:ffff:ffff:ffff:ffff"), Dir.Out)).toBe("LayerDeny");
    expect(t64.result(out6("fd00:1:2:4::"), Dir.Out)).toBe("pass");
    const t128 = await portWith([denyWhen([{ field: "dstIp", prefixes: ["fd00::6/128"] }], "out")]);
    expect(t128.result(out6("fd00::6"), Dir.Out)).toBe("LayerDeny");
    expect(t128.result(out6("fd00::7"), Dir.Out)).toBe("pass");
    expect(t128.result(out6("fd01::6"), Dir.Out)).toBe("pass");
    // a /127 spans the last bit of the low half
    const t127 = await portWith([denyWhen([{ field: "dstIp", prefixes: ["fd00::6/127"] }], "out")]);
    expect([t127.result(out6("fd00::6"), Dir.Out), t127.result(out6("fd00::7"), Dir.Out), t127.result(out6("fd00::8"), Dir.Out)])
      .toEqual(["LayerDeny", "LayerDeny", "pass"]);
    const t0 = await portWith([denyWhen([{ field: "dstIp", prefixes: ["::/0"] }], "out")]);
    expect(t0.result(out6("2001:db8::1"), Dir.Out)).toBe("LayerDeny");
    expect(t0.result(out4(1, 80), Dir.Out)).toBe("LayerDeny");
    expect(t0.result(arpRequest(GUEST_MAC, "10.0.0.5", "10.0.0.1"), Dir.Out)).toBe("pass"); // ARP has no IP header
  });

  it("MAC addresses", async () => {
    const { result } = await portWith([denyWhen([{ field: "ethSrc", macs: ["a8:40:25:00:00:99", GUEST_MAC] }], "out")]);
    expect(result(out4(1, 80), Dir.Out)).toBe("LayerDeny");
    const other = ipFrame(GW_MAC, "a8:40:25:00:00:98", "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 2, 80, TCP_FLAGS.SYN));
    expect(result(other, Dir.Out)).toBe("pass");
  });

  it("ICMP type", async () => {
    const { result } = await portWith([denyWhen([{ field: "icmpType", values: [8] }], "out")]);
    expect(result(ping4(8), Dir.Out)).toBe("LayerDeny");
    expect(result(ping4(13), Dir.Out)).toBe("pass"); // a timestamp request
    expect(result(out4(1, 80), Dir.Out)).toBe("pass"); // TCP has no ICMP type
  });

  it("ports of a frame without ports (ICMP errors, ARP) never match; negated, they always do", async () => {
    const any = await portWith([denyWhen([{ field: "dstPort", values: [[0, 65535]] }], "out")]);
    expect(any.result(unreachable(), Dir.Out)).toBe("pass");
    expect(any.result(arpRequest(GUEST_MAC, "10.0.0.5", "10.0.0.1"), Dir.Out)).toBe("pass");
    expect(any.result(out4(1, 80), Dir.Out)).toBe("LayerDeny");
    const none = await portWith([denyWhen([{ field: "dstPort", values: [[0, 65535]], not: true }], "out")]);
    expect(none.result(unreachable(), Dir.Out)).toBe("LayerDeny");
    expect(none.result(arpRequest(GUEST_MAC, "10.0.0.5", "10.0.0.1"), Dir.Out)).toBe("LayerDeny");
    expect(none.result(out4(1, 80), Dir.Out)).toBe("pass");
  });

  it("VNI is a field of encapsulated frames only", async () => {
    const layers: LayerDef[] = [
      denyWhen([{ field: "vni", values: [VNI] }]),
      { name: "overlay", defaultIn: "deny", defaultOut: "allow",
        rules: [{ id: 11, dir: "in", priority: 10, predicates: [], action: { kind: "decap" } }] },
    ];
    const { result } = await portWith(layers, { netEncap: true });
    const inner = in4(80, 40000);
    expect(result(geneve(UNDERLAY_MAC, SWITCH_MAC, SLED_B, SLED_A, { vni: VNI }, inner), Dir.In)).toBe("LayerDeny");
    expect(result(geneve(UNDERLAY_MAC, SWITCH_MAC, SLED_B, SLED_A, { vni: VNI + 1 }, inner), Dir.In)).toBe("pass");
    expect(result(out4(40000, 80), Dir.Out)).toBe("pass"); // guest frames carry no VNI

    // negated, the absent VNI of a guest frame matches
    const negated = await portWith([denyWhen([{ field: "vni", values: [VNI], not: true }], "out")]);
    expect(negated.send(out4(40000, 80), Dir.Out)).toMatchObject({ reason: "LayerDeny", rule: 7 });
  });

  it("a deny rule's reason byte is reported in the descriptor and counted under its name", async () => {
    const { send, e } = await portWith([{
      name: "guard", defaultIn: "allow", defaultOut: "allow",
      rules: [{ id: 9, dir: "out", priority: 1, predicates: [{ field: "srcIp", prefixes: ["10.0.0.5/32"], not: true }], action: { kind: "deny", reason: 38 } }],
    }]);
    const spoofed = ipFrame(GW_MAC, GUEST_MAC, "10.0.0.66", "10.0.0.6", 17, udp("10.0.0.66", "10.0.0.6", 1, 2));
    expect(send(spoofed, Dir.Out)).toMatchObject({ reason: "SpoofedSource", reasonNo: 38, layer: 0, rule: 9 });
    expect(send(spoofed, Dir.Out).reasonNo).toBe(38);
    expect(send(udp4(53), Dir.Out).reason).toBe("pass");
    const c = e.counters(0);
    expect(c.drops).toEqual({ SpoofedSource: 2 });
    expect(c.dropsOut).toBe(2);
  });
});
