// Numbers of the binary rule-program format, version 4 (docs/rule-program.md).
//
// Rules are data: layers/ (TypeScript) compiles a VPC config into these bytes
// and the engine loads them at run time. Every number here is part of the
// format; add new ones, never renumber.

export const PORT_PROGRAM_MAGIC: u32 = 0x50504f57; // "WOPP" little-endian
export const LAYER_MAGIC: u32 = 0x4c504f57;        // "WOPL"
export const PROGRAM_VERSION: u32 = 4;
// Version 1 to 3 programs still load: version 2 only added the ToHost action
// and the Multicast and MssOnTcp encap flags, which a version-1 layer may not
// use; version 3 only added the DstMapped field, which older layers may not
// use; version 4 only added the DHCP params extensions (engine/hairpin/
// dhcp4.ts, dhcp6.ts), whose flag an older layer may not set.
export const OLDEST_PROGRAM_VERSION: u32 = 1;

export const LAYER_HDR_SIZE: u32 = 32;

// A layer edit (engine/rules/program.ts editLayer): magic u32, step count u16,
// reserved u16, then per step op u8, reserved u8 × 3, position u32, and for
// an insert the rule's bytes (their size is in the rule header).
export const LAYER_EDIT_MAGIC: u32 = 0x45504f57; // "WOPE" little-endian
export const enum EditOp { Insert = 1, Remove = 2 }
export const LAYER_NAME_LEN: u32 = 16;
export const RULE_HDR_SIZE: u32 = 16;
export const PRED_HDR_SIZE: u32 = 4;
export const MAX_LAYERS: u32 = 12;     // 4 bits of stateful decisions per layer in a u32... and room to spare
export const MAX_RULES_PER_LAYER: u32 = 65535;

// Rule directions.
export const enum RuleDir { In = 1, Out = 2, Both = 3 }

// Predicate fields and how their values are encoded.
export const enum Field {
  EthSrc = 1, EthDst = 2,             // MAC: u64 LE (48 bits)
  EtherType = 3, IpVersion = 4,       // numeric range
  SrcIp = 5, DstIp = 6,               // IP prefix
  Proto = 7, SrcPort = 8, DstPort = 9,
  IcmpType = 10, IcmpCode = 11,
  Vni = 12, Ttl = 13, ArpOp = 14,
  ArpTargetIp = 15, ArpSenderIp = 16, // IP prefix (IPv4-mapped)
  Meta0 = 17, Meta1 = 18, Meta2 = 19, Meta3 = 20,
  TcpFlags = 21,                      // mask/want
  OuterSrcIp = 22, OuterDstIp = 23,   // IP prefix
  IsFragment = 24, Vlan = 25,
  OxideOptions = 26,                  // mask/want over the Oxide Geneve options seen
  IpLength = 27,                      // numeric range: the whole IP packet's length (headers included)
  FlowHash = 28,                      // numeric range: the 32-bit flow hash (spreading flows over choices)
  NdpTarget = 29,                     // IP prefix: the target of a neighbor solicitation/advertisement
  // (v3) numeric, one mapping-table id per value (lo == hi): the destination
  // IP has an entry in that table under the port's VNI (its VPC's V2P, say)
  DstMapped = 30,
  Count = 31,
}
// The first field a layer of version 3 may use and older ones may not.
export const FIRST_V3_FIELD: u32 = 30;

export const enum ValueKind { Mac = 1, Range = 2, Prefix = 3, Mask = 4 }

export const MAC_VALUE_SIZE: u32 = 8;
export const RANGE_VALUE_SIZE: u32 = 8;
export const PREFIX_VALUE_SIZE: u32 = 20;
export const MASK_VALUE_SIZE: u32 = 8;

export const PRED_NEGATE: u32 = 1;

export function fieldKind(f: u32): u32 {
  switch (f) {
    case Field.EthSrc: case Field.EthDst: return ValueKind.Mac;
    case Field.SrcIp: case Field.DstIp: case Field.ArpTargetIp: case Field.ArpSenderIp:
    case Field.OuterSrcIp: case Field.OuterDstIp: case Field.NdpTarget: return ValueKind.Prefix;
    case Field.TcpFlags: case Field.OxideOptions: return ValueKind.Mask;
    default: return f > 0 && f < <u32>Field.Count ? ValueKind.Range : 0;
  }
}

export function valueSize(kind: u32): u32 {
  switch (kind) {
    case ValueKind.Mac: return MAC_VALUE_SIZE;
    case ValueKind.Range: return RANGE_VALUE_SIZE;
    case ValueKind.Prefix: return PREFIX_VALUE_SIZE;
    case ValueKind.Mask: return MASK_VALUE_SIZE;
  }
  return 0;
}

// Actions.
export const enum ActionKind {
  Allow = 1,          // pass to the next layer
  Deny = 2,           // drop; the rule's reason byte says why (0 = LayerDeny)
  StatefulAllow = 3,  // pass, and let the flow's replies pass this layer
  Modify = 4,         // rewrite fields (list of set-ops) and pass
  Hairpin = 5,        // answer with a generated packet: u32 kind + params
  Encap = 6,          // Geneve-encapsulate towards a mapping-table entry
  Decap = 7,          // strip the outer Ethernet/IPv6/UDP/Geneve headers
  Snat = 8,           // source NAT from a port-block pool: u32 pool id
  Nat11Src = 9,       // 1:1 NAT out: source := external IP (16 bytes)
  Nat11Dst = 10,      // 1:1 NAT in: destination := private IP (16 bytes)
  ToHost = 11,        // (v2) hand the frame, untouched, to the host: verdict ToHost
}

// Modify set-ops: [op u8, len u8, reserved u16, value (len bytes, padded to 4)].
export const enum SetOp {
  EthSrc = 1, EthDst = 2,   // u64 LE MAC (len 8)
  IpSrc = 3, IpDst = 4,     // 16 bytes, network order (len 16)
  Sport = 5, Dport = 6,     // u32 LE (len 4)
  Meta0 = 7, Meta1 = 8, Meta2 = 9, Meta3 = 10, // u32 LE (len 4)
  TtlDec = 11,              // no value (len 0)
  Meter = 12,               // u32 bandwidth class 1..15 (len 4): engine/meter.ts
}

// Encap params: flags u32, table u32, key vni u32, key ip 16 bytes, key port u32 (32 bytes).
export const ENCAP_PARAMS_SIZE: u32 = 32;
export const enum EncapFlag {
  KeyFromInnerDst = 1, // look up (port VNI or key vni, inner dst IP, inner dst port) instead of the constant key
  SetInnerEthDst = 2,  // inner Ethernet destination := the entry's MAC
  External = 4,        // add the Oxide External Geneve option (class 0x0129 type 0)
  KeyVniZero = 8,      // with KeyFromInnerDst: look up with VNI 0 instead of the port's VNI
  // (v2) Multicast delivery: the entry is the group's M2P mapping; inner Ethernet
  // destination := the group's MAC (RFC 1112 §6.4, RFC 2464 §7), outer Ethernet
  // destination := the underlay group's MAC, Oxide Multicast option added. TCP is refused.
  Multicast = 16,
  MssOnTcp = 32,       // (v2) TCP inside: add the Oxide MSS option (body 0, for the host to fill)
}
// The encap flag bits a layer of each version may set; any other bit is refused.
export const ENCAP_FLAGS_V1: u32 = 15;
export const ENCAP_FLAGS_V2: u32 = 63;
