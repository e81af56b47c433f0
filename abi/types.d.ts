// AssemblyScript's number types, for TypeScript: the abi/ modules are
// compiled by both (abi/README.md), and to TypeScript every one is a number.
declare type i8 = number;
declare type u8 = number;
declare type i16 = number;
declare type u16 = number;
declare type i32 = number;
declare type u32 = number;
declare type usize = number;
