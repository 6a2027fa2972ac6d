//! Issue 20: how the JSON contract reads numbers (exactly, then rounded in the direction
//! the document's rule names), its limits, the BOX `dtype` rule, and CLI hygiene. The
//! oracle is exact (big-integer arithmetic on the decimal text, in this file).

mod common;

use common::*;

#[test]
fn unknown_dtype_names_every_dtype_of_the_contract() {
    let p = P32.replace("\"f32\"", "\"f8\"");
    let o = sub(
        "ibp",
        &p,
        r#"{"shape": [1, 3], "lo": [0, 0, 0], "hi": [1, 1, 1]}"#,
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr_line(&o);
    assert!(
        e.contains("\"f8\"") && e.contains("\"f16\"") && e.contains("\"bf16\""),
        "{e}"
    );
    // The library's storage-type names: not "expected f32 or f64".
    let e = "f32".parse::<bnbound::Storage>().unwrap_err().to_string();
    assert_eq!(
        e,
        "unknown storage type \"f32\": expected \"f16\" or \"bf16\""
    );
}
