//! Replays every committed fuzz corpus file (fuzz/corpus/<target>/) through its harness,
//! so that `cargo test --workspace` exercises them without libFuzzer (the harnesses are
//! ordinary public functions of `bnbound-testkit`; no feature is needed).

use std::path::Path;

fn replay(target: &str, harness: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        harness(&std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n > 0, "no corpus files for {target}");
}

#[test]
fn ibp_contains_corpus() {
    replay("ibp_contains", bnbound_testkit::fuzz::ibp_contains);
}

#[test]
fn deployed_forms_contain_corpus() {
    replay(
        "deployed_forms_contain",
        bnbound_testkit::fuzz::deployed_forms_contain,
    );
}

#[test]
fn deployed_contains_corpus() {
    replay(
        "deployed_contains",
        bnbound_testkit::fuzz::deployed_contains,
    );
}

#[test]
fn affine_contains_corpus() {
    replay("affine_contains", bnbound_testkit::fuzz::affine_contains);
}

#[test]
fn backward_contains_corpus() {
    replay(
        "backward_contains",
        bnbound_testkit::fuzz::backward_contains,
    );
}

#[test]
fn deriv_contains_corpus() {
    replay("deriv_contains", bnbound_testkit::fuzz::deriv_contains);
}

#[test]
fn checker_agrees_corpus() {
    replay("checker_agrees", bnbound_testkit::fuzz::checker_agrees);
}

#[test]
fn parse_no_panic_corpus() {
    replay("parse_no_panic", bnbound_testkit::fuzz::parse_no_panic);
}

#[test]
fn model_no_panic_corpus() {
    replay("model_no_panic", bnbound_testkit::fuzz::model_no_panic);
}

#[test]
fn model_graph_no_panic_corpus() {
    replay(
        "model_graph_no_panic",
        bnbound_testkit::fuzz::model_graph_no_panic,
    );
}

#[test]
fn model_files_no_escape_corpus() {
    replay(
        "model_files_no_escape",
        bnbound_testkit::fuzz::model_files_no_escape,
    );
}

#[cfg(feature = "mpfr")]
#[test]
fn tight_is_tightest_corpus() {
    replay(
        "tight_is_tightest",
        bnbound_testkit::fuzz::tight_is_tightest,
    );
}

#[test]
fn decimal_reads_exactly_corpus() {
    replay(
        "decimal_reads_exactly",
        bnbound_testkit::fuzz::decimal_reads_exactly,
    );
}
