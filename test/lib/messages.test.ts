// A refused value is told what was expected and what it was, in the
// operator's words, with the valid choices; never zod's "Invalid input".
import { describe, it, expect } from "vitest";
import { z } from "zod";
import "../../layers/program/messages.js";
import { portRange, vni } from "../../layers/program/fields.js";
import { PortConfigSchema } from "../../layers/vpc/config.js";
import { examplePortJson } from "../helpers/example-port.js";

const S = z.strictObject({
  count: z.number().int().min(0).max(10).optional(),
  label: z.string().min(1).max(4).optional(),
  direction: z.enum(["in", "out"]).optional(),
  list: z.array(z.number()).min(1).max(2).optional(),
  either: z.union([z.number(), z.boolean()]).optional(),
  target: z.discriminatedUnion("type", [z.object({ type: z.literal("drop") }), z.object({ type: z.literal("instance"), ip: z.string() })]).optional(),
  vni: vni.optional(),
  ports: portRange.optional(),
  flag: z.boolean().optional(),
});

function said(v: unknown): string[] {
  const r = S.safeParse(v);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("refusals in the operator's words", () => {
  it("says what was expected and what was given", () => {
    expect(said({ vni: "1024" })).toEqual(['vni: expected a number, not "1024"']);
    expect(said({ count: 1.5 })).toEqual(["count: expected a whole number, not 1.5"]);
    expect(said({ vni: 2 ** 30 })).toEqual(["vni: must be at most 16777215, not 1073741824"]);
    expect(said({ count: -1 })).toEqual(["count: must be at least 0, not -1"]);
    expect(said({ flag: "yes" })).toEqual(['flag: expected true or false, not "yes"']);
    expect(said({ label: "" })).toEqual(["label: must not be empty"]);
    expect(said({ label: "abcde" })).toEqual(["label: must be at most 4 characters long"]);
    expect(said({ list: [] })).toEqual(["list: needs at least 1 entry"]);
    expect(said({ target: { type: "instance" } })).toEqual(["target.ip: missing (expected a string)"]);
  });

  it("lists the valid choices: enum values, union kinds, discriminators, an object's fields", () => {
    expect(said({ direction: "up" })).toEqual(['direction: expected one of "in", "out", not "up"']);
    expect(said({ either: "x" })).toEqual(['either: expected a number or true or false, not "x"']);
    expect(said({ target: { type: "bogus" } })).toEqual(['target.type: expected one of "drop", "instance", not "bogus"']);
    expect(said({ firewal: [] })).toEqual([': unknown field "firewal" (fields here: count, label, direction, list, either, target, vni, ports, flag)']);
  });

  it("keeps a union's one close alternative (a port range written wrong is told why)", () => {
    expect(said({ ports: "90-80" })).toEqual(["ports: port range out of order: 90-80"]);
    expect(said({ ports: 70000 })).toEqual(["ports: must be at most 65535, not 70000"]);
  });

  it("a port config full of mistakes names every field and never says Invalid input", () => {
    const c = examplePortJson() as Record<string, any>;
    c.vni = "1024"; c.firewall[0].direction = "sideways"; c.guest.mac = 5; c.routes = [{ dest: "10.0.0.0/8", target: { type: "bogus" } }]; c.extra = 1;
    const r = PortConfigSchema.safeParse(c);
    const text = r.success ? "" : r.error.issues.map((i) => i.message).join("\n");
    expect(text).not.toMatch(/Invalid input|Invalid option|Unrecognized key|received/);
    expect(text).toMatch(/expected a number, not "1024"/);
    expect(text).toMatch(/expected one of "in", "out", not "sideways"/);
  });
});
