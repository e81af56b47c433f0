// Rule matching at scale: the three-layer port of setup.ts with its
// firewall replaced by a generated policy of 1k/10k/50k rules (policy.ts).
//
// - slow path: a new flow per packet (guest SYNs to 200 VPC peers on a port
//   mix), first matches found by each layer's rule index and, side by side
//   in the same process and alternating rounds, by the reference scan of the
//   rules in order (`ruleMatchByScan`); the engine is otherwise the same;
// - a SYN flood from the internet at the guest, the same way: every packet a
//   new 5-tuple through the slow path, most left to the default deny (the
//   scan's worst case: every inbound rule of the packet's protocol);
// - loadProgram of the whole three-layer program (validation, scan lists and
//   rule index), and replaceLayer of the firewall alone;
// - one rule inserted at a random position of the firewall and removed again
//   (portEditLayer, edit bytes prepared beforehand), with no open flows and
//   with the slow path's flows open (a rule change makes every open flow
//   forget the firewall's allows: a pass over the flow table).

import { Engine } from "../hosts/engine/engine.js";
import { encodePortProgram, encodeLayer, encodeLayerEdit } from "../layers/program/encode.js";
import { firewallLayer, routerLayer, overlayLayer, FramePool, PORT, VNI, V2P, PEER_MAC, median, spread } from "./setup.js";
import { policyRules, policyFirewall, policyFrame, floodFrame, peerIp, prng, PEERS } from "./policy.js";
import { Dir, Verdict } from "../hosts/engine/batch.js";
import type { Timing } from "./engine-throughput.js";

export interface Rate { flowsPerSecond: number; nsPerFlow: number; spreadPct: number; rounds: number[]; flowsPerRound: number }
export interface RuleSetResult {
  rules: number; rulesMeetingTraffic: number;
  index: Rate; scan: Rate; speedup: number;
  /** The SYN flood: packets/s decided (mostly denied, none cached), and the share the firewall denied. */
  floodIndex: Rate; floodScan: Rate; floodSpeedup: number; floodDenied: number;
  loadProgramMs: number; replaceLayerMs: number;
  insertUs: number; removeUs: number; insertUsWithFlows: number; removeUsWithFlows: number; openFlows: number;
}

const SLOW_FLOWS = 100_000;
const FLOOD_PACKETS = 50_000;

function rate(rounds: number[], perRound: number): Rate {
  const fps = median(rounds);
  return { flowsPerSecond: fps, nsPerFlow: 1e9 / fps, spreadPct: spread(rounds), rounds: rounds.map(Math.round), flowsPerRound: perRound };
}

/** Median time of `fn` over `n` runs, in ms. */
function timeMs(n: number, fn: () => void): number {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) { const t0 = performance.now(); fn(); xs.push(performance.now() - t0); }
  return median(xs);
}

export async function ruleSetBench(count: number, t: Timing): Promise<RuleSetResult> {
  const e = await Engine.load();
  const policy = policyRules(count);
  const firewall = policyFirewall(policy, firewallLayer());
  const program = encodePortProgram([firewall, routerLayer, overlayLayer]);
  e.createPort(PORT, { vni: VNI, flowCapacity: SLOW_FLOWS + 1024, netEncap: true, underlayIp: "fd00:1122:3344:101::1", underlayMac: "02:00:00:00:0a:01", nextHopMac: "02:00:00:00:5e:01", mtu: 9000 });
  const loadProgramMs = timeMs(count > 20_000 ? 3 : 7, () => e.loadProgram(PORT, program));
  const firewallBytes = encodeLayer(firewall);
  const replaceLayerMs = timeMs(count > 20_000 ? 3 : 7, () => e.replaceLayer(PORT, firewallBytes));
  for (let k = 0; k < PEERS; k++) e.mapSet(V2P, VNI, peerIp(k), 0, 65535, { encapVni: VNI, underlay: "fd00:1122:3344:102::1", mac: PEER_MAC });
  e.setPortState(PORT, "running");
  const pool = new FramePool(e, SLOW_FLOWS, 64, 0, SLOW_FLOWS, policyFrame);

  /** Packets/s through the slow path over the first n frames of `p` (a fresh flow table each time). */
  const pass = (p: FramePool, n: number, allAllowed: boolean): number => {
    e.clearFlows(PORT);
    const t0 = performance.now();
    for (let k = 0; k < n; k += 256) p.run(k, Math.min(256, n - k), 1);
    const ms = performance.now() - t0;
    if (allAllowed && e.flowCount(PORT) !== n) throw new Error(`${count} rules: made ${e.flowCount(PORT)} of ${n} flows: ${JSON.stringify(e.counters(PORT).drops)}`);
    return n / (ms / 1000);
  };
  /** Index and scan side by side: rounds of about roundMs each (≥ 2,000 packets, ≤ the pool), alternating. */
  const sideBySide = (p: FramePool, allAllowed: boolean): { index: Rate; scan: Rate } => {
    const size = (scan: boolean) => {
      e.setRuleScan(scan);
      const probe = pass(p, Math.min(2000, p.count), allAllowed);
      return Math.max(Math.min(2000, p.count), Math.min(p.count, Math.round((probe * t.roundMs) / 1000)));
    };
    const n = { index: size(false), scan: size(true) };
    const got: { index: number[]; scan: number[] } = { index: [], scan: [] };
    for (let r = -t.warmup; r < t.rounds; r++) {
      for (const mode of ["index", "scan"] as const) {
        e.setRuleScan(mode === "scan");
        const pps = pass(p, n[mode], allAllowed);
        if (r >= 0) got[mode].push(pps);
      }
    }
    e.setRuleScan(false);
    return { index: rate(got.index, n.index), scan: rate(got.scan, n.scan) };
  };
  const { index, scan } = sideBySide(pool, true);
  const floodPool = new FramePool(e, FLOOD_PACKETS, 160, 0, FLOOD_PACKETS, floodFrame, Dir.In);
  const flood = sideBySide(floodPool, false);
  floodPool.run(0, 256, 1);
  const floodDenied = [...Array(256).keys()].filter((k) => floodPool.verdict(k) === Verdict.Drop).length / 256;

  // single-rule updates: a rule from another policy, in and out at random positions
  const extra = policyRules(64, 2).rules;
  const rnd = prng(3);
  const edits = extra.map((rule) => {
    const position = Math.floor(rnd() * (firewall.rules.length + 1));
    return { insert: encodeLayerEdit([{ op: "insert", position, rule }]), remove: encodeLayerEdit([{ op: "remove", position }]) };
  });
  const update = () => {
    const ins: number[] = [], rem: number[] = [];
    for (let rep = 0; rep < 4; rep++) {
      for (const ed of edits) {
        let t0 = performance.now();
        e.editLayer(PORT, 0, ed.insert);
        ins.push(performance.now() - t0);
        t0 = performance.now();
        e.editLayer(PORT, 0, ed.remove);
        rem.push(performance.now() - t0);
      }
    }
    return [median(ins) * 1000, median(rem) * 1000];
  };
  e.clearFlows(PORT);
  const [insertUs, removeUs] = update();
  pass(pool, SLOW_FLOWS, true);
  const openFlows = e.flowCount(PORT);
  const [insertUsWithFlows, removeUsWithFlows] = update();
  if (!Buffer.from(e.layerBytes(PORT, 0)).equals(Buffer.from(firewallBytes))) throw new Error("the firewall is not as loaded after the edits");

  return {
    rules: count, rulesMeetingTraffic: policy.meetTraffic, index, scan, speedup: index.flowsPerSecond / scan.flowsPerSecond,
    floodIndex: flood.index, floodScan: flood.scan, floodSpeedup: flood.index.flowsPerSecond / flood.scan.flowsPerSecond, floodDenied,
    loadProgramMs, replaceLayerMs, insertUs, removeUs, insertUsWithFlows, removeUsWithFlows, openFlows,
  };
}
