// Reading docs/grafana-dashboard.json for its tests: the PromQL of every
// panel and variable, and the metric names those queries use.
import { readFileSync } from "node:fs";

export interface Dashboard {
  uid: string; title: string; schemaVersion: number;
  templating: { list: { name: string; type: string; definition?: string }[] };
  panels: { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: { refId: string; expr: string }[] }[];
}

export const dashboard = (): Dashboard => JSON.parse(readFileSync(new URL("../../docs/grafana-dashboard.json", import.meta.url), "utf8"));

/** Every PromQL expression: the panels' targets, and the selectors inside the variables' label_values(). */
export function queries(d: Dashboard): string[] {
  const exprs = d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  for (const v of d.templating.list) {
    const m = v.definition && /^label_values\((.*),\s*\w+\)$/.exec(v.definition);
    if (m) exprs.push(m[1]);
  }
  return exprs;
}

/** The expression as Prometheus would get it: Grafana's variables filled in. */
export const asPromql = (expr: string) => expr.replace(/\$__rate_interval/g, "1m").replace(/\$\w+/g, ".*");

/** Metric names an expression reads (label names, values and functions are not metrics). */
export function metricNames(expr: string): string[] {
  const bare = expr.replace(/\{[^}]*\}/g, "{}").replace(/"[^"]*"/g, '""').replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, "");
  return [...new Set([...bare.matchAll(/\b(wopte_\w+|process_\w+|nodejs_\w+)\b/g)].map((m) => m[1]))];
}
