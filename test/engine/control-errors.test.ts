// A refused control call says what was wrong in its own words: "port exists"
// is not a bad descriptor, a bad state is not an unknown version. Each has
// a reason of its own (abi/reason.ts, after the parse and datapath ones) and
// a message in the operator's terms (hosts/engine/errors.ts).
import { describe, it, expect } from "vitest";
import { Engine, EngineError } from "../../hosts/engine/engine.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { compilePort } from "../../layers/vpc/compile.js";
import { examplePortJson } from "../helpers/example-port.js";

const refusal = (f: () => unknown) => {
  try { f(); return { reason: "accepted", message: "" }; } catch (e) {
    if (!(e instanceof EngineError)) throw e;
    return { reason: reasonName(e.reason), message: e.message };
  }
};

async function port() {
  const compiled = compilePort(examplePortJson());
  const e = await Engine.load();
  e.createPort(0, compiled.engineConfig);
  return { e, compiled };
}

describe("control errors", () => {
  it("a port id in use is PortExists; one past the last port is BadArgument", async () => {
    const { e, compiled } = await port();
    expect(refusal(() => e.createPort(0, compiled.engineConfig))).toEqual({
      reason: "PortExists", message: "could not create the port: a port with that id exists already: remove it first, or pick another id",
    });
    expect(refusal(() => e.createPort(1024, compiled.engineConfig)).reason).toBe("BadArgument");
    expect(refusal(() => e.destroyPort(5)).reason).toBe("NoPort");
  });

  it("a config with a zero flow capacity, an MTU out of range, a zero lifetime, or a new capacity is BadArgument", async () => {
    const { e, compiled } = await port();
    expect(refusal(() => e.createPort(1, { ...compiled.engineConfig, flowCapacity: 0 })).reason).toBe("BadArgument");
    expect(refusal(() => e.createPort(1, { ...compiled.engineConfig, mtu: 100 })).reason).toBe("BadArgument");
    expect(refusal(() => e.createPort(1, { ...compiled.engineConfig, ttl: { udp: 0 } })).reason).toBe("BadArgument");
    expect(refusal(() => e.reconfigurePort(0, { ...compiled.engineConfig, flowCapacity: compiled.engineConfig.flowCapacity + 1 }))
      .message).toMatch(/^could not change the port: a value is out of range/);
    expect(e.portExists(1)).toBe(false);
  });

  it("a state the engine does not have is BadArgument, and the port keeps its state", async () => {
    const { e } = await port();
    expect(e.fn("portSetState")(0, 7)).toBe(e.fn("portSetState")(0, 9));
    expect(reasonName(e.fn("portSetState")(0, 7))).toBe("BadArgument");
    expect(e.portState(0)).toBe("ready");
  });

  it("a SNAT pool id past the last, or an empty port range, is BadArgument; removing a pool that is not there is NoSuchPool", async () => {
    const { e } = await port();
    expect(refusal(() => e.setNatPool(0, 8, "198.51.100.7", 1024, 2047)).reason).toBe("BadArgument");
    expect(refusal(() => e.setNatPool(0, 1, "198.51.100.7", 2047, 1024)).reason).toBe("BadArgument");
    expect(refusal(() => e.removeNatPool(0, 5))).toEqual({ reason: "NoSuchPool", message: "could not remove a SNAT pool: the port has no SNAT pool with that id" });
  });

  it("a flow index with no live flow is NoSuchFlow; a meter or direction out of range is BadArgument", async () => {
    const { e } = await port();
    expect(reasonName(e.fn("portFlowRemoveAt")(0, 0))).toBe("NoSuchFlow");
    expect(reasonName(e.fn("portFlowRemoveAt")(0, 1 << 30))).toBe("NoSuchFlow");
    expect(refusal(() => e.setMeter(0, 16, "in", 1e6, 1500, 0)).reason).toBe("BadArgument");
    expect(reasonName(e.fn("portSetMeter")(0, 0, 3, 1000, 1500, 0))).toBe("BadArgument");
    expect(refusal(() => e.setMeter(0, 0, "out", 8e6, 1500, 0)).reason).toBe("accepted");
  });

  it("a mapping with a reversed port range or a VNI over 24 bits is BadArgument", async () => {
    const { e } = await port();
    const target = { encapVni: 10, underlay: "fd00::1", mac: "a8:40:25:00:00:01" };
    expect(refusal(() => e.mapSet(1, 10, "10.0.0.1", 9, 8, target)).reason).toBe("BadArgument");
    expect(refusal(() => e.mapSet(1, 1 << 24, "10.0.0.1", 0, 0, target)).reason).toBe("BadArgument");
  });
});

describe("control errors of rule changes", () => {
  it("replacing a layer the program lacks, or editing one past the last, is NoSuchLayer; an edit position out of range is BadArgument", async () => {
    const { e, compiled } = await port();
    e.loadProgram(0, compiled.program);
    const { encodeLayer, encodeLayerEdit } = await import("../../layers/program/encode.js");
    const stray = encodeLayer({ name: "nonesuch", defaultIn: "allow", defaultOut: "allow", rules: [] });
    expect(refusal(() => e.replaceLayer(0, stray)).reason).toBe("NoSuchLayer");
    expect(refusal(() => e.editLayer(0, 99, encodeLayerEdit([{ op: "remove", position: 0 }]))).reason).toBe("NoSuchLayer");
    expect(refusal(() => e.editLayer(0, 0, encodeLayerEdit([{ op: "remove", position: 1 << 20 }]))).reason).toBe("BadArgument");
  });
});
