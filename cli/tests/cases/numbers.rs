//! How the JSON contract reads numbers (exactly, then rounded in the direction
//! the document's rule names), its limits, the BOX `dtype` rule, and CLI hygiene. The
//! oracle is exact (big-integer arithmetic on the decimal text, in this file).

use crate::common::*;

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

/// `y = x` exactly (γ = 1, β = 0, μ = 0, σ² = 1, ε = 0), f32.
const ID32: &str = r#"{"dtype": "f32", "eps": 0, "gamma": [1], "beta": [0],
    "running_mean": [0], "running_var": [1]}"#;

/// Runs `bnbound check --what ibp` on files holding the three documents.
fn check(params: &str, input: &str, claimed: &str) -> std::process::Output {
    let d = dir();
    let (p, i, c) = (d.join("p.json"), d.join("i.json"), d.join("c.json"));
    std::fs::write(&p, params).unwrap();
    std::fs::write(&i, input).unwrap();
    std::fs::write(&c, claimed).unwrap();
    bnbound(&[
        "check",
        "--params",
        p.to_str().unwrap(),
        "--input",
        i.to_str().unwrap(),
        "--claimed",
        c.to_str().unwrap(),
    ])
}

/// `digit` written with `zeros` leading zeros after the point and a compensating
/// exponent: exactly `digit`.
fn padded(digit: u8, zeros: usize) -> String {
    format!("0.{}{digit}e{}", "0".repeat(zeros), zeros + 1)
}

/// `num/den` for an f64, exactly (the oracle of this file, independent of the reader).
fn rat(x: f64) -> num_rational::BigRational {
    num_rational::BigRational::from_float(x).unwrap()
}

fn dec(num: i64, den: i64) -> num_rational::BigRational {
    num_rational::BigRational::new(num.into(), den.into())
}

#[test]
fn long_decimals_are_read_exactly_or_refused() {
    // 1 written with 655,359 leading zeros is 1, not 0 (hi = 1e-45 would exclude it).
    // Beyond the length limit it is refused with exit 2, naming the limit.
    let huge = padded(1, 655_359);
    let input = format!(r#"{{"shape": [1, 1], "lo": [-1], "hi": [{huge}]}}"#);
    let o = sub("ibp", ID32, &input, &[]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr_line(&o);
    assert!(
        e.contains("hi[0]") && e.contains("longer than the 4096"),
        "{e}"
    );
    // Within the limit the same kind of number is read exactly: hi = 1.
    let one = padded(1, 4000);
    let input = format!(r#"{{"shape": [1, 1], "lo": [-1], "hi": [{one}]}}"#);
    let v = json_of(&sub("ibp", ID32, &input, &[]));
    let hi = v["hi"][0].as_f64().unwrap();
    assert!((1.0..=1f32.next_up() as f64).contains(&hi), "hi = {hi}");
    let b = bnbound_cli::json::parse_box::<f32>(&input).unwrap();
    assert_eq!(b.hi(), &[1.0]);
    // check: a claim lo = 2 (so written) for y = 1 is unsound (exit 3), not "sound".
    let point = r#"{"shape": [1, 1], "lo": [1], "hi": [1]}"#;
    let claim =
        |lo: &str| format!(r#"{{"dtype": "f32", "shape": [1, 1], "lo": [{lo}], "hi": [2]}}"#);
    assert_eq!(
        check(ID32, point, &claim(&padded(2, 4000))).status.code(),
        Some(3)
    );
    assert_eq!(
        check(ID32, point, &claim(&padded(1, 4000))).status.code(),
        Some(0)
    );
    assert_eq!(
        check(ID32, point, &claim(&padded(2, 655_359)))
            .status
            .code(),
        Some(2)
    );
    // Huge exponents are decided without big arithmetic: overflow and underflow.
    let input = r#"{"shape": [1, 1], "lo": [-1e-999999999999999999999], "hi": [1e999999999]}"#;
    let o = sub("ibp", ID32, input, &[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "hi = 1e999999999 is beyond f32: write \"inf\""
    );
    let input = r#"{"shape": [1, 1], "lo": [-1e-999999999999999999999], "hi": [1e-999999999]}"#;
    let v = json_of(&sub("ibp", ID32, input, &[]));
    assert!(v["lo"][0].as_f64().unwrap() < 0.0 && v["hi"][0].as_f64().unwrap() > 0.0);
    // Read outward: lo is the greatest f32 below −10^-(10^21), the negative least
    // subnormal, and hi the least one above 10^-999999999.
    let b = bnbound_cli::json::parse_box::<f32>(input).unwrap();
    assert_eq!(
        (b.lo()[0], b.hi()[0]),
        (-f32::from_bits(1), f32::from_bits(1))
    );
}

#[test]
fn untyped_box_endpoints_are_read_outward_and_typed_ones_to_nearest() {
    // [0.7, 0.7] read to nearest f32 would be [0.69999999, 0.69999999], excluding 0.7.
    let input = r#"{"shape": [1, 1], "lo": [0.7], "hi": [0.7]}"#;
    let v = json_of(&sub("ibp", ID32, input, &[]));
    let (lo, hi) = (v["lo"][0].as_f64().unwrap(), v["hi"][0].as_f64().unwrap());
    assert!(
        rat(lo) <= dec(7, 10) && dec(7, 10) <= rat(hi),
        "[{lo}, {hi}] excludes 0.7"
    );
    // Read as consecutive f32 values: the tightest box containing 0.7.
    let b = bnbound_cli::json::parse_box::<f32>(input).unwrap();
    assert_eq!(b.lo()[0].next_up(), b.hi()[0]);
    assert!(rat(b.lo()[0] as f64) < dec(7, 10) && dec(7, 10) < rat(b.hi()[0] as f64));
    let typed_back = r#"{"dtype": "f32", "shape": [1, 1], "lo": [0.7], "hi": [0.7]}"#;
    let b = bnbound_cli::json::parse_box::<f32>(typed_back).unwrap();
    assert_eq!((b.lo()[0], b.hi()[0]), (0.7f32, 0.7f32));
    // A document stating its dtype names floats: the f32 nearest 0.7, both ends.
    let typed = r#"{"dtype": "f32", "shape": [1, 1], "lo": [0.7], "hi": [0.7]}"#;
    let v = json_of(&sub("ibp", ID32, typed, &[]));
    let (lo, hi) = (v["lo"][0].as_f64().unwrap(), v["hi"][0].as_f64().unwrap());
    assert!(lo <= 0.7f32 as f64 && 0.7f32 as f64 <= hi && hi - lo < 1e-6);
    // The same rule for f16 boxes and for forms.
    let p16 = ID32.replace("\"f32\"", "\"f16\"");
    let v = json_of(&sub("ibp", &p16, input, &[]));
    let (lo, hi) = (v["lo"][0].as_f64().unwrap(), v["hi"][0].as_f64().unwrap());
    assert!(rat(lo) <= dec(7, 10) && dec(7, 10) <= rat(hi));
    let f = r#"{"A": {"lo": [[0.7]], "hi": [[0.7]]}, "c": {"lo": [0.1], "hi": [0.1]}}"#;
    let v = json_of(&sub("affine", ID32, f, &[]));
    let a = |k: &str, s: &str| v[k][s].as_array().unwrap().concat_first();
    assert!(rat(a("A", "lo")) <= dec(7, 10) && dec(7, 10) <= rat(a("A", "hi")));
    assert!(rat(a("c", "lo")) <= dec(1, 10) && dec(1, 10) <= rat(a("c", "hi")));
}

/// The first number of a (possibly nested) JSON array.
trait First {
    fn concat_first(&self) -> f64;
}

impl First for Vec<serde_json::Value> {
    fn concat_first(&self) -> f64 {
        match &self[0] {
            serde_json::Value::Array(a) => a.concat_first(),
            x => x.as_f64().unwrap(),
        }
    }
}

#[test]
fn every_output_document_is_a_valid_input() {
    // ibp's output, "dtype" included, is a valid input of ibp.
    let input = r#"{"shape": [2, 1], "lo": [0.1, -3], "hi": [0.3, "inf"]}"#;
    let out = sub("ibp", ID32, input, &[]);
    let first = json_of(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    // The output read back (to nearest: it names f32 values) is the same box, value for
    // value, and a valid input of ibp.
    let back = bnbound_cli::json::parse_box::<f32>(&text).unwrap();
    let mut again = Vec::new();
    bnbound_cli::json::write_box(&back, &mut again).unwrap();
    assert_eq!(
        String::from_utf8(again).unwrap(),
        text,
        "read back, the same box"
    );
    assert_eq!(first["dtype"], "f32");
    json_of(&sub("ibp", ID32, &text, &[]));
    // Another dtype than the layer's is invalid input.
    let o = sub("ibp", ID32, &text.replace("\"f32\"", "\"f64\""), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_line(&o).contains("dtype"));
    // f16: the stored output box is a stored input box.
    let p16 = ID32.replace("\"f32\"", "\"f16\"");
    let out = sub("ibp", &p16, input, &[]);
    json_of(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    json_of(&sub("ibp", &p16, &text, &[]));
    let back = bnbound_cli::json::parse_stored_box(&text, bnbound::Storage::F16).unwrap();
    let mut again = Vec::new();
    bnbound_cli::json::write_stored_box(&back, bnbound::Storage::F16, &mut again).unwrap();
    assert_eq!(
        String::from_utf8(again).unwrap(),
        text,
        "read back, the same box"
    );
    // Forms: affine's output (with its dtype) is affine's input and a claim for check.
    let f = r#"{"A": {"lo": [[0.1]], "hi": [[0.3]]}, "c": {"lo": [0.7], "hi": [0.9]}}"#;
    let out = sub("affine", ID32, f, &[]);
    let first = json_of(&out);
    assert_eq!(first["dtype"], "f32");
    let text = String::from_utf8(out.stdout).unwrap();
    let (back, _) =
        bnbound_cli::json::parse_shaped_form::<f32>(&text, bnbound_cli::json::FormKind::Affine)
            .unwrap();
    let mut again = Vec::new();
    bnbound_cli::json::write_form(&back, bnbound_cli::json::FormKind::Affine, &mut again).unwrap();
    assert_eq!(
        String::from_utf8(again).unwrap(),
        text,
        "read back, the same form"
    );
    json_of(&sub("affine", ID32, &text, &[]));
    let typed_in = f.replacen('{', r#"{"dtype": "f32", "#, 1);
    let d = dir();
    let (p, i, c) = (d.join("p.json"), d.join("i.json"), d.join("c.json"));
    std::fs::write(&p, ID32).unwrap();
    std::fs::write(&i, &typed_in).unwrap();
    std::fs::write(&c, &text).unwrap();
    let o = bnbound(&[
        "check",
        "--what",
        "affine",
        "--params",
        p.to_str().unwrap(),
        "--input",
        i.to_str().unwrap(),
        "--claimed",
        c.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn check_decides_on_the_values_documents_name() {
    // A claim without "dtype" names exact decimals: one that is not an f32 value cannot
    // be decided on floats and is refused (exit 2), never rounded either way.
    let point = r#"{"shape": [1, 1], "lo": [1], "hi": [1]}"#;
    let untyped = r#"{"shape": [1, 1], "lo": [0.7], "hi": [2]}"#;
    let o = check(ID32, point, untyped);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_line(&o).contains("not a value of f32"));
    // Exact values decide as they are; a typed claim names its nearest floats.
    assert_eq!(
        check(ID32, point, r#"{"shape": [1, 1], "lo": [0.5], "hi": [2]}"#)
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        check(ID32, point, r#"{"shape": [1, 1], "lo": [1.5], "hi": [2]}"#)
            .status
            .code(),
        Some(3)
    );
    let typed = r#"{"dtype": "f32", "shape": [1, 1], "lo": [0.7], "hi": [2]}"#;
    assert_eq!(check(ID32, point, typed).status.code(), Some(0));
    // The checked input box follows the same rule.
    let inexact = r#"{"shape": [1, 1], "lo": [0.7], "hi": [0.7]}"#;
    assert_eq!(check(ID32, inexact, typed).status.code(), Some(2));
    let typed_in = r#"{"dtype": "f32", "shape": [1, 1], "lo": [0.7], "hi": [0.7]}"#;
    assert_eq!(check(ID32, typed_in, typed).status.code(), Some(0));
}

#[test]
fn reading_one_number_has_a_bounded_cost() {
    // An f16 endpoint with a 2-million-digit tail, just above the f16 midpoint 1 + 2^-11
    // (where reading the text as f64 first ties): an exact comparison with 2 million
    // digits would take seconds.
    let tail = format!("1.00048828125{}1", "0".repeat(2_000_000));
    let p16 = ID32.replace("\"f32\"", "\"f16\"");
    let input = format!(r#"{{"shape": [1, 1], "lo": [{tail}], "hi": [1]}}"#);
    let start = std::time::Instant::now();
    let o = sub("ibp", &p16, &input, &[]);
    let took = start.elapsed();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_line(&o).contains("longer than the 4096"));
    assert!(took.as_secs_f64() < 3.0, "{took:?}");
    // The longest number accepted (4096 characters, most of them significant digits)
    // costs little: a document of 200 of them reads in well under a second.
    let long = format!("0.{}", "7".repeat(4094));
    let many = vec![long.as_str(); 200].join(",");
    let input = format!(r#"{{"shape": [200, 1], "lo": [{many}], "hi": [{many}]}}"#);
    let start = std::time::Instant::now();
    let v = json_of(&sub("ibp", ID32, &input, &[]));
    assert!(start.elapsed().as_secs_f64() < 3.0, "{:?}", start.elapsed());
    let lo = v["lo"][0].as_f64().unwrap();
    assert!(lo < 0.78 && lo > 0.77);
}

#[test]
fn bench_budgets_every_allocation() {
    // (1, 67108864) passes a 4 GiB check on its boxes (they take 1 GiB) but
    // needs ~30 GB in per-channel state; refused before anything is allocated.
    let o = bnbound(&["bench", "--shape", "1,67108864", "--reps", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_line(&o).contains("memory budget"));
}

#[test]
fn the_reader_agrees_with_the_exact_oracle_on_exotic_decimals() {
    // The fuzz harness (exact oracle in the test kit) over a deterministic stream of
    // inputs: values of each format, midpoints and their near misses, long digit strings,
    // leading and trailing zeros, exponents of any size; every format, every rule.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut bytes = vec![0u8; 96];
    for _ in 0..1500 {
        for b in bytes.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        bnbound_testkit::fuzz::decimal_reads_exactly(&bytes);
    }
}
