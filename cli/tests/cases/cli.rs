//! The `bnbound` binary follows its JSON contract and exit statuses to the letter.

use crate::common::*;
use bnbound_testkit::{check_element, Ch};
use std::process::Output;

/// Writes params and box files and runs `ibp`; returns (output, params path, box path).
fn ibp(params: &str, input: &str, extra: &[&str]) -> (Output, Scratch) {
    let d = dir();
    let (p, b) = (d.join("params.json"), d.join("box.json"));
    std::fs::write(&p, params).unwrap();
    std::fs::write(&b, input).unwrap();
    let mut args = vec![
        "ibp",
        "--params",
        p.to_str().unwrap(),
        "--input",
        b.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    (bnbound(&args), d)
}

#[test]
fn ibp_f32_follows_contract() {
    let input = r#"{"shape": [1, 3, 2], "lo": [3, 3, "-inf", 0, "-inf", 1], "hi": [3, "inf", 1, 0, "inf", 2]}"#;
    let (o, _) = ibp(P32, input, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["dtype"], "f32");
    assert_eq!(v["shape"], serde_json::json!([1, 3, 2]));
    let lo = v["lo"].as_array().unwrap();
    let hi = v["hi"].as_array().unwrap();
    assert_eq!((lo.len(), hi.len()), (6, 6));
    // Unbounded sides are the strings "inf"/"-inf"; channel 2 (γ = 0) is {β} = {0.25}.
    assert_eq!(hi[1], "inf");
    assert_eq!(hi[2], "inf"); // s < 0 and x unbounded below
    assert_eq!(
        (&lo[4], &hi[4]),
        (&serde_json::json!(0.25), &serde_json::json!(0.25))
    );
    // Numbers read back to f32 are sound per the oracle.
    let num = |x: &serde_json::Value| -> f64 {
        match x.as_str() {
            Some("inf") => f64::INFINITY,
            Some("-inf") => f64::NEG_INFINITY,
            _ => x.as_f64().unwrap() as f32 as f64,
        }
    };
    let ch = Ch {
        g: 1.0000001f32 as f64,
        b: -3.0,
        m: 0.0,
        v: 1.0,
        e: 1e-5f32 as f64,
    };
    check_element(ch, 3.0, 3.0, num(&lo[0]), num(&hi[0])).unwrap();
    // Shortest round-trip decimals: the text of each number parses back to itself as f32
    // and has no more digits than Rust's shortest representation.
    for x in lo.iter().chain(hi) {
        if let Some(f) = x.as_f64() {
            let f = f as f32;
            assert_eq!(serde_json::to_string(x).unwrap().parse::<f32>().unwrap(), f);
        }
    }
}

#[test]
fn ibp_f64_output_file() {
    let p = r#"{"dtype": "f64", "eps": 0, "gamma": [3], "beta": [-3], "running_mean": [0], "running_var": [1]}"#;
    let x = "1.0000000000000002"; // 1 + 2^-52: exact output 3·2^-52
    let input = format!(r#"{{"shape": [1], "lo": [{x}], "hi": [{x}]}}"#);
    let d = dir();
    let out = d.join("out.json");
    let (o, _) = ibp(p, &input, &["--output", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    assert_eq!(v["dtype"], "f64");
    let (lo, hi) = (v["lo"][0].as_f64().unwrap(), v["hi"][0].as_f64().unwrap());
    let exact = 3.0 * f64::EPSILON;
    assert!(lo <= exact && exact <= hi, "[{lo:e}, {hi:e}]");
}

#[test]
fn invalid_inputs_exit_2_with_one_line_and_no_output_file() {
    let ok_box = r#"{"shape": [3], "lo": [0, 0, 0], "hi": [1, 1, 1]}"#;
    let cases: Vec<(String, String, &str)> = vec![
        (
            P32.replace("[1, 0.3, 2]", "[1, -0.3, 2]"),
            ok_box.into(),
            "running_var[1]",
        ),
        (
            P32.replace("\"eps\": 1e-5", "\"eps\": -1"),
            ok_box.into(),
            "eps",
        ),
        (
            P32.replace("[0, 0.2, 7]", "[0, 0.2]"),
            ok_box.into(),
            "running_mean",
        ),
        (
            P32.replace("[-3, 0.1, 0.25]", "[-3, \"nan\", 0.25]"),
            ok_box.into(),
            "beta[1]",
        ),
        (
            P32.replace("[-3, 0.1, 0.25]", "[-3, \"inf\", 0.25]"),
            ok_box.into(),
            "beta[1]",
        ),
        (
            P32.replace("[-3, 0.1, 0.25]", "[-3, 1e39, 0.25]"),
            ok_box.into(),
            "out of range",
        ),
        (P32.replace("\"f32\"", "\"f8\""), ok_box.into(), "dtype"),
        (P32.replace("\"beta\"", "\"bias\""), ok_box.into(), "bias"),
        (P32.replace('}', ""), ok_box.into(), "params"),
        (
            P32.into(),
            r#"{"shape": [3], "lo": [0, 2, 0], "hi": [1, 1, 1]}"#.into(),
            "lo[1]",
        ),
        (
            P32.into(),
            r#"{"shape": [3], "lo": [0, 0], "hi": [1, 1, 1]}"#.into(),
            "lo has 2",
        ),
        (
            P32.into(),
            r#"{"shape": [2], "lo": [0, 0], "hi": [1, 1]}"#.into(),
            "channels",
        ),
        (
            P32.into(),
            r#"{"shape": [1, 2, 3, 4, 5, 6], "lo": [], "hi": []}"#.into(),
            "rank",
        ),
        (
            P32.into(),
            r#"{"shape": [3], "lo": [0, 0, null], "hi": [1, 1, 1]}"#.into(),
            "lo[2]",
        ),
        (P32.into(), "not json".into(), "box"),
    ];
    for (p, b, needle) in cases {
        let d = dir();
        let out = d.join("out.json");
        let (o, _) = ibp(&p, &b, &["--output", out.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "case {needle}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let e = stderr_line(&o);
        assert!(e.contains(needle), "message {e:?} does not name {needle:?}");
        assert!(!out.exists(), "an output file was written for {needle}");
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn missing_file_is_status_1() {
    let o = bnbound(&[
        "ibp",
        "--params",
        "/nonexistent/p.json",
        "--input",
        "/nonexistent/b.json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    stderr_line(&o);
}

#[test]
fn demo_reports_enclosures_and_naive_failures() {
    let o = bnbound(&["demo"]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("0 of 32768 bounds unsound"), "{text}");
    assert!(text.contains("naive float bounds"));
}

#[test]
fn f32_numbers_are_rounded_once_from_decimal() {
    // 1 + 2^-24 + 2^-60: straight to f32 it rounds up to 1 + 2^-23; through f64 it would
    // first become the midpoint 1 + 2^-24 and then tie to even, 1.0.
    let x = "1.000000059604644776257986737988403547205962240695953369140625";
    // A typed box names the nearest f32 (an untyped one is read outward: [1, 1 + 2^-23]).
    let b = bnbound_cli::json::parse_box::<f32>(&format!(
        r#"{{"dtype": "f32", "shape": [1], "lo": [{x}], "hi": [{x}]}}"#
    ))
    .unwrap();
    assert_eq!(b.lo()[0], 1.0 + f32::EPSILON);
    assert_eq!(
        (x.parse::<f64>().unwrap() as f32),
        1.0,
        "the double rounding this test guards against"
    );
}

/// Runs a subcommand on files holding `params` and `input`.
#[test]
fn affine_follows_contract() {
    let f = r#"{"A": {"lo": [[1, -2], [0.5, "-inf"]], "hi": [[1, 3], [0.5, 1]]}, "c": {"lo": [0, 1], "hi": [0, 2]}}"#;
    let v = json_of(&sub("affine", P64, f, &[]));
    // Coefficients s·a are exact here (exactly directed products).
    assert_eq!(
        v["A"],
        serde_json::json!({"lo": [[1.0, -2.0], [-0.5, -1.0]], "hi": [[1.0, 3.0], [-0.5, "inf"]]})
    );
    // c' = s·c + o: [1, 1] and [−1, 0]; the fused multiply-add steps outward once.
    let c = |side: &str, i: usize| v["c"][side][i].as_f64().unwrap();
    assert_eq!((c("lo", 0), c("hi", 0)), (1.0, 1.0));
    assert!(c("lo", 1) <= -1.0 && c("lo", 1) >= (-1.0f64).next_down());
    assert!(c("hi", 1) >= 0.0 && c("hi", 1) <= f64::from_bits(1));
    assert_eq!(v["dtype"], "f64");
    assert_eq!(
        v.as_object().unwrap().len(),
        3,
        "the input's structure, with its dtype"
    );
}

#[test]
fn backward_follows_contract() {
    let l = r#"{"L": {"lo": [[1, 2]], "hi": [[1, 2]]}, "d": {"lo": [0.5], "hi": [0.5]}}"#;
    let v = json_of(&sub("backward", P64, l, &[]));
    assert_eq!(
        v,
        serde_json::json!({"dtype": "f64", "L": {"lo": [[1.0, -2.0]], "hi": [[1.0, -2.0]]}, "d": {"lo": [3.5], "hi": [3.5]}})
    );
}

#[test]
fn deriv_orders_follow_contract() {
    let b = r#"{"shape": [1, 2], "lo": [-1, "-inf"], "hi": [2, 3]}"#;
    for order in ["1", "2"] {
        let v = json_of(&sub("deriv", P64, b, &["--order", order]));
        assert_eq!(
            v,
            serde_json::json!({"dtype": "f64", "shape": [1, 2], "lo": [-1.0, -3.0], "hi": [2.0, "inf"]})
        );
    }
    let o = sub("deriv", P64, b, &["--order", "3"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn form_errors_exit_2() {
    let cases = [
        (
            "affine",
            r#"{"A": {"lo": [[1, 2]], "hi": [[1, 2]]}, "c": {"lo": [0], "hi": [0]}}"#,
            "channels",
        ),
        (
            "affine",
            r#"{"A": {"lo": [[1, 2], [1]], "hi": [[1, 2], [1, 1]]}, "c": {"lo": [0, 0], "hi": [0, 0]}}"#,
            "A.lo[1]",
        ),
        (
            "affine",
            r#"{"A": {"lo": [[3], [1]], "hi": [[1], [1]]}, "c": {"lo": [0, 0], "hi": [0, 0]}}"#,
            "A:",
        ),
        (
            "affine",
            r#"{"A": {"lo": [[1], [1]], "hi": [[1], [1]]}, "c": {"lo": [0], "hi": [0]}}"#,
            "c has 1",
        ),
        (
            "backward",
            r#"{"L": {"lo": [[1]], "hi": [[1]]}, "d": {"lo": [0], "hi": [0]}}"#,
            "channels",
        ),
        (
            "backward",
            r#"{"A": {"lo": [[1, 1]], "hi": [[1, 1]]}, "c": {"lo": [0], "hi": [0]}}"#,
            "form",
        ),
        (
            "deriv",
            r#"{"shape": [2], "lo": [1, 0], "hi": [0, 0]}"#,
            "lo[0]",
        ),
    ];
    for (cmd, input, needle) in cases {
        let extra: &[&str] = if cmd == "deriv" {
            &["--order", "1"]
        } else {
            &[]
        };
        let o = sub(cmd, P64, input, extra);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{cmd} {needle}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let e = stderr_line(&o);
        assert!(
            e.contains(needle),
            "{cmd}: message {e:?} does not name {needle:?}"
        );
    }
}

#[test]
fn bench_reports_every_variant_and_rejects_bad_input() {
    let run = |args: &[&str]| bnbound(&[&["bench"], args].concat());
    for dtype in ["f32", "f64"] {
        for shape in ["2,3,16,16", "8,5"] {
            let o = run(&["--dtype", dtype, "--shape", shape, "--reps", "1"]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr_line(&o));
            let text = String::from_utf8(o.stdout).unwrap();
            for row in [
                "plain",
                "bnbound sound",
                "Kernel::Fma",
                "portable",
                "next_down",
            ] {
                assert!(text.contains(row), "missing {row}: {text}");
            }
            // Five rows, six with the rayon feature.
            let rows = text.lines().filter(|l| l.ends_with('x')).count();
            assert!(rows == 5 || (rows == 6 && text.contains("rayon")), "{text}");
        }
    }
    assert_eq!(run(&["--dtype", "f16"]).status.code(), Some(2));
    assert_eq!(run(&["--shape", "2,0x"]).status.code(), Some(2));
    assert_eq!(run(&["--shape", ""]).status.code(), Some(2));
}

fn fixture(name: &str) -> String {
    format!("{}/../tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn inspect_lists_layers() {
    let v = json_of(&bnbound(&["inspect", &fixture("conv_bn_relu_f32.onnx")]));
    let l = &v["layers"][0];
    assert_eq!(l["name"], "bn1");
    assert_eq!(l["channels"], 6);
    assert_eq!(l["dtype"], "f32");
    assert_eq!(l["eps"].as_f64().unwrap(), 1e-3f32 as f64);
    assert_eq!(l["producer"], "conv1");
    assert_eq!(l["consumers"], serde_json::json!(["relu1"]));
    assert_eq!(l["zero_gamma"], serde_json::json!([0]));
    assert!(l["scale_min"].as_f64().unwrap() < 0.0);
    let v = json_of(&bnbound(&["inspect", &fixture("state.safetensors")]));
    assert_eq!(v["layers"].as_array().unwrap().len(), 5);
    let v = json_of(&bnbound(&[
        "inspect",
        &fixture("state.safetensors"),
        "--prefix",
        "layer2.bn",
        "--eps",
        "0.001",
        "--eps-dtype",
        "f64",
    ]));
    assert_eq!(v["layers"][0]["eps"].as_f64().unwrap(), 0.001);
    assert_eq!(v["layers"][0]["stored_as"], "double");
    assert_eq!(
        bnbound(&["inspect", "/no/such/file.onnx"]).status.code(),
        Some(1)
    );
    // An invalid layer is reported in its row; the file still inspects.
    let o = bnbound(&["inspect", &fixture("bn_training_mode.onnx")]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["layers"][0]["name"], "bntrain");
    assert!(v["layers"][0]["error"]
        .as_str()
        .unwrap()
        .contains("training_mode = 1"));
    for bad in [
        vec![
            "inspect",
            "tests/data/conv_bn_relu_f32.onnx",
            "--eps",
            "1e-3",
        ],
        vec!["inspect", "tests/data/state.safetensors", "--eps", "-1"],
        vec![
            "inspect",
            "tests/data/state.safetensors",
            "--eps-dtype",
            "f16",
        ],
        vec!["inspect", "tests/data/expected.json"],
    ] {
        let bad: Vec<String> = bad
            .iter()
            .map(|a| a.replace("tests/data/", &fixture("")))
            .collect();
        let args: Vec<&str> = bad.iter().map(String::as_str).collect();
        let o = bnbound(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr_line(&o));
    }
}

/// `--model FILE --layer NAME` gives exactly the output of `--params` with the same
/// parameters written as JSON.
#[test]
fn model_layers_replace_params() {
    let options = bnbound::model::Options::default();
    let layer =
        bnbound::model::Model::open_layer(fixture("conv_bn_relu_f32.onnx"), "bn1", &options)
            .unwrap();
    let bnbound::AnyBatchNorm::F32(bn) = &layer.bn else {
        panic!("f32 layer")
    };
    let params = format!(
        r#"{{"dtype": "f32", "eps": {:?}, "gamma": {:?}, "beta": {:?}, "running_mean": {:?}, "running_var": {:?}}}"#,
        bn.eps(),
        bn.gamma(),
        bn.beta(),
        bn.running_mean(),
        bn.running_var()
    );
    let b = r#"{"shape": [2, 6], "lo": [-1, 0, 0.5, -3, 1e-3, 0, -1, 0, 0.5, -3, 1e-3, 0], "hi": [1, 0, 2, -2, 1, "inf", 1, 0, 2, -2, 1, 5]}"#;
    let d = dir();
    let (p, i) = (d.join("p.json"), d.join("b.json"));
    std::fs::write(&p, params).unwrap();
    std::fs::write(&i, b).unwrap();
    let (p, i) = (p.to_str().unwrap(), i.to_str().unwrap());
    let model = fixture("conv_bn_relu_f32.onnx");
    for cmd in [vec!["ibp"], vec!["deriv", "--order", "1"]] {
        let from_params = bnbound(&[&cmd[..], &["--params", p, "--input", i]].concat());
        let from_model = bnbound(
            &[
                &cmd[..],
                &["--model", &model, "--layer", "bn1", "--input", i],
            ]
            .concat(),
        );
        assert_eq!(json_of(&from_params), json_of(&from_model), "{cmd:?}");
    }
    let o = bnbound(&["ibp", "--model", &model, "--layer", "bn9", "--input", i]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_line(&o).contains("bn1"), "{}", stderr_line(&o));
    let o = bnbound(&["ibp", "--model", &model, "--input", i]);
    assert_eq!(o.status.code(), Some(2));
    let st = fixture("state.safetensors");
    let o = bnbound(&["ibp", "--model", &st, "--layer", "features.1", "--input", i]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_line(&o));
}
