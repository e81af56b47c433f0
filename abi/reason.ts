// Why a frame was dropped or could not be parsed, or a control call refused.
//
// Errors are values: every parser and every datapath decision reports one of
// these numbers, and each port counts them. The numbers are part of the batch
// ABI and of snapshots, so they never change meaning; new reasons are appended.
// The engine and the hosts compile this one file (abi/README.md); the hosts'
// names for the numbers are these members' names.

export enum Reason {
  None = 0,
  // --- parse errors (1..31)
  Truncated = 1,          // a header runs past the end of the frame
  BadVersion = 2,         // IP version / Geneve version not understood
  BadLength = 3,          // a length field disagrees with the bytes present
  BadHeaderLength = 4,    // IPv4 IHL < 5, TCP data offset < 5, …
  BadChecksum = 5,        // verified checksum does not match
  UnsupportedEtherType = 6,
  ExtHeaderLimit = 7,     // IPv6 extension header chain deeper than we walk
  Fragment = 8,           // a non-first fragment (no L4 header to classify)
  BadGeneve = 9,          // Geneve header or option TLVs malformed
  UnknownCriticalOption = 10, // Geneve option with the critical bit we do not know
  NotEncapsulated = 11,   // network-side frame that is not Geneve where one is required
  BadArp = 12,
  BadIcmp = 13,
  BadTcp = 14,
  BadUdp = 15,
  BadVlan = 16,
  HopByHopNotFirst = 17,  // an IPv6 Hop-by-Hop Options header not right after the IPv6 header (RFC 8200 §4.1)
  // --- datapath decisions (32..)
  LayerDeny = 32,         // a rule (or a layer default) said deny
  NoPort = 33,            // descriptor names a port that does not exist
  PortNotRunning = 34,    // port paused or not yet configured
  FlowTableFull = 35,     // new flow with the flow table at its limit
  NatExhausted = 36,      // SNAT port block has no free port
  NoEncapTarget = 37,     // V2P / mapping lookup missed
  SpoofedSource = 38,     // guest frame with a source MAC/IP that is not the guest's
  WrongVni = 39,          // Geneve VNI not the port's
  NotForPort = 40,        // inner destination MAC/IP does not belong to this port
  TtlExceeded = 41,       // TTL / hop limit would reach zero
  TooBig = 42,            // frame + encapsulation exceeds the MTU
  XformUnsupported = 43,  // layers composed a transformation the engine cannot cache
  NoHeadroom = 44,        // frame slot has too little headroom for encapsulation
  HairpinFailed = 45,     // reply generator could not build its packet
  RateLimited = 46,       // token bucket empty
  TcpInvalid = 47,        // TCP segment not valid for the tracked state
  BadDescriptor = 48,     // batch descriptor offsets out of bounds
  Unroutable = 49,        // no route matched
  // --- snapshots (50..)
  SnapshotCorrupt = 50,   // bad magic, checksum mismatch, lengths that do not add up
  SnapshotVersion = 51,   // a snapshot format version this engine does not know
  SnapshotMismatch = 52,  // the target port cannot hold it: NAT binding outside its pools, too many flows
  SnapshotGap = 53,       // incremental export asked for changes the deletion log no longer covers
  // --- multicast (54..)
  MulticastTcp = 54,      // TCP to a multicast group: replication cannot carry a connection
  NoMulticastTarget = 55, // no multicast-to-physical (M2P) mapping for the group, or not a group address
  NotMember = 56,         // inbound multicast for a group the port has not joined
  SourceFiltered = 57,    // inbound multicast from a source the port's group filter excludes
  // --- control calls (58..): what a refused call reports; never a frame's drop reason
  PortPaused = 58,        // a change to a paused port's rules or flows: resume it first (OPTE's BadState)
  PortExists = 59,        // portCreate on a port id already in use
  BadArgument = 60,       // an argument out of its range: a port id, state, pool, meter, rate, replication mode, config field
  NoSuchPool = 61,        // no SNAT pool with that id on the port
  NoSuchFlow = 62,        // no live flow at that index
  NoSuchLayer = 63,       // no layer of that name (portReplaceLayer) or index (portEditLayer)
  Count = 64,
}
