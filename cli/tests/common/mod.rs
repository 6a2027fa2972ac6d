//! Helpers shared by the CLI tests: scratch folders, running the binary, fixtures.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "bnbound-cli-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

pub fn bnbound(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bnbound"))
        .args(args)
        .output()
        .unwrap()
}

pub const P32: &str = r#"{"dtype": "f32", "eps": 1e-5, "gamma": [1.0000001, -0.5, 0],
    "beta": [-3, 0.1, 0.25], "running_mean": [0, 0.2, 7], "running_var": [1, 0.3, 2]}"#;

pub fn stderr_line(o: &Output) -> String {
    let e = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(
        e.trim_end().lines().count(),
        1,
        "stderr is not one line: {e:?}"
    );
    e
}

pub fn sub(cmd: &str, params: &str, input: &str, extra: &[&str]) -> Output {
    let d = dir();
    let (p, b) = (d.join("params.json"), d.join("in.json"));
    std::fs::write(&p, params).unwrap();
    std::fs::write(&b, input).unwrap();
    let mut args = vec![
        cmd,
        "--params",
        p.to_str().unwrap(),
        "--input",
        b.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    bnbound(&args)
}

pub const P64: &str = r#"{"dtype": "f64", "eps": 0, "gamma": [2, -1], "beta": [1, 0],
    "running_mean": [0, 1], "running_var": [4, 1]}"#; // s = (1, −1), o = (1, 1)

pub fn json_of(o: &Output) -> serde_json::Value {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}
