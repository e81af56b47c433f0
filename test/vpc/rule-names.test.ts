// Rules by name: a firewall rule as the config names it, the VPC layers' own
// rules by what they do, and the engine's two special rule ids.
import { describe, it, expect } from "vitest";
import { compilePort } from "../../layers/vpc/compile.js";
import { ruleName, RULE_DEFAULT, RULE_NONE } from "../../layers/vpc/rule-names.js";
import { examplePortJson } from "../helpers/example-port.js";

describe("ruleName", () => {
  const c = compilePort(examplePortJson());
  const layer = (name: string) => c.layers.findIndex((l) => l.name === name);

  it("calls a firewall rule by its name in the port config", () => {
    expect(ruleName(c, layer("firewall"), 1)).toBe("allow-http-in");
    expect(ruleName(c, layer("firewall"), 3)).toBe("allow-icmpv6-in-from-vpc");
  });
  it("describes the layers' own rules by action and match", () => {
    expect(ruleName(c, layer("gateway"), 1)).toBe("deny SpoofedSource: ethSrc not a8:40:25:f0:00:05");
    const router = c.layers[layer("router")];
    const last = router.rules[router.rules.length - 1];
    expect(ruleName(c, layer("router"), last.id)).toBe("deny Unroutable");
  });
  it("names a layer's default action and no rule at all", () => {
    expect(ruleName(c, layer("firewall"), RULE_DEFAULT)).toBe("default");
    expect(ruleName(c, 0, RULE_NONE)).toBe("-");
    expect(ruleName(c, layer("gateway"), 9999)).toBe("rule 9999");
  });
});
