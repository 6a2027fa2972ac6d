#![no_main]
// The harness and its exact oracle live in bnbound_testkit::fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bnbound_testkit::fuzz::tight_is_tightest(data));
