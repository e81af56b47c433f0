// Rules by name, for whoever reports the rule that decided a frame (the
// engine reports a layer index and a rule id). A firewall rule is called what
// the port config calls it; the rules the VPC layers write themselves are
// described by what they do ("deny SpoofedSource: ethSrc not …"), since the
// config has no name for them. The engine's two special ids: a layer's
// default action and "no rule" (a parser drop, a hairpin before the layers).

import type { CompiledPort } from "./compile.js";
import type { Rule, Predicate } from "../program/encode.js";
import { Reason } from "../../abi/reason.js";
import { HairpinKind } from "../program/hairpin-params.js";

export const RULE_DEFAULT = 0xfffffffe;
export const RULE_NONE = 0xffffffff;

const hairpinNames = new Map(Object.entries(HairpinKind).map(([k, v]) => [v as number, k]));

/** The name of rule `ruleId` of layer `layerIndex` of a compiled port. */
export function ruleName(compiled: CompiledPort, layerIndex: number, ruleId: number): string {
  if (ruleId === RULE_NONE) return "-";
  if (ruleId === RULE_DEFAULT) return "default";
  const layer = compiled.layers[layerIndex];
  if (layer?.name === "firewall") {
    // firewall rule ids count the config's rules from 1 (layers/vpc/firewall.ts)
    const named = compiled.config.firewall[ruleId - 1];
    if (named) return named.name;
  }
  const rule = layer?.rules.find((r) => r.id === ruleId);
  return rule ? describeRule(rule) : `rule ${ruleId}`;
}

/** What a rule does, in one line: its action, then what it matches. */
export function describeRule(r: Rule): string {
  const a = r.action;
  const action =
    a.kind === "deny" ? `deny ${a.reason !== undefined ? Reason[a.reason] ?? `reason ${a.reason}` : "LayerDeny"}` :
    a.kind === "hairpin" ? `reply ${hairpinNames.get(a.hairpin) ?? a.hairpin}` :
    a.kind === "modify" ? `set ${a.set.map((s) => s.op).join("+")}` :
    a.kind === "encap" ? `encap${a.external ? " external" : ""}${a.multicast ? " multicast" : ""}` :
    a.kind === "snat" ? `snat pool ${a.pool}` :
    a.kind === "nat11Src" || a.kind === "nat11Dst" ? `${a.kind} ${a.ip}` :
    a.kind === "statefulAllow" ? "allow (stateful)" : a.kind === "toHost" ? "to host" : a.kind;
  const matches = r.predicates.map(predicateText).join(", ");
  return matches ? `${action}: ${matches}` : action;
}

function predicateText(p: Predicate): string {
  const list = "macs" in p ? p.macs : "prefixes" in p ? p.prefixes :
    "masks" in p ? p.masks.map((m) => `0x${m.want.toString(16)}/0x${m.mask.toString(16)}`) :
    p.values.map((v) => (Array.isArray(v) ? `${v[0]}-${v[1]}` : String(v)));
  const shown = list.length > 3 ? [...list.slice(0, 3), `+${list.length - 3}`] : list;
  return `${p.field}${p.not ? " not" : ""} ${shown.join("|")}`;
}

export const LAYER_NONE = 255;

/** Where a decision came from, by name: the layer, and its rule ("default" for its default action). */
export interface RuleRef { layer?: string; rule?: string }

/** Layer `layerIndex` and its rule `ruleId` of a compiled port, by name (nothing when no layer decided). */
export function ruleRef(compiled: CompiledPort, layerIndex: number, ruleId: number): RuleRef {
  if (layerIndex === LAYER_NONE || layerIndex < 0) return {};
  const layer = compiled.layers[layerIndex]?.name ?? `layer ${layerIndex}`;
  return ruleId === RULE_NONE ? { layer } : { layer, rule: ruleName(compiled, layerIndex, ruleId) };
}

/** "firewall: allow-ssh", "gateway: default", "router" (a layer without a rule), "" (nothing decided). */
export function ruleText(ref: RuleRef): string {
  return ref.layer ? (ref.rule ? `${ref.layer}: ${ref.rule}` : ref.layer) : "";
}

/**
 * A rule as data for dumps (`wopte layers --json`): its id and name, direction,
 * priority, predicates and action as the compiler wrote them (a hairpin's
 * parameter bytes are left out; its kind is named).
 */
export function ruleJson(compiled: CompiledPort, layerIndex: number, r: Rule): Record<string, unknown> {
  const { params: _params, ...action } = r.action as Rule["action"] & { params?: Uint8Array };
  return {
    id: r.id, name: ruleName(compiled, layerIndex, r.id), dir: r.dir, priority: r.priority, predicates: r.predicates,
    action: r.action.kind === "hairpin" ? { ...action, reply: hairpinNames.get(r.action.hairpin) ?? r.action.hairpin } : action,
  };
}
