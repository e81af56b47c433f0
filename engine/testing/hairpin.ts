// Hairpin generators exported for vitest (build/engine-testing.wasm).
//
// Tests write a request frame and a params block into static scratch buffers,
// call hairpinAt(), and read the reply from hairpinOutPtr(). hairpinRawAt()
// skips parseFrame and takes the meta offsets from JS, so property tests can
// feed generators metas that disagree with the bytes.

import { PacketMeta, META_SIZE, resetMeta } from "../packet/meta";
import { parseFrame } from "../packet/parse";
import { buildHairpin } from "../hairpin/index";

const REQ_LEN: u32 = 16384;
const PARAMS_LEN: u32 = 4096;
const OUT_LEN: u32 = 16384;
const REQ: usize = memory.data(<i32>REQ_LEN, 16);
const PARAMS: usize = memory.data(<i32>PARAMS_LEN, 16);
const OUT: usize = memory.data(<i32>OUT_LEN, 16);
const HMETA: PacketMeta = changetype<PacketMeta>(memory.data(<i32>META_SIZE, 16));

export function hairpinReqPtr(): usize { return REQ; }
export function hairpinParamsPtr(): usize { return PARAMS; }
export function hairpinOutPtr(): usize { return OUT; }
export function hairpinReqCap(): u32 { return REQ_LEN; }
export function hairpinParamsCap(): u32 { return PARAMS_LEN; }
export function hairpinOutCap(): u32 { return OUT_LEN; }

/** Parse the request in the scratch buffer and build the `kind` reply; length or -Reason. */
export function hairpinAt(kind: u32, reqLen: u32, paramsLen: u32, outCap: u32): i32 {
  if (reqLen > REQ_LEN || paramsLen > PARAMS_LEN) return -3;
  if (outCap > OUT_LEN) outCap = OUT_LEN;
  const r = parseFrame(HMETA, REQ, reqLen, false);
  if (r != 0) return -r;
  return buildHairpin(kind, HMETA, PARAMS, paramsLen, OUT, outCap);
}

/** Build without parsing: the meta gets the given offsets (0xffffffff = absent). */
export function hairpinRawAt(kind: u32, reqLen: u32, paramsLen: u32,
                             l2: u32, l3: u32, l3Kind: u32, l4: u32, proto: u32, vlan: u32): i32 {
  if (reqLen > REQ_LEN || paramsLen > PARAMS_LEN) return -3;
  resetMeta(HMETA, REQ, reqLen);
  HMETA.l2 = l2; HMETA.l3 = l3; HMETA.l3Kind = l3Kind; HMETA.l4 = l4; HMETA.proto = proto; HMETA.vlan = vlan;
  return buildHairpin(kind, HMETA, PARAMS, paramsLen, OUT, OUT_LEN);
}
