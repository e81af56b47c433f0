// Bandwidth enforcement: token buckets per port and per flow class, in each
// direction (seed 002, Crossbow's per-VNIC and per-flow limits).
//
// Meter 0 limits the whole port; meters 1..15 are classes that rules assign
// flows to (Modify set-op `meter`). A flow's class is kept in its record, so
// the fast path enforces it too. Buckets refill from the host's clock; a frame
// that finds too few tokens is dropped and counted (RateLimited). Bytes are
// counted as frame lengths before encapsulation.

import { Dir } from "../abi/batch";

export const METERS_PER_PORT: u32 = 16;
// Per meter and direction: rate bytes/ms f64, burst bytes f64, tokens f64, last refill ms f64.
const BUCKET_SIZE: usize = 32;
export const METER_AREA_SIZE: usize = <usize>METERS_PER_PORT * 2 * BUCKET_SIZE;

@inline function bucket(area: usize, meter: u32, dir: u32): usize {
  return area + ((<usize>meter << 1) + <usize>(dir - Dir.In)) * BUCKET_SIZE;
}

/** Configure meter `meter` for direction `dir` (a Dir). A rate of 0 removes the limit. */
export function meterSet(area: usize, meter: u32, dir: u32, bytesPerSec: f64, burstBytes: f64, now: f64): bool {
  if (meter >= METERS_PER_PORT || (dir != Dir.In && dir != Dir.Out) || !(bytesPerSec >= 0) || !(burstBytes >= 0)) return false;
  const b = bucket(area, meter, dir);
  store<f64>(b, bytesPerSec / 1000);
  store<f64>(b, burstBytes, 8);
  store<f64>(b, burstBytes, 16);
  store<f64>(b, now, 24);
  return true;
}

/** Take `bytes` tokens from meter `meter` in `dir`; false when the bucket is short (frame over the limit). */
export function meterTake(area: usize, meter: u32, dir: u32, bytes: u32, now: f64): bool {
  const b = bucket(area, meter, dir);
  const rate = load<f64>(b);
  if (rate == 0) return true;
  const burst = load<f64>(b, 8);
  let tokens = load<f64>(b, 16);
  const last = load<f64>(b, 24);
  if (now > last) {
    tokens = min(burst, tokens + (now - last) * rate);
    store<f64>(b, now, 24);
  } else if (now < last) {
    // the host's clock went back (or was set from another clock): restart from here
    store<f64>(b, now, 24);
  }
  const need = <f64>bytes;
  if (tokens < need) {
    store<f64>(b, tokens, 16);
    return false;
  }
  store<f64>(b, tokens - need, 16);
  return true;
}

export function meterRate(area: usize, meter: u32, dir: u32): f64 {
  return load<f64>(bucket(area, meter, dir)) * 1000;
}

/** Whether any meter of the area limits anything (the datapath checks buckets only then). */
export function meterAny(area: usize): bool {
  for (let m: u32 = 0; m < METERS_PER_PORT; m++) {
    if (meterRate(area, m, Dir.In) != 0 || meterRate(area, m, Dir.Out) != 0) return true;
  }
  return false;
}
