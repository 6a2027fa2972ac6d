#![no_main]
// The harness and its exact oracle live in bnbound::fuzzing (feature "fuzzing").
libfuzzer_sys::fuzz_target!(|data: &[u8]| bnbound::fuzzing::affine_contains(data));
