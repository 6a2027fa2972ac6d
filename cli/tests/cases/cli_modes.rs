//! The CLI's modes: the exact checker of every operation (`check --what`), tight mode,
//! and CNN-shaped forms.

use crate::common::*;

#[test]
fn check_exit_statuses_and_report() {
    let d = dir();
    let (p, b, c) = (d.join("p.json"), d.join("b.json"), d.join("c.json"));
    std::fs::write(&p, P64).unwrap(); // s = (1, −1), o = (1, 1)
    std::fs::write(&b, r#"{"shape": [1, 2], "lo": [0, 0], "hi": [1, "inf"]}"#).unwrap();
    let run = |claimed: &str| {
        std::fs::write(&c, claimed).unwrap();
        bnbound(&[
            "check",
            "--params",
            p.to_str().unwrap(),
            "--input",
            b.to_str().unwrap(),
            "--claimed",
            c.to_str().unwrap(),
        ])
    };
    // Sound: exact images [1, 2] and (−∞, 1].
    let o = run(r#"{"dtype": "f64", "shape": [1, 2], "lo": [1, "-inf"], "hi": [2, 1]}"#);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"sound": true, "checked": 2, "unsound": 0, "unsound_elements": 0, "violations": []})
    );
    // Unsound: hi of element 0 is 1.5 < 2 (witness x = 1), lo of element 1 is finite.
    let o = run(r#"{"dtype": "f64", "shape": [1, 2], "lo": [1, -5], "hi": [1.5, 1]}"#);
    assert_eq!(o.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"sound": false, "checked": 2, "unsound": 2, "unsound_elements": 2, "violations": [
            {"index": 0, "side": "hi", "witness": 1.0, "excess": "5e-1"},
            {"index": 1, "side": "lo", "witness": "inf", "excess": "inf"}]})
    );
    // Invalid claimed box: status 2.
    for bad in [
        r#"{"dtype": "f32", "shape": [1, 2], "lo": [1, 1], "hi": [2, 2]}"#,
        r#"{"dtype": "f64", "shape": [2], "lo": [1, 1], "hi": [2, 2]}"#,
        r#"{"dtype": "f64", "shape": [1, 2], "lo": [3, 1], "hi": [2, 2]}"#,
    ] {
        let o = run(bad);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        stderr_line(&o);
    }
}

#[test]
fn check_lists_at_most_100_violations() {
    let n = 150;
    let box_ = format!(
        r#"{{"shape": [{n}, 1], "lo": {z}, "hi": {z}}}"#,
        z = serde_json::json!(vec![1.0; n])
    );
    let claimed = format!(
        r#"{{"dtype": "f64", "shape": [{n}, 1], "lo": {z}, "hi": {z}}}"#,
        z = serde_json::json!(vec![0.0; n])
    );
    let p = r#"{"dtype": "f64", "eps": 0, "gamma": [1], "beta": [0], "running_mean": [0], "running_var": [2]}"#;
    let d = dir();
    let (pp, bp, cp) = (d.join("p.json"), d.join("b.json"), d.join("c.json"));
    std::fs::write(&pp, p).unwrap();
    std::fs::write(&bp, box_).unwrap();
    std::fs::write(&cp, claimed).unwrap();
    let o = bnbound(&[
        "check",
        "--params",
        pp.to_str().unwrap(),
        "--input",
        bp.to_str().unwrap(),
        "--claimed",
        cp.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["checked"], n);
    assert_eq!(v["unsound"], n, "every violation is counted");
    assert_eq!(v["violations"].as_array().unwrap().len(), 100);
}

#[test]
fn tight_mode_cli() {
    let b = r#"{"shape": [1, 2], "lo": [1, 1], "hi": [1, 1]}"#;
    let p = r#"{"dtype": "f64", "eps": 0, "gamma": [1, 2], "beta": [0, 0], "running_mean": [0, 0], "running_var": [2, 4]}"#;
    let o = sub("ibp", p, b, &["--mode", "tight"]);
    if cfg!(feature = "mpfr") {
        let v = json_of(&o);
        let (lo, hi) = (v["lo"][0].as_f64().unwrap(), v["hi"][0].as_f64().unwrap());
        assert_eq!(lo.next_up(), hi); // the two neighbours of 1/√2
        assert_eq!(
            (v["lo"][1].as_f64(), v["hi"][1].as_f64()),
            (Some(1.0), Some(1.0))
        );
        let o = sub("deriv", p, b, &["--order", "2", "--mode", "tight"]);
        assert_eq!(json_of(&o)["lo"][1], 1.0);
        let f = r#"{"A": {"lo": [[1], [3]], "hi": [[1], [3]]}, "c": {"lo": [0, 0], "hi": [0, 0]}}"#;
        let o = sub("affine", p, f, &["--mode", "tight"]);
        assert_eq!(json_of(&o)["A"]["lo"][1][0], 3.0);
    } else {
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr_line(&o).contains("mpfr"));
    }
}

#[test]
fn cnn_shaped_forms_cli() {
    // s = (1, −1), o = (1, 1) over 2 positions per channel: Λ = [1, 2, 3, 4], d = 0.
    let l = r#"{"L": {"lo": [[1, 2, 3, 4]], "hi": [[1, 2, 3, 4]]}, "d": {"lo": [0], "hi": [0]}, "shape": [2, 2]}"#;
    let v = json_of(&sub("backward", P64, l, &[]));
    assert_eq!(
        v,
        serde_json::json!({"dtype": "f64", "L": {"lo": [[1.0, 2.0, -3.0, -4.0]], "hi": [[1.0, 2.0, -3.0, -4.0]]},
                           "d": {"lo": [10.0], "hi": [10.0]}})
    );
    let a = r#"{"A": {"lo": [[1], [1], [1], [1]], "hi": [[1], [1], [1], [1]]}, "c": {"lo": [0, 0, 0, 0], "hi": [0, 0, 0, 0]}, "shape": [2, 2]}"#;
    let v = json_of(&sub("affine", P64, a, &[]));
    assert_eq!(
        v["A"]["lo"],
        serde_json::json!([[1.0], [1.0], [-1.0], [-1.0]])
    );
    assert_eq!(v["c"]["lo"], serde_json::json!([1.0, 1.0, 1.0, 1.0]));
    // A shape that does not match the form or the layer: invalid input.
    for bad in [r#""shape": [2, 3]"#, r#""shape": [3, 2]"#, r#""shape": []"#] {
        let doc = l.replace(r#""shape": [2, 2]"#, bad);
        let o = sub("backward", P64, &doc, &[]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        stderr_line(&o);
    }
}

/// Runs `check --what WHAT` on an input document and a claimed one.
fn check(what: &str, params: &str, input: &str, claimed: &str) -> std::process::Output {
    let d = dir();
    let c = d.join("claimed.json");
    std::fs::write(&c, claimed).unwrap();
    sub(
        "check",
        params,
        input,
        &["--what", what, "--claimed", c.to_str().unwrap()],
    )
}

#[test]
fn check_covers_derivatives_and_both_forms() {
    // P64: s = (1, −1), o = (1, 1).
    let b = r#"{"shape": [1, 2], "lo": [1, 1], "hi": [2, 2]}"#;
    let d = json_of(&sub("deriv", P64, b, &["--order", "1"]));
    let o = check("deriv", P64, b, &d.to_string());
    assert_eq!(o.status.code(), Some(0));
    // s₁·[1, 2] = [−2, −1]: claiming hi = −1.5 is unsound (witness 1, excess 0.5).
    let wrong = r#"{"dtype": "f64", "shape": [1, 2], "lo": [1, -2], "hi": [2, -1.5]}"#;
    let o = check("deriv", P64, b, wrong);
    assert_eq!(o.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["violations"],
        serde_json::json!([{"index": 1, "side": "hi", "witness": 1.0, "excess": "5e-1"}])
    );

    // CNN-shaped back-substitution: Λ = [1, 2, 3, 4] over [2, 2]: d' = 1·3 + 1·7 = 10.
    let l = r#"{"L": {"lo": [[1, 2, 3, 4]], "hi": [[1, 2, 3, 4]]}, "d": {"lo": [0], "hi": [0]}, "shape": [2, 2]}"#;
    let g = json_of(&sub("backward", P64, l, &[]));
    assert_eq!(
        check("backward", P64, l, &g.to_string()).status.code(),
        Some(0)
    );
    let bad = g
        .to_string()
        .replace("\"hi\":[10.0]", "\"hi\":[9.75]")
        .replace("\"lo\":[10.0]", "\"lo\":[9.5]");
    assert_ne!(bad, g.to_string());
    let o = check("backward", P64, l, &bad);
    assert_eq!(o.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["violations"],
        serde_json::json!([{"index": 4, "side": "hi", "witness": 0.0, "excess": "2.5e-1"}])
    );

    // Composition, flat.
    let a = r#"{"A": {"lo": [[1], [3]], "hi": [[1], [3]]}, "c": {"lo": [0, 0], "hi": [0, 0]}}"#;
    let g = json_of(&sub("affine", P64, a, &[]));
    assert_eq!(
        check("affine", P64, a, &g.to_string()).status.code(),
        Some(0)
    );
    // The claimed form must have the input's dimensions; a box is not a form.
    for bad in [
        r#"{"A": {"lo": [[1]], "hi": [[1]]}, "c": {"lo": [0], "hi": [0]}}"#,
        r#"{"dtype": "f64", "shape": [2], "lo": [0, 0], "hi": [0, 0]}"#,
    ] {
        let o = check("affine", P64, a, bad);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        stderr_line(&o);
    }
}

#[test]
fn tight_back_substitution_cli() {
    // o = (1 − 1/√2, 1 − 1/√2) share a root: Λ = [1, −1] gives d' = 0 exactly.
    let p = r#"{"dtype": "f64", "eps": 0, "gamma": [1, 1], "beta": [1, 1], "running_mean": [1, 1], "running_var": [2, 2]}"#;
    let l = r#"{"L": {"lo": [[1, -1]], "hi": [[1, -1]]}, "d": {"lo": [0], "hi": [0]}}"#;
    let o = sub("backward", p, l, &["--mode", "tight"]);
    if cfg!(feature = "mpfr") {
        let v = json_of(&o);
        assert_eq!(v["d"], serde_json::json!({"lo": [0.0], "hi": [0.0]}));
        assert_eq!(
            check("backward", p, l, &v.to_string()).status.code(),
            Some(0)
        );
        let a = r#"{"A": {"lo": [[1], [1], [1], [1]], "hi": [[1], [1], [1], [1]]}, "c": {"lo": [0, 0, 0, 0], "hi": [0, 0, 0, 0]}, "shape": [2, 2]}"#;
        let v = json_of(&sub("affine", p, a, &["--mode", "tight"]));
        assert_eq!(check("affine", p, a, &v.to_string()).status.code(), Some(0));
    } else {
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr_line(&o).contains("mpfr"));
    }
}

#[test]
fn deployed_semantics_cli() {
    // y = x/√3 in f32: ONNX Runtime's α = RN(1/RN(√3)) differs from the exact 1/√3.
    let p = r#"{"dtype": "f32", "eps": 0, "gamma": [1], "beta": [0], "running_mean": [0], "running_var": [3]}"#;
    let b = r#"{"shape": [1], "lo": [3], "hi": [3]}"#;
    let ort = ["--semantics", "deployed", "--runtime", "onnxruntime-cpu"];
    let v = json_of(&sub("ibp", p, b, &ort));
    let alpha = 1.0f32 / 3.0f32.sqrt();
    let outputs = [3.0 * alpha, 3.0f32.mul_add(alpha, 0.0)];
    // The numbers are shortest f32 decimals: read back as f32.
    let f32_of = |v: &serde_json::Value| v.as_f64().unwrap() as f32;
    let (lo, hi) = (f32_of(&v["lo"][0]), f32_of(&v["hi"][0]));
    for y in outputs {
        assert!(lo <= y && y <= hi, "{y} outside [{lo}, {hi}]");
    }
    // The deployed bounds check sound under both semantics; the real ones may not.
    let out = v.to_string();
    assert_eq!(check("ibp", p, b, &out).status.code(), Some(0));
    let d = dir();
    let c = d.join("claimed.json");
    std::fs::write(&c, &out).unwrap();
    let o = sub(
        "check",
        p,
        b,
        &[&["--claimed", c.to_str().unwrap()][..], &ort[..]].concat(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A point claim at the exact value's nearest f32 misses ONNX Runtime's output or the
    // real value: reported with its source.
    let real = json_of(&sub("ibp", p, b, &[]));
    std::fs::write(&c, real.to_string()).unwrap();
    let o = sub(
        "check",
        p,
        b,
        &[&["--claimed", c.to_str().unwrap()][..], &ort[..]].concat(),
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for v in r["violations"].as_array().unwrap() {
        assert_eq!(v["source"], "onnxruntime-cpu");
    }
    // Invalid combinations and names: status 2 with one line.
    for args in [
        vec!["--semantics", "deployed"],
        vec!["--semantics", "deployed", "--runtime", "cuda"],
        vec!["--runtime", "pytorch-cpu"],
    ] {
        let o = sub("ibp", p, b, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        stderr_line(&o);
    }
    // γ = 0 and an unbounded box: the runtime computes 0·∞ = NaN, a typed error.
    let p0 = p.replace(r#""gamma": [1]"#, r#""gamma": [0]"#);
    let o = sub(
        "ibp",
        &p0,
        r#"{"shape": [1], "lo": [0], "hi": ["inf"]}"#,
        &ort,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_line(&o).contains("NaN"));
    // Derivatives: the runtime's slope α is inside.
    let v = json_of(&sub(
        "deriv",
        p,
        r#"{"shape": [1], "lo": [1], "hi": [1]}"#,
        &[&["--order", "1"][..], &ort[..]].concat(),
    ));
    let (lo, hi) = (f32_of(&v["lo"][0]), f32_of(&v["hi"][0]));
    assert!(lo <= alpha && alpha <= hi);
}

/// Decimals are rounded to f16/bf16 once, correctly: exactly at every midpoint (ties to
/// even), just above and just below it (where reading the text as f64 first would give the
/// midpoint and round the wrong way), against the test kit's reference rounding.
#[test]
fn storage_decimals_are_correctly_rounded() {
    use bnbound::Storage;
    use bnbound_testkit::emulate::{round, BF16, F16, V};
    // Typed boxes: their numbers name the nearest values of the storage type.
    let doc = |x: &str, s: Storage| {
        format!(
            r#"{{"dtype": "{}", "shape": [1], "lo": [{x}], "hi": [{x}]}}"#,
            s.name()
        )
    };
    let mut checked = 0;
    for (storage, fmt, step) in [(Storage::F16, F16, 1usize), (Storage::Bf16, BF16, 97)] {
        let value = |bits: u16| match storage {
            Storage::F16 => half::f16::from_bits(bits).to_f32(),
            Storage::Bf16 => half::bf16::from_bits(bits).to_f32(),
        };
        let top = if storage == Storage::F16 {
            0x7BFE
        } else {
            0x7F7E
        };
        for bits in (0u16..top).step_by(step) {
            let (v, w) = (value(bits) as f64, value(bits + 1) as f64);
            let m = v + (w - v) / 2.0;
            let exact = format!("{m:.150e}"); // exact: m has a short binary expansion
            let (mant, exp) = exact.split_once('e').unwrap();
            let mant = mant.trim_end_matches('0').trim_end_matches('.');
            let dotted = if mant.contains('.') {
                mant.to_string()
            } else {
                format!("{mant}.")
            };
            let above = format!("{dotted}000000000000000000000001e{exp}");
            let below = {
                // m minus 10^(exp − 200): a decimal just under m.
                let digits: String = mant.replace('.', "");
                let n: num_bigint::BigInt = digits.parse().unwrap();
                let scaled = n * num_bigint::BigInt::from(10).pow(200) - 1u32;
                let s = scaled.to_string();
                format!("{}.{}e{exp}", &s[..1], &s[1..])
            };
            for text in [format!("{mant}e{exp}"), above, below] {
                let got = bnbound_cli::json::parse_stored_box(&doc(&text, storage), storage)
                    .unwrap()
                    .lo()[0];
                let q: num_rational::BigRational = parse_decimal(&text);
                let want = round(&V::Fin(q.numer().clone(), q.denom().clone()), fmt) as f32;
                assert_eq!(got.to_bits(), want.to_bits(), "{storage:?} {text}");
                checked += 1;
            }
        }
    }
    assert!(checked > 90_000);
}

fn parse_decimal(text: &str) -> num_rational::BigRational {
    use num_bigint::BigInt;
    let (mant, exp) = text.split_once('e').unwrap();
    let exp: i64 = exp.parse().unwrap();
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let digits: BigInt = format!("{int}{frac}").parse().unwrap();
    let k = exp - frac.len() as i64;
    let ten = |n: i64| BigInt::from(10).pow(n as u32);
    if k >= 0 {
        num_rational::BigRational::from_integer(digits * ten(k))
    } else {
        num_rational::BigRational::new(digits, ten(-k))
    }
}

#[test]
fn stored_dtypes_cli() {
    let p = r#"{"dtype": "f16", "eps": 1e-5, "gamma": [1, -0.5], "beta": [0, 0.1], "running_mean": [0, 0.2], "running_var": [3, 0.3]}"#;
    let b = r#"{"shape": [1, 2], "lo": [0.1, 0], "hi": [1, 2]}"#;
    let real = json_of(&sub("ibp", p, b, &[]));
    assert_eq!(real["dtype"], "f16");
    let pt = ["--semantics", "deployed", "--runtime", "pytorch-cpu"];
    let dep = json_of(&sub("ibp", p, b, &pt));
    let f16 = |v: &serde_json::Value| half::f16::from_f64(v.as_f64().unwrap()).to_f32();
    for k in 0..2 {
        // Deployed bounds contain the real ones, and both are f16 values.
        assert!(f16(&dep["lo"][k]) <= f16(&real["lo"][k]));
        assert!(f16(&dep["hi"][k]) >= f16(&real["hi"][k]));
    }
    // Not replayed for ONNX Runtime: any's bounds on the f16 grid, with a note saying so.
    let o = sub(
        "ibp",
        p,
        b,
        &["--semantics", "deployed", "--runtime", "onnxruntime-cpu"],
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not replayed"));
    let any = json_of(&sub(
        "ibp",
        p,
        b,
        &["--semantics", "deployed", "--runtime", "any"],
    ));
    assert_eq!(json_of(&o), any);
    // Other subcommands refuse f16 PARAMS: status 2.
    let o = sub("deriv", p, b, &["--order", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_line(&o).contains("f16"));
    // A number that overflows f16 is invalid input.
    let o = sub(
        "ibp",
        p,
        r#"{"shape": [1, 2], "lo": [0, 0], "hi": [70000, 1]}"#,
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    stderr_line(&o);
}

#[test]
fn any_runtime_cli() {
    let p = r#"{"dtype": "f32", "eps": 0, "gamma": [1], "beta": [0], "running_mean": [0], "running_var": [3]}"#;
    let b = r#"{"shape": [1], "lo": [3], "hi": [3]}"#;
    let f32_of = |v: &serde_json::Value| v.as_f64().unwrap() as f32;
    let named = json_of(&sub(
        "ibp",
        p,
        b,
        &["--semantics", "deployed", "--runtime", "onnxruntime-cpu"],
    ));
    let mut last = (f32::NEG_INFINITY, f32::INFINITY);
    for k in ["4", "2", "0"] {
        let any = json_of(&sub(
            "ibp",
            p,
            b,
            &["--semantics", "deployed", "--runtime", "any", "--ulps", k],
        ));
        let (lo, hi) = (f32_of(&any["lo"][0]), f32_of(&any["hi"][0]));
        // Contains the named runtime's bounds; fewer ulps never widen.
        assert!(lo <= f32_of(&named["lo"][0]) && f32_of(&named["hi"][0]) <= hi);
        assert!(last.0 <= lo && hi <= last.1);
        last = (lo, hi);
    }
    // --ulps only with any; the checker does not decide against an over-approximation.
    let o = sub(
        "ibp",
        p,
        b,
        &[
            "--semantics",
            "deployed",
            "--runtime",
            "pytorch-cpu",
            "--ulps",
            "1",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    stderr_line(&o);
    let o = check("ibp", p, b, &named.to_string());
    assert_eq!(o.status.code(), Some(0));
    let d = dir();
    let c = d.join("claimed.json");
    std::fs::write(&c, named.to_string()).unwrap();
    let o = sub(
        "check",
        p,
        b,
        &[
            "--claimed",
            c.to_str().unwrap(),
            "--semantics",
            "deployed",
            "--runtime",
            "any",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_line(&o).contains("over-approximate"));
}

/// A float16/bfloat16 model under deployed semantics gets the 16-bit
/// recipe, on the storage grid — bit for bit what the same values give as an f16/bf16
/// PARAMS document — never f32 bounds of f32 arithmetic. Real semantics stays the f32
/// layer of the same values; commands without a 16-bit replay are refused.
#[test]
fn sixteen_bit_models_get_sixteen_bit_deployed_bounds() {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("expected.json")).unwrap()).unwrap();
    for (file, layer, dtype) in [
        ("bn_f16.onnx", "bn16", "f16"),
        ("bn_bf16.onnx", "bnbf16", "bf16"),
    ] {
        let e = &expected[format!("{file}/{layer}")];
        // The stored values, as the shortest decimals of the f64s they are (exact here).
        // One row per field (γ, β, μ, σ²), one column per channel, as f64 bits.
        let col = |k: usize| -> Vec<String> {
            e["params"][k]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| format!("{:e}", f64::from_bits(x.as_u64().unwrap())))
                .collect()
        };
        let eps = f64::from_bits(e["eps_bits"].as_u64().unwrap());
        let params = format!(
            r#"{{"dtype": "{dtype}", "eps": {eps:e}, "gamma": [{}], "beta": [{}], "running_mean": [{}], "running_var": [{}]}}"#,
            col(0).join(", "),
            col(1).join(", "),
            col(2).join(", "),
            col(3).join(", ")
        );
        let c = e["params"][0].as_array().unwrap().len();
        let ones = vec!["1.5"; c].join(", ");
        let zeros = vec!["-0.25"; c].join(", ");
        let b = format!(r#"{{"shape": [1, {c}], "lo": [{zeros}], "hi": [{ones}]}}"#);
        let dir = scratch();
        let bpath = dir.join("box.json");
        std::fs::write(&bpath, &b).unwrap();
        let model = data(file);
        let model = model.to_str().unwrap();
        let pt = ["--semantics", "deployed", "--runtime", "pytorch-cpu"];
        let mut args = vec!["ibp", "--model", model, "--layer", layer, "--input"];
        args.push(bpath.to_str().unwrap());
        args.extend(pt);
        let from_model = json_of(&bnbound(&args));
        let from_params = json_of(&sub("ibp", &params, &b, &pt));
        assert_eq!(from_model["dtype"], dtype, "{file}");
        assert_eq!(from_model, from_params, "{file}: model vs PARAMS document");
        // Deployed derivatives and checks of 16-bit arithmetic are not replayed: refused.
        let mut deriv = vec!["deriv", "--order", "1", "--model", model, "--layer", layer];
        deriv.extend(["--input", bpath.to_str().unwrap()]);
        deriv.extend(pt);
        let o = bnbound(&deriv);
        assert_eq!(o.status.code(), Some(2), "{file}");
        assert!(stderr_line(&o).contains(dtype), "{file}");
        // Real semantics: the f32 layer of the stored values.
        let mut real = vec!["ibp", "--model", model, "--layer", layer, "--input"];
        real.push(bpath.to_str().unwrap());
        assert_eq!(json_of(&bnbound(&real))["dtype"], "f32", "{file}");
    }
}

/// `fold` on a layer whose ONNX Runtime fusion computes NaN (γ = 3·10³⁸
/// over √(σ² = 10⁻⁴⁵) overflows f32, times a zero weight) exits 2 with a typed message
/// and writes no output (no JSON `null` with exit 0).
#[test]
fn fold_nan_is_invalid_input() {
    let p = r#"{"dtype": "f32", "eps": 0, "gamma": [3e38], "beta": [0], "running_mean": [0], "running_var": [1e-45]}"#;
    let l = r#"{"dims": [1, 2], "weight": [0, 1]}"#;
    let o = sub("fold", p, l, &["--runtime", "onnxruntime-cpu"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert!(stderr_line(&o).contains("NaN"));
}

/// A float16 state_dict read with an f64 ε that is not an f32
/// value becomes an f64 layer; deployed semantics on it must not be f64 arithmetic
/// (torch's f16 outputs 3162 and 2896 lie below such bounds at σ² = 0, ε = 1e-7): exit 2.
/// Real semantics stays available.
#[test]
fn sixteen_bit_state_dict_with_f64_eps_refuses_deployed() {
    let model = data("state.safetensors");
    let model = model.to_str().unwrap();
    let dir = scratch();
    let bpath = dir.join("box.json");
    std::fs::write(
        &bpath,
        r#"{"shape": [1, 4], "lo": [1, 1, 1, 1], "hi": [1, 1, 1, 1]}"#,
    )
    .unwrap();
    let b = bpath.to_str().unwrap();
    let base = [
        "--model",
        model,
        "--layer",
        "half",
        "--eps",
        "1e-7",
        "--eps-dtype",
        "f64",
    ];
    for rt in ["pytorch-cpu", "onnxruntime-cpu", "any"] {
        let mut args = vec!["ibp"];
        args.extend(base);
        args.extend(["--input", b, "--semantics", "deployed", "--runtime", rt]);
        let o = bnbound(&args);
        assert_eq!(o.status.code(), Some(2), "{rt}: {}", stderr(&o));
        assert!(stderr_line(&o).contains("f16"), "{rt}");
    }
    let mut args = vec!["ibp"];
    args.extend(base);
    args.extend(["--input", b]);
    assert_eq!(json_of(&bnbound(&args))["dtype"], "f64");
}
