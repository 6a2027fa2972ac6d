//! Hostile input to the binary: ragged forms, bench and demo, failing output
//! writes, bad text, folders and devices, long tokens, ε conversion.

use crate::common::{bnbound, data, run_to_full, scratch, stderr};
use bnbound::model::{Error as ModelError, Format, Model, Options};
use bnbound_cli::json;
use std::process::{Command, Output};

#[test]
fn ragged_form_is_invalid_input_without_a_huge_allocation() {
    // First row 200,000 entries, then 100,000 rows of one: reserving rows × first-row
    // length would ask for 1.6·10¹¹ bytes per side.
    let mut t = String::from(r#"{"A": {"lo": [["#);
    t.push_str(&vec!["0"; 200_000].join(","));
    t.push(']');
    t.push_str(&",[0]".repeat(100_000));
    t.push_str(r#"], "hi": [[0]]}, "c": {"lo": [0], "hi": [0]}}"#);
    let e = json::parse_form::<f64>(&t, json::FormKind::Affine).unwrap_err();
    assert!(matches!(e, json::Error::Mismatch { .. }), "{e}");
}

// ------------------------------------------------------------------ bench and demo

#[test]
fn bench_and_demo_never_panic_or_abort() {
    for shape in [
        "0",
        "1,0,4",
        "100000,100000,100000",
        "4096,4096,4096,4096,4096",
    ] {
        let o = bnbound(&["bench", "--shape", shape, "--reps", "1"]);
        assert_eq!(o.status.code(), Some(2), "{shape}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{shape}");
    }
    for args in [
        vec!["demo"],
        vec!["inspect", data("conv_bn_relu_f32.onnx").to_str().unwrap()],
        vec!["bench", "--shape", "1,2,8", "--reps", "1"],
    ] {
        let o = run_to_full(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
    }
}

// ------------------------------------------------------------------ output writes

#[test]
fn failed_output_write_leaves_the_existing_file_intact() {
    let d = scratch();
    let (p, b, out) = (d.join("p.json"), d.join("b.json"), d.join("out.json"));
    std::fs::write(
        &p,
        r#"{"dtype": "f64", "eps": 0, "gamma": [3], "beta": [0.1], "running_mean": [0], "running_var": [7]}"#,
    )
    .unwrap();
    let n = 20_000;
    let xs = serde_json::json!((0..n).map(|i| i as f64 * 0.001).collect::<Vec<_>>());
    std::fs::write(
        &b,
        format!(r#"{{"shape": [{n}, 1], "lo": {xs}, "hi": {xs}}}"#),
    )
    .unwrap();
    std::fs::write(&out, "previous result\n").unwrap();
    // A 64 KiB file size limit (SIGXFSZ ignored, so the write fails with EFBIG).
    let cmd = format!(
        "trap '' XFSZ; ulimit -f 128; exec '{}' ibp --params '{}' --input '{}' --output '{}'",
        env!("CARGO_BIN_EXE_bnbound"),
        p.display(),
        b.display(),
        out.display()
    );
    let o = Command::new("sh").arg("-c").arg(&cmd).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous result\n");
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("bnbound"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    // Without the limit the same command replaces the file with the whole output.
    let o = bnbound(&[
        "ibp",
        "--params",
        p.to_str().unwrap(),
        "--input",
        b.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["lo"].as_array().unwrap().len(), n);
}

// ------------------------------------------------------- bad text, folders, devices

#[test]
fn exit_codes_for_bad_text_folders_and_devices() {
    let d = scratch();
    let (p, b) = (d.join("p.json"), d.join("b.json"));
    std::fs::write(
        &p,
        r#"{"dtype": "f32", "eps": 0, "gamma": [1], "beta": [0], "running_mean": [0], "running_var": [1]}"#,
    )
    .unwrap();
    std::fs::write(&b, b"{\"shape\": [1], \"lo\": [0], \"hi\": [\xff]}").unwrap();
    let o = bnbound(&[
        "ibp",
        "--params",
        p.to_str().unwrap(),
        "--input",
        b.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "invalid UTF-8: {}", stderr(&o));
    assert!(stderr(&o).contains("UTF-8"));
    for model in [data("").to_str().unwrap().to_string(), "/dev/null".into()] {
        for args in [
            vec!["inspect", &model],
            vec!["inspect", "--eps", "1e-3", &model],
        ] {
            let o = bnbound(&args);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
            assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
        }
    }
    assert!(matches!(
        Model::open(data(""), &Options::default().format(Format::Onnx)),
        Err(ModelError::Format(m)) if m.contains("not a regular file")
    ));
}

#[test]
fn messages_quote_at_most_about_80_characters_of_a_token() {
    let d = scratch();
    let long = "z".repeat(100_000);
    let (p, b) = (d.join("p.json"), d.join("b.json"));
    let cases = [
        (
            format!(
                r#"{{"dtype": "{long}", "eps": 0, "gamma": [1], "beta": [0], "running_mean": [0], "running_var": [1]}}"#
            ),
            r#"{"shape": [1], "lo": [0], "hi": [0]}"#.to_string(),
        ),
        (
            r#"{"dtype": "f32", "eps": 0, "gamma": [1], "beta": [0], "running_mean": [0], "running_var": [1]}"#.to_string(),
            format!(r#"{{"shape": [1], "lo": ["{long}"], "hi": [0]}}"#),
        ),
        (
            r#"{"dtype": "f32", "eps": 0, "gamma": [1], "beta": [0], "running_mean": [0], "running_var": [1]}"#.to_string(),
            format!(r#"{{"shape": [1], "lo": [0], "hi": [0], "{long}": 1}}"#),
        ),
    ];
    for (params, input) in cases {
        std::fs::write(&p, params).unwrap();
        std::fs::write(&b, input).unwrap();
        let o = bnbound(&[
            "ibp",
            "--params",
            p.to_str().unwrap(),
            "--input",
            b.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2));
        let msg = stderr(&o);
        assert!(msg.len() < 400, "{} characters: {}", msg.len(), &msg[..200]);
    }
    // An unknown layer name is cut too.
    let o = bnbound(&[
        "ibp",
        "--model",
        data("conv_bn_relu_f32.onnx").to_str().unwrap(),
        "--layer",
        &long,
        "--input",
        b.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).len() < 400 && stderr(&o).contains("bn1"));
}

#[test]
fn eps_is_converted_like_pytorch_and_never_silently_zero() {
    let st = data("state.safetensors");
    let st = st.to_str().unwrap();
    let eps_of = |args: &[&str]| -> Output {
        let mut a = vec!["inspect", st, "--prefix", "half"];
        a.extend_from_slice(args);
        bnbound(&a)
    };
    for bad in [
        vec!["--eps", "1e-50"],
        vec!["--eps", "1e-400", "--eps-dtype", "f64"],
        vec!["--eps", "1e39"],
        vec!["--eps", "nan"],
    ] {
        let o = eps_of(&bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
    }
    let o = eps_of(&["--eps", "1e-50", "--eps-dtype", "f64"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // (serde_json's default float parser is not correctly rounded: compare the text.)
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"eps\": 1e-50,"));
    // (float)1e-5 as PyTorch converts it, reported as the value actually used.
    let o = eps_of(&["--eps", "1e-5"]);
    let want = format!("\"eps\": {:?},", 1e-5f32 as f64);
    assert!(String::from_utf8_lossy(&o.stdout).contains(&want), "{want}");
    let o = eps_of(&["--eps", "0"]);
    assert_eq!(o.status.code(), Some(0));

    // In PARAMS: a nonzero ε (or parameter) that rounds to 0, or one out of range, is
    // invalid input, and the message speaks of parameters, not box endpoints.
    for (eps, want) in [
        ("1e-50", "underflows to 0"),
        ("1e50", "parameters must be finite"),
    ] {
        let text = format!(
            r#"{{"dtype": "f32", "eps": {eps}, "gamma": [1], "beta": [0], "running_mean": [0], "running_var": [1]}}"#
        );
        let e = json::parse_params(&text).unwrap_err().to_string();
        assert!(e.contains(want) && !e.contains("endpoint"), "{e}");
    }
}
