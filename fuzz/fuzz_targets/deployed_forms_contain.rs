#![no_main]
// The harness and its exact emulation of the runtimes live in bnbound_testkit::fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bnbound_testkit::fuzz::deployed_forms_contain(data));
