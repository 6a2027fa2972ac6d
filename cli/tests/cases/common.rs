//! Helpers shared by the CLI tests: scratch folders, running the binary, fixtures.
#![allow(dead_code)]

use bnbound::{AnyBatchNorm, Shape, TensorBox};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A scratch folder under cargo's `CARGO_TARGET_TMPDIR`, removed with everything in it
/// when the guard drops (tests never leave files in the system's temporary folder).
pub struct Scratch(tempfile::TempDir);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

/// A fresh scratch folder (see [`Scratch`]); keep the guard alive while the folder is used.
pub fn dir() -> Scratch {
    Scratch(
        tempfile::Builder::new()
            .prefix("bnbound-cli-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap(),
    )
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

// ---- helpers of the hostile-input tests

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(name)
}

/// A fresh scratch folder (the same as [`dir`]).
pub fn scratch() -> Scratch {
    dir()
}

/// Runs with standard output going to `/dev/full` (every write fails with ENOSPC).
pub fn run_to_full(args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_bnbound"))
        .args(args)
        .stdout(Stdio::from(full))
        .output()
        .unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Checks with the exact checker that bnbound's IBP of a `(2, C, 3)` box is sound.
pub fn ibp_is_exactly_sound(bn: &AnyBatchNorm) {
    fn go<T: bnbound::Float>(bn: &bnbound::BatchNorm<T>) {
        let c = bn.channels();
        let n = 2 * c * 3;
        let lo: Vec<T> = (0..n)
            .map(|i| T::from_f64_down(i as f64 * 0.37 - 2.0))
            .collect();
        let hi: Vec<T> = lo.iter().map(|&x| x + T::from_f64_down(0.5)).collect();
        let x = TensorBox::new(Shape::new(&[2, c, 3]).unwrap(), lo, hi).unwrap();
        let y = bn.enclose().ibp(&x).unwrap();
        let r = bn.checker().ibp(&x, &y).unwrap();
        assert!(r.sound() && r.checked == n, "{r:?}");
    }
    match bn {
        AnyBatchNorm::F32(b) => go(b),
        AnyBatchNorm::F64(b) => go(b),
    }
}
