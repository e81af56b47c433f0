// Entry point of build/engine-testing.wasm: the engine's internals exported
// for vitest. Never loaded by hosts; the release engine.wasm is engine/index.ts.
export * from "./testing/packet";
export * from "./testing/hairpin";
export * from "./testing/rules";
export * from "./index";
