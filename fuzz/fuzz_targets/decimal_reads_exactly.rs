#![no_main]
// The harness and its exact decimal oracle live in bnbound_testkit::fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bnbound_testkit::fuzz::decimal_reads_exactly(data));
