#![no_main]
// The harness lives in bnbound::fuzzing (feature "fuzzing").
libfuzzer_sys::fuzz_target!(|data: &[u8]| bnbound::fuzzing::model_graph_no_panic(data));
