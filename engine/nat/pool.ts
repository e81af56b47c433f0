// SNAT port blocks: one external IP and a range of its ports, handed out one
// per flow and returned when the flow ends (RFD 63 "NATing Out": the guest's
// NAT state fits within its quota, or the new flow is refused and counted).
//
// Allocation is a bitmap walk from a rotating cursor, so a freed port is not
// reused at once (a late packet of the old flow cannot hit the new one).

@unmanaged
export class NatPool {
  extHi: u64;
  extLo: u64;
  portLo: u32;
  portHi: u32;
  bitmap: usize;   // one bit per port in [portLo, portHi]
  inUse: u32;
  cursor: u32;     // offset of the next port to try
  exhausted: u64;  // allocation failures (counted for stats)
}

export const POOL_NONE: u32 = 0xffff;

function words(p: NatPool): u32 { return ((p.portHi - p.portLo + 1) + 31) >> 5; }

export function natPoolNew(extHi: u64, extLo: u64, portLo: u32, portHi: u32): NatPool | null {
  if (portLo > portHi || portHi > 0xffff) return null;
  const p = changetype<NatPool>(heap.alloc(offsetof<NatPool>()));
  p.extHi = extHi; p.extLo = extLo;
  p.portLo = portLo; p.portHi = portHi;
  p.inUse = 0; p.cursor = 0; p.exhausted = 0;
  p.bitmap = heap.alloc(<usize>words(p) << 2);
  memory.fill(p.bitmap, 0, <usize>words(p) << 2);
  return p;
}

export function natPoolFree(p: NatPool): void {
  heap.free(p.bitmap);
  heap.free(changetype<usize>(p));
}

export function natPoolSize(p: NatPool): u32 { return p.portHi - p.portLo + 1; }

/** Take a free port; returns the port number or -1 when the block is exhausted. */
export function natAlloc(p: NatPool): i32 {
  const size = natPoolSize(p);
  if (p.inUse >= size) { p.exhausted++; return -1; }
  let off = p.cursor;
  for (let n: u32 = 0; n < size; n++) {
    const w = p.bitmap + (<usize>(off >> 5) << 2);
    const bit: u32 = 1 << (off & 31);
    const word = load<u32>(w);
    if (word == 0xffffffff) {
      // skip the rest of a full word
      const skip = 32 - (off & 31);
      off += skip; n += skip - 1;
      if (off >= size) off = 0;
      continue;
    }
    if ((word & bit) == 0) {
      store<u32>(w, word | bit);
      p.inUse++;
      p.cursor = off + 1 >= size ? 0 : off + 1;
      return <i32>(p.portLo + off);
    }
    off = off + 1 >= size ? 0 : off + 1;
  }
  p.exhausted++;
  return -1;
}

/** Mark a specific port taken (restoring a snapshot, or re-using a flow's binding). */
export function natClaim(p: NatPool, port: u32): bool {
  if (port < p.portLo || port > p.portHi) return false;
  const off = port - p.portLo;
  const w = p.bitmap + (<usize>(off >> 5) << 2);
  const bit: u32 = 1 << (off & 31);
  if ((load<u32>(w) & bit) != 0) return false;
  store<u32>(w, load<u32>(w) | bit);
  p.inUse++;
  return true;
}

export function natRelease(p: NatPool, port: u32): void {
  if (port < p.portLo || port > p.portHi) return;
  const off = port - p.portLo;
  const w = p.bitmap + (<usize>(off >> 5) << 2);
  const bit: u32 = 1 << (off & 31);
  if ((load<u32>(w) & bit) == 0) return;
  store<u32>(w, load<u32>(w) & ~bit);
  p.inUse--;
}

export function natIsTaken(p: NatPool, port: u32): bool {
  if (port < p.portLo || port > p.portHi) return false;
  const off = port - p.portLo;
  return (load<u32>(p.bitmap + (<usize>(off >> 5) << 2)) & (<u32>1 << (off & 31))) != 0;
}
