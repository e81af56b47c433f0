// Test frames are built by hand (hosts/lib/frames.ts), independently of the engine.
export * from "../../hosts/lib/frames.js";
