// Mapping-table entries (engine/maps/targets.ts): 80 bytes each, read by the
// host at mapEntries() + i × MAP_ENTRY_SIZE for dumps. Table numbers are the
// layers' choice (layers/vpc/constants.ts TABLE); the engine only keeps them apart.

export const ENTRY_SIZE: usize = 80;

export const E_USED: usize = 0;        // u8 (0: free)
export const E_GEN: usize = 2;         // u16 generation: bumped by each change, so flows using it re-evaluate
export const E_TABLE: usize = 4;       // u32
export const E_KEY_VNI: usize = 8;     // u32
export const E_NEXT: usize = 12;       // u32 hash chain (0xffffffff ends it)
export const E_KEY_HI: usize = 16;     // u64 pair: the key address
export const E_KEY_LO: usize = 24;
export const E_PORT_LO: usize = 32;    // u16 key port range
export const E_PORT_HI: usize = 34;    // u16
export const E_ENCAP_VNI: usize = 36;  // u32
export const E_UNDERLAY_HI: usize = 40; // u64 pair: where to send it
export const E_UNDERLAY_LO: usize = 48;
export const E_MAC: usize = 56;        // u64 the guest's MAC (low 48 bits)
export const E_HITS: usize = 64;       // u64 lookups that found it
