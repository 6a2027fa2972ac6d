//! Model files: real PyTorch exports load; careless or hostile files never abort, escape
//! the model's folder, corrupt output or block other layers. One named test per case.

use bnbound::model::onnx::OnnxModel;
use bnbound::model::{Error as ModelError, Format, Model, Options};

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{bnbound, data, ibp_is_exactly_sound, scratch, stderr, Scratch};

/// The ONNX model at `path`, opened as ONNX whatever its name.
fn open_onnx(path: impl AsRef<Path>) -> Result<OnnxModel, ModelError> {
    match Model::open(path, &Options::default().format(Format::Onnx))? {
        Model::Onnx(m) => Ok(m),
        other => panic!("an ONNX model, not {other:?}"),
    }
}

#[test]
fn pytorch_exports_with_training_mode_0_load_and_bound_soundly() {
    for f in [
        "pytorch_opset15_f32.onnx",
        "pytorch_opset17_f32.onnx",
        "pytorch_opset17_f16.onnx",
        "pytorch_opset17_f32.onnx.gz",
    ] {
        let m = open_onnx(data(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        let l = m
            .layer("/bn1/BatchNormalization")
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(l.producer.as_deref(), Some("/conv1/Conv"), "{f}");
        assert_eq!(l.consumers, ["/relu/Relu"], "{f}");
        assert_eq!(l.bn.channels(), 8);
        ibp_is_exactly_sound(&l.bn);
        // And end to end through the CLI.
        let o = bnbound(&["inspect", data(f).to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{f}: {}", stderr(&o));
    }
    let plain = open_onnx(data("pytorch_opset17_f32.onnx")).unwrap();
    let gz = open_onnx(data("pytorch_opset17_f32.onnx.gz")).unwrap();
    let name = "/bn1/BatchNormalization";
    assert_eq!(plain.layer(name).unwrap(), gz.layer(name).unwrap());
}

#[test]
fn unnamed_node_is_named_by_its_output() {
    let m = open_onnx(data("multi_unnamed.onnx")).unwrap();
    assert_eq!(m.names().collect::<Vec<_>>(), ["good", "other_y"]);
    assert!(m.layer("other_y").is_ok());
}

#[test]
fn gzip_bomb_is_refused() {
    // 64 MiB of zeros compress to about 64 KiB: over the 64×-plus-16-MiB limit.
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 64 << 20]).unwrap();
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let e = Model::from_bytes(bomb, Format::Onnx, None, &Options::default()).unwrap_err();
    assert!(
        matches!(&e, ModelError::Format(m) if m.contains("expands beyond")),
        "{e}"
    );
}

// ------------------------------------------------------------------ legacy training forms

#[test]
fn legacy_training_forms_are_typed_errors_naming_the_attribute() {
    for (f, needle) in [
        ("legacy_five_outputs.onnx", "5 outputs"),
        ("legacy_opset6_default.onnx", "is_test = 0"),
        ("legacy_spatial0.onnx", "spatial = 0"),
        ("legacy_training_input.onnx", "training_mode"),
    ] {
        let e = open_onnx(data(f)).unwrap().layer("bn").unwrap_err();
        assert_eq!(e.layer(), Some("bn"));
        assert!(
            matches!(e.inner(), ModelError::UnsupportedNode { node, reason } if node == "bn" && reason.contains(needle)),
            "{f}: {e}"
        );
    }
    // Opset 6 with an explicit is_test = 1 is an inference node.
    let m = open_onnx(data("legacy_opset6_is_test.onnx")).unwrap();
    ibp_is_exactly_sound(&m.layer("bn").unwrap().bn);
}

// ------------------------------------------------------- one invalid layer, others load

#[test]
fn one_invalid_layer_does_not_block_another() {
    for (f, bad) in [
        ("multi_computed_stats.onnx", "computed by another node"),
        ("multi_duplicate_initializer.onnx", "initializer name"),
        ("multi_duplicate_node_name.onnx", "node name"),
    ] {
        let m = open_onnx(data(f)).unwrap();
        let good = m.layer("good").unwrap_or_else(|e| panic!("{f}: {e}"));
        ibp_is_exactly_sound(&good.bn);
        let e = m.layer("other").unwrap_err();
        assert!(e.to_string().contains(bad), "{f}: {e}");
        assert_eq!(e.layer(), Some("other"), "{f}");
        assert!(
            matches!(
                e.inner(),
                ModelError::UnsupportedNode { .. } | ModelError::DuplicateName { .. }
            ),
            "{f}: {e:?}"
        );
        // The CLI: the good layer works, the bad one is invalid input naming the problem,
        // and inspect reports both rows.
        let p = data(f);
        let p = p.to_str().unwrap();
        let o = bnbound(&["inspect", p]);
        assert_eq!(o.status.code(), Some(0), "{f}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["layers"][0]["channels"], 2, "{f}");
        assert!(v["layers"][1]["error"].as_str().unwrap().contains(bad));
        let d = scratch();
        let b = d.join("box.json");
        std::fs::write(&b, r#"{"shape": [1, 2], "lo": [0, 0], "hi": [1, 1]}"#).unwrap();
        let args = |layer: &'static str| {
            vec![
                "ibp".to_string(),
                "--model".into(),
                p.to_string(),
                "--layer".into(),
                layer.to_string(),
                "--input".into(),
                b.to_str().unwrap().to_string(),
            ]
        };
        let o = Command::new(env!("CARGO_BIN_EXE_bnbound"))
            .args(args("good"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{f}: {}", stderr(&o));
        let o = Command::new(env!("CARGO_BIN_EXE_bnbound"))
            .args(args("other"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{f}");
        assert!(stderr(&o).contains(bad), "{f}: {}", stderr(&o));
    }
}

// ------------------------------------------------------------------ external data

/// A copy of the external-data fixture in a fresh folder; returns (folder, model path).
fn external_copy() -> (Scratch, PathBuf) {
    let d = scratch();
    let m = d.join("bn_external.onnx");
    std::fs::copy(data("bn_external.onnx"), &m).unwrap();
    (d, m)
}

#[test]
fn external_data_symlinks_out_of_the_folder_are_refused() {
    // A symlinked file next to the model that points elsewhere.
    let (d, m) = external_copy();
    let scratch_dir = scratch();
    let elsewhere = scratch_dir.join("secret.data");
    std::fs::copy(data("bn_external.data"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, d.join("bn_external.data")).unwrap();
    let e = open_onnx(&m).unwrap().layer("bnext").unwrap_err();
    assert!(
        matches!(e.inner(), ModelError::ExternalDataOutside { reason, .. } if reason.contains("outside")),
        "{e}"
    );
    let o = bnbound(&["inspect", m.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["layers"][0]["error"]
        .as_str()
        .unwrap()
        .contains("outside the model's folder"));
    assert!(
        v["layers"][0].get("channels").is_none(),
        "no values leak out"
    );

    // A symlinked folder: the location "ln/external.data" (same length as the original,
    // so the protobuf stays valid) through a link to a folder elsewhere.
    let (d, m) = external_copy();
    let bytes = std::fs::read(&m).unwrap();
    let from = b"bn_external.data";
    let to = b"ln/external.data";
    let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
    let mut patched = bytes.clone();
    patched[at..at + from.len()].copy_from_slice(to);
    std::fs::write(&m, &patched).unwrap();
    let outside = scratch();
    std::fs::copy(data("bn_external.data"), outside.join("external.data")).unwrap();
    std::os::unix::fs::symlink(&outside, d.join("ln")).unwrap();
    let e = open_onnx(&m).unwrap().layer("bnext").unwrap_err();
    assert!(
        matches!(e.inner(), ModelError::ExternalDataOutside { .. }),
        "{e}"
    );

    // A link that stays inside the folder is fine.
    let (d, m) = external_copy();
    std::fs::copy(data("bn_external.data"), d.join("real.data")).unwrap();
    std::os::unix::fs::symlink(d.join("real.data"), d.join("bn_external.data")).unwrap();
    assert!(open_onnx(&m).unwrap().layer("bnext").is_ok());
}

#[test]
fn external_data_reads_only_the_tensor_range() {
    // The data file is 64 GiB (sparse): only each tensor's offset..offset+length is read.
    let (d, m) = external_copy();
    let f = std::fs::File::create(d.join("bn_external.data")).unwrap();
    use std::io::Write;
    (&f).write_all(&std::fs::read(data("bn_external.data")).unwrap())
        .unwrap();
    f.set_len(64 << 30).unwrap();
    let got = open_onnx(&m).unwrap().layer("bnext").unwrap();
    let want = open_onnx(data("bn_external.onnx"))
        .unwrap()
        .layer("bnext")
        .unwrap();
    assert_eq!(got, want);
}

// ------------------------------------------------------------------ loading one layer

#[test]
fn single_layer_loading_agrees_with_the_full_index() {
    let mut checked = 0;
    for entry in std::fs::read_dir(data("")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.ends_with(".onnx") || name.ends_with(".gz") || name.ends_with(".safetensors")) {
            continue;
        }
        let model = Model::open(&path, &Options::default()).unwrap();
        for layer in model.names() {
            let full = model.layer(layer);
            let one = Model::open_layer(&path, layer, &Options::default());
            assert_eq!(full, one, "{name}/{layer}");
            checked += 1;
        }
        let unknown = Model::open_layer(&path, "no such layer", &Options::default());
        assert!(
            matches!(unknown, Err(ModelError::UnknownLayer { .. })),
            "{name}: {unknown:?}"
        );
    }
    assert!(checked >= 30, "{checked} layers");
}

#[test]
fn safetensors_header_entries_are_checked_when_read_alone() {
    let d = scratch();
    let write = |header: &str, data: &[u8]| {
        let mut h = header.as_bytes().to_vec();
        while !h.len().is_multiple_of(8) {
            h.push(b' ');
        }
        let mut f = (h.len() as u64).to_le_bytes().to_vec();
        f.extend_from_slice(&h);
        f.extend_from_slice(data);
        let p = d.join("s.safetensors");
        std::fs::write(&p, f).unwrap();
        Model::open_layer(&p, "bn", &Options::default())
    };
    let stats = |mean: &str| {
        format!(
            r#"{{"bn.running_mean": {mean}, "bn.running_var": {{"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}}}"#
        )
    };
    let ok = write(
        &stats(r#"{"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}"#),
        &[0, 0, 0, 0, 0, 0, 128, 63],
    );
    assert_eq!(ok.unwrap().bn.channels(), 1);
    for (mean, what) in [
        (
            r#"{"dtype": "F32", "shape": [1], "data_offsets": [0, 400]}"#,
            "offsets",
        ),
        (
            r#"{"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}"#,
            "offsets",
        ),
        (
            r#"{"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}"#,
            "element type",
        ),
        (
            r#"{"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "bn.running_mean": 1"#,
            "twice",
        ),
    ] {
        let e = write(&stats(mean), &[0, 0, 0, 0, 0, 0, 128, 63]).unwrap_err();
        assert!(e.to_string().contains(what), "{mean}: {e}");
    }
}

// ------------------------------------------------------- initializers listed as inputs

/// A statistic from a Constant node, or an initializer also listed as a graph input, is a
/// constant: both layers load. `inspect` says which layer a
/// feed could override, and `--strict-initializers` refuses it in `inspect` and `--model`.
#[test]
fn initializers_listed_as_inputs_load_and_strict_refuses() {
    let p = data("multi_initializer_is_input.onnx");
    let p = p.to_str().unwrap();
    let o = bnbound(&["inspect", p]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["layers"][0]["overridable"], false);
    assert_eq!(v["layers"][1]["name"], "other");
    assert_eq!(v["layers"][1]["overridable"], true);
    assert_eq!(v["layers"][1]["channels"], 2);
    let o = bnbound(&["inspect", "--strict-initializers", p]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["layers"][0]["overridable"], false);
    let e = v["layers"][1]["error"].as_str().unwrap();
    assert!(e.contains("other.B") && e.contains("graph input"), "{e}");
    let d = scratch();
    let b = d.join("box.json");
    std::fs::write(&b, r#"{"shape": [1, 2], "lo": [0, 0], "hi": [1, 1]}"#).unwrap();
    let b = b.to_str().unwrap();
    let o = bnbound(&["ibp", "--model", p, "--layer", "other", "--input", b]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = bnbound(&[
        "ibp",
        "--model",
        p,
        "--layer",
        "other",
        "--strict-initializers",
        "--input",
        b,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("graph input"), "{}", stderr(&o));
    // The Constant-node statistic loads, and is not overridable.
    let m = open_onnx(data("multi_constant_stats.onnx")).unwrap();
    let l = m.layer("other").unwrap();
    assert!(!l.overridable);
    ibp_is_exactly_sound(&l.bn);
}

// ------------------------------------------------------------ errors name the layer

/// A layer whose running_var[0] is -1, in an ONNX model (next to a valid layer) and in a
/// state_dict: the error names the layer in the library (`Error::layer`), in `--model
/// --layer` and in `inspect`, not only the file and the tensor index.
#[test]
fn errors_of_one_layer_name_the_layer() {
    use bnbound_testkit::onnx::{GraphProto, ModelProto, NodeProto, TensorProto};
    let stat = |name: &str, v: [f32; 2]| TensorProto {
        dims: vec![2],
        data_type: 1,
        name: name.into(),
        float_data: v.to_vec(),
        ..Default::default()
    };
    let mut node = Vec::new();
    let mut initializer = Vec::new();
    for (layer, var) in [("fine", [1.0, 2.0]), ("bad_layer", [-1.0, 2.0])] {
        let names = ["s", "b", "m", "v"].map(|k| format!("{layer}.{k}"));
        initializer.extend([
            stat(&names[0], [1.0, 1.0]),
            stat(&names[1], [0.0, 0.0]),
            stat(&names[2], [0.0, 0.0]),
            stat(&names[3], var),
        ]);
        let mut input = vec!["x".to_string()];
        input.extend(names);
        node.push(NodeProto {
            input,
            output: vec![format!("{layer}_y")],
            name: layer.into(),
            op_type: "BatchNormalization".into(),
            ..Default::default()
        });
    }
    let model = ModelProto {
        ir_version: 0,
        graph: Some(GraphProto {
            node,
            initializer,
            ..Default::default()
        }),
        opset_import: vec![],
    };
    let d = scratch();
    let p = d.join("neg.onnx");
    std::fs::write(&p, model.to_bytes()).unwrap();
    let m = open_onnx(&p).unwrap();
    assert!(m.layer("fine").is_ok());
    let e = m.layer("bad_layer").unwrap_err();
    assert_eq!(e.layer(), Some("bad_layer"));
    assert!(matches!(e.inner(), ModelError::Invalid(_)), "{e:?}");
    let all: Vec<_> = m.layers().collect();
    assert_eq!(all[1].1.as_ref().unwrap_err(), &e);

    // A state_dict with the same layer, written by hand.
    let header = r#"{"bad_layer.running_mean":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"bad_layer.running_var":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#;
    let mut st = (header.len() as u64).to_le_bytes().to_vec();
    st.extend(header.as_bytes());
    for x in [0.0f32, 0.0, -1.0, 2.0] {
        st.extend(x.to_le_bytes());
    }
    let s = d.join("neg.safetensors");
    std::fs::write(&s, st).unwrap();

    let b = d.join("box.json");
    std::fs::write(&b, r#"{"shape": [1, 2], "lo": [0, 0], "hi": [1, 1]}"#).unwrap();
    for file in [&p, &s] {
        let f = file.to_str().unwrap();
        let args = [
            "--model",
            f,
            "--layer",
            "bad_layer",
            "--input",
            b.to_str().unwrap(),
        ];
        let o = bnbound(&[&["ibp"][..], &args[..]].concat());
        assert_eq!(o.status.code(), Some(2), "{f}");
        let msg = stderr(&o);
        assert!(
            msg.contains(r#"layer "bad_layer""#) && msg.contains("running_var[0] = -1"),
            "{f}: {msg}"
        );
        let o = bnbound(&["inspect", f]);
        assert_eq!(o.status.code(), Some(0), "{f}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let rows = v["layers"].as_array().unwrap();
        let row = rows.iter().find(|r| r["name"] == "bad_layer").unwrap();
        assert!(
            row["error"]
                .as_str()
                .unwrap()
                .contains(r#"layer "bad_layer""#),
            "{f}: {row}"
        );
    }
}

// ------------------------------------------------------- fold: the producer's layout

/// `producer -> BatchNormalization` with `c` channels, the producer's weight an
/// initializer of dims `w` (when given); written to a scratch folder.
/// A model file in its own scratch folder (removed when this drops).
struct ModelFile {
    _dir: Scratch,
    path: PathBuf,
}

impl std::ops::Deref for ModelFile {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.path
    }
}

fn producer_model(op: &str, attrs: Vec<(&str, i64)>, w: Option<Vec<i64>>, c: usize) -> ModelFile {
    use bnbound_testkit::onnx::{
        AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    };
    let tensor = |name: &str, dims: Vec<i64>, v: f32| TensorProto {
        float_data: vec![v; dims.iter().product::<i64>() as usize],
        dims,
        data_type: 1,
        name: name.into(),
        ..Default::default()
    };
    let mut initializer: Vec<TensorProto> = ["s", "b", "m", "v"]
        .iter()
        .map(|n| tensor(n, vec![c as i64], 1.0))
        .collect();
    let mut node = Vec::new();
    let x = if op.is_empty() {
        "x"
    } else {
        initializer.extend(w.map(|d| tensor("w", d, 0.5)));
        node.push(NodeProto {
            input: vec!["x".into(), "w".into()],
            output: vec!["p".into()],
            name: "prod".into(),
            op_type: op.into(),
            attribute: attrs
                .iter()
                .map(|&(n, i)| AttributeProto {
                    name: n.into(),
                    i,
                    r#type: 2,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        });
        "p"
    };
    node.push(NodeProto {
        input: [x, "s", "b", "m", "v"].map(String::from).to_vec(),
        output: vec!["y".into()],
        name: "bn".into(),
        op_type: "BatchNormalization".into(),
        ..Default::default()
    });
    let m = ModelProto {
        ir_version: 0,
        graph: Some(GraphProto {
            node,
            initializer,
            ..Default::default()
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 15,
        }],
    };
    let scratch_dir = scratch();
    let p = scratch_dir.join("prod.onnx");
    std::fs::write(&p, m.to_bytes()).unwrap();
    ModelFile {
        _dir: scratch_dir,
        path: p,
    }
}

/// `fold --model` with LAYER.json of `dims`: (exit status, standard error).
fn fold_model(model: &std::path::Path, layer: &str, dims: &[usize]) -> (Option<i32>, String) {
    fold_model_for(model, layer, dims, "onnxruntime-cpu")
}

fn fold_model_for(
    model: &std::path::Path,
    layer: &str,
    dims: &[usize],
    runtime: &str,
) -> (Option<i32>, String) {
    let n: usize = dims.iter().product();
    let j = serde_json::json!({"dims": dims, "weight": vec![0.5; n]});
    let scratch_dir = scratch();
    let f = scratch_dir.join("layer.json");
    std::fs::write(&f, j.to_string()).unwrap();
    let o = bnbound(&[
        "fold",
        "--model",
        model.to_str().unwrap(),
        "--layer",
        layer,
        "--input",
        f.to_str().unwrap(),
        "--runtime",
        runtime,
    ]);
    (o.status.code(), stderr(&o))
}

/// A ConvTranspose producer (weight [I, O, k, k]) folded as if it were [O, I, k, k] would
/// scale the wrong axis with exit 0 when I = O. `fold --model` checks the preceding layer
/// against the producer the model has: Conv, Gemm (transB either way) and MatMul in their
/// stored layouts; anything else, a mismatched shape or an orientation the dims cannot
/// tell is refused naming the layer, the op type and the channel count. A Gemm or MatMul
/// in the right layout is then refused too: onnxruntime's MatMul/Gemm→BatchNorm fusion
/// is not checked, so its weights are not claimed.
#[test]
fn fold_model_checks_the_producer_layout() {
    let ok = |r: (Option<i32>, String)| assert_eq!(r.0, Some(0), "{}", r.1);
    let refused = |r: (Option<i32>, String), needles: &[&str]| {
        assert_eq!(r.0, Some(2), "{}", r.1);
        for n in needles {
            assert!(r.1.contains(n), "{n:?} not in {}", r.1);
        }
    };
    // The Conv fixture: weight [6, 6, 1, 1], six channels.
    let conv = data("conv_bn_relu_f32.onnx");
    ok(fold_model(&conv, "bn1", &[6, 6, 1, 1]));
    refused(
        fold_model(&conv, "bn1", &[5, 6, 1, 1]),
        &[r#"layer "bn1""#, "Conv", "6 channels"],
    );
    refused(fold_model(&conv, "bn1", &[6, 3, 2, 1]), &["[6, 6, 1, 1]"]);
    // ConvTranspose, weight [I, O, k, k] with I = O = 4: the dims alone look right.
    let ct = producer_model("ConvTranspose", vec![], Some(vec![4, 4, 3, 3]), 4);
    refused(
        fold_model(&ct, "bn", &[4, 4, 3, 3]),
        &[r#"layer "bn""#, "ConvTranspose", r#""prod""#],
    );
    // Gemm: B [O, I] with transB = 1, [I, O] with transB = 0 (LAYER.json is [O, I]).
    let not_conv = &["not a Conv", "Gemm"][..];
    let g1 = producer_model("Gemm", vec![("transB", 1)], Some(vec![3, 2]), 3);
    refused(fold_model(&g1, "bn", &[3, 2]), not_conv);
    let g0 = producer_model("Gemm", vec![], Some(vec![2, 3]), 3);
    refused(fold_model(&g0, "bn", &[3, 2]), not_conv);
    refused(fold_model(&g0, "bn", &[2, 3]), &["3 channels"]);
    // MatMul: W [I, O].
    let mm = producer_model("MatMul", vec![], Some(vec![2, 3]), 3);
    refused(fold_model(&mm, "bn", &[3, 2]), &["not a Conv", "MatMul"]);
    let mm3 = producer_model("MatMul", vec![], Some(vec![3, 3]), 3);
    refused(
        fold_model(&mm3, "bn", &[3, 3]),
        &["MatMul", "cannot be told"],
    );
    let mm_unknown = producer_model("MatMul", vec![], None, 3);
    refused(
        fold_model(&mm_unknown, "bn", &[3, 2]),
        &["not an initializer"],
    );
    // No producer: the layer's input is a graph input.
    let none = producer_model("", vec![], None, 3);
    refused(fold_model(&none, "bn", &[3, 2]), &["graph input"]);
    let o = bnbound(&["inspect", ct.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["layers"][0]["producer_op"], "ConvTranspose");
    // The library says the same.
    let l = open_onnx(&*ct).unwrap().layer("bn").unwrap();
    assert_eq!(
        l.producer_op,
        Some(bnbound::model::ProducerOp::Other("ConvTranspose".into()))
    );
    assert_eq!(l.producer_weight_dims, Some(vec![4, 4, 3, 3]));
    assert!(matches!(
        l.check_preceding_dims(&[4, 4, 3, 3]),
        Err(ModelError::Fold { op: Some(op), .. }) if op == "ConvTranspose"
    ));
}

/// `fold --runtime onnxruntime-cpu` claims onnxruntime's fused weights bit for bit only
/// where onnxruntime fuses: not, for instance, for a Conv output with two consumers or
/// an overridable statistic. Each
/// fixture's verdict is onnxruntime 1.32's own (tests/engine/ort_graph.py); a refusal
/// exits 2 naming the layer and the condition.
#[test]
fn fold_onnxruntime_refused_where_onnxruntime_does_not_fuse() {
    use bnbound_testkit::onnx::fusion_fixtures;
    for f in fusion_fixtures() {
        let scratch_dir = scratch();
        let p = scratch_dir.join(format!("{}.onnx", f.name));
        std::fs::write(&p, f.model.to_bytes()).unwrap();
        let (code, err) = fold_model_for(&p, "bn", &[4, 2, 3, 3], "onnxruntime-cpu");
        match f.refused {
            None => assert_eq!(code, Some(0), "{}: {err}", f.name),
            Some(why) => {
                assert_eq!(code, Some(2), "{}: {err}", f.name);
                for n in [r#"layer "bn""#, "ONNX Runtime does not fuse", why] {
                    assert!(err.contains(n), "{}: {n:?} not in {err}", f.name);
                }
            }
        }
        // The layout is checked first: a wrong one is refused as such.
        let (code, err) = fold_model(&p, "bn", &[3, 2, 3, 3]);
        assert_eq!(code, Some(2), "{}: {err}", f.name);
        assert!(err.contains("4 channels"), "{}: {err}", f.name);
    }
    // inspect reports the producer's overridable weight and the fusion verdict.
    let f = fusion_fixtures()
        .into_iter()
        .find(|f| f.name == "fusion_weight_overridable")
        .unwrap();
    let scratch_dir = scratch();
    let p = scratch_dir.join("wo.onnx");
    std::fs::write(&p, f.model.to_bytes()).unwrap();
    let o = bnbound(&["inspect", p.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let l = &v["layers"][0];
    assert_eq!(l["overridable"], false);
    assert_eq!(l["producer_weight_overridable"], true);
    assert_eq!(l["onnxruntime_fuses"], false);
    // A Gemm producer: onnxruntime's MatMul/Gemm fusion is not checked, so not claimed.
    let g1 = producer_model("Gemm", vec![("transB", 1)], Some(vec![3, 2]), 3);
    let (code, err) = fold_model_for(&g1, "bn", &[3, 2], "onnxruntime-cpu");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not a Conv"), "{err}");
}

/// An f16 graph input → Relu → BatchNormalization-15 with f32 statistics, X's type
/// declared nowhere: the type is inferred (f32 bounds for an f16 network would be
/// unsound); where it cannot be (an untyped input), deployed semantics is refused naming
/// the layer, and real semantics answers.
#[test]
fn deployed_semantics_needs_x_type() {
    use bnbound_testkit::onnx::x_type_fixtures;
    let scratch_dir = scratch();
    let box_json = scratch_dir.join("box8.json");
    std::fs::write(
        &box_json,
        r#"{"shape": [1, 8], "lo": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], "hi": [1, 1, 1, 1, 1, 1, 1, 1]}"#,
    )
    .unwrap();
    for f in x_type_fixtures() {
        let scratch_dir = scratch();
        let p = scratch_dir.join(format!("{}.onnx", f.name));
        std::fs::write(&p, f.model.to_bytes()).unwrap();
        let ibp = |semantics: &[&str]| {
            let mut args = vec![
                "ibp",
                "--model",
                p.to_str().unwrap(),
                "--layer",
                "bn",
                "--input",
                box_json.to_str().unwrap(),
            ];
            args.extend_from_slice(semantics);
            bnbound(&args)
        };
        let o = ibp(&["--semantics", "deployed", "--runtime", "onnxruntime-cpu"]);
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        match f.x_type {
            Some(10) => {
                assert_eq!(o.status.code(), Some(0), "{}: {}", f.name, stderr(&o));
                assert!(out.contains(r#""f16""#), "{}: {out}", f.name);
            }
            Some(_) => assert_eq!(o.status.code(), Some(0), "{}: {}", f.name, stderr(&o)),
            None => {
                assert_eq!(o.status.code(), Some(2), "{}", f.name);
                let e = stderr(&o);
                for n in [r#"layer "bn""#, "cannot be inferred", "--semantics real"] {
                    assert!(e.contains(n), "{}: {n:?} not in {e}", f.name);
                }
                let o = ibp(&["--semantics", "real"]);
                assert_eq!(o.status.code(), Some(0), "{}: {}", f.name, stderr(&o));
            }
        }
    }
    // f32 statistics that are not f16 values. The 16-bit recipe takes f16 statistics:
    // refused naming the layer and the cause (not the input box), real semantics answers.
    let mut f = x_type_fixtures()
        .into_iter()
        .find(|f| f.name == "xtype_relu_f16")
        .unwrap();
    for t in &mut f.model.graph.as_mut().unwrap().initializer {
        if t.name == "var" {
            t.float_data = vec![0.1; 8];
        }
    }
    let scratch_dir = scratch();
    let p = scratch_dir.join("offgrid.onnx");
    std::fs::write(&p, f.model.to_bytes()).unwrap();
    let args = |sem: &'static [&'static str]| {
        let mut a = vec![
            "ibp",
            "--model",
            p.to_str().unwrap(),
            "--layer",
            "bn",
            "--input",
            box_json.to_str().unwrap(),
        ];
        a.extend_from_slice(sem);
        bnbound(&a)
    };
    let o = args(&["--semantics", "deployed", "--runtime", "onnxruntime-cpu"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains(r#"layer "bn""#) && e.contains("not all f16 values"),
        "{e}"
    );
    assert_eq!(args(&["--semantics", "real"]).status.code(), Some(0));
}
