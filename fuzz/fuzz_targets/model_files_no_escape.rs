#![no_main]
// The harness lives in bnbound_testkit::fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bnbound_testkit::fuzz::model_files_no_escape(data));
