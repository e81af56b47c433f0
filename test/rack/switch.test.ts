// The rack-in-a-box underlay switch: unicast by outer IPv6 destination, and
// underlay multicast groups replicated as the Oxide Multicast option asks:
// Underlay or Both to every sled but the sender (never to boundary services,
// which takes no groups), External to front-panel ports the rack has not.
import { describe, it, expect } from "vitest";
import { UnderlaySwitch } from "../../hosts/rack/switch.js";
import { RingDevice } from "../../hosts/io/ring-device.js";
import { geneve, ipFrame, udp } from "../helpers/frames.js";
import { until } from "../helpers/until.js";

const inner = ipFrame("01:00:5e:01:02:03", "a8:40:25:f0:00:05", "172.30.0.5", "239.1.2.3", 17, udp("172.30.0.5", "239.1.2.3", 5000, 5000));
const toGroupAs = (multicast?: number) => geneve("33:33:00:00:01:23", "02:08:20:01:01:01", "fd00:1122:3344:101::1", "ff04::123", { vni: 77, multicast }, inner);
const toGroup = toGroupAs(1); // Underlay replication
const toSled102 = geneve("02:08:20:ff:ff:01", "02:08:20:01:01:01", "fd00:1122:3344:101::1", "fd00:1122:3344:102::1", { vni: 1024 }, inner);
const toNowhere = geneve("02:08:20:ff:ff:01", "02:08:20:01:01:01", "fd00:1122:3344:101::1", "fd00:1122:3344:999::1", { vni: 1024 }, inner);


describe("the rack's underlay switch", () => {
  it("forwards unicast by destination, replicates groups to the other sleds only, and counts the unroutable", async () => {
    const sw = new UnderlaySwitch();
    const nics = {
      a: new RingDevice("a", sw.attach("sled-101", "fd00:1122:3344:101::1")),
      b: new RingDevice("b", sw.attach("sled-102", "fd00:1122:3344:102::1")),
      c: new RingDevice("c", sw.attach("sled-103", "fd00:1122:3344:103::1")),
      gw: new RingDevice("gw", sw.attach("gateway", "fd00:1122:3344:1::1", false)),
    };
    const got: Record<string, Uint8Array[]> = { a: [], b: [], c: [], gw: [] };
    for (const [k, nic] of Object.entries(nics)) nic.onFrames((f) => got[k].push(...f));
    sw.start();
    nics.a.send([toGroup, toSled102, toNowhere, toGroupAs(0), toGroupAs(undefined), toGroupAs(3)]);
    // all six frames handled (the counters are final), and the three switched ones delivered
    await until(() => got.b.length === 2 && got.c.length === 1 && sw.counters.unreplicable === 2 && sw.counters.unroutable === 1 && sw.counters.frontPanel === 1,
      "the switch to handle all six frames");
    expect(got.b.map((f) => f[38])).toEqual([0xff, 0xfd]);   // the group copy, then the unicast
    expect(got.c.length).toBe(1);
    expect(got.c[0]).toEqual(toGroup);
    expect(got.a.length).toBe(0);                            // not back to the sender
    expect(got.gw.length).toBe(0);                           // boundary services takes no groups
    // External only: front-panel ports (none here); no Multicast option, or Reserved: nothing to follow
    expect(sw.counters).toMatchObject({ replicated: 2, unroutable: 1, switched: 3, frontPanel: 1, unreplicable: 2 });
    nics.c.send([toGroupAs(2)]); // Both: the other sleds, and the front panel
    await until(() => got.a.length === 1 && got.b.length === 3, "the Both copy at the other sleds");
    expect(got.c.length).toBe(1);
    expect(sw.counters).toMatchObject({ replicated: 4, frontPanel: 2 });
    for (const nic of Object.values(nics)) nic.close();
    sw.close();
  });
});
