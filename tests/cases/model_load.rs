//! Model loading: the fixtures in tests/data (written by tests/data/gen_fixtures.py) load
//! bit for bit as the generator recorded them in expected.json; malformed and unsupported
//! models give typed errors and never panic.
#![cfg(all(feature = "onnx", feature = "safetensors"))]

use bnbound::model::Error as ModelError;
use bnbound::model::{onnx::OnnxModel, safetensors::StateDict, Eps, Format, Model, ModelLayer};
use bnbound::{AnyBatchNorm, Error, Storage};
use std::path::Path;

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The parameters of a layer as the exact f64 bits of (γ, β, μ, σ²) and ε.
fn bits(bn: &AnyBatchNorm) -> (Vec<Vec<u64>>, u64) {
    fn rows<T: bnbound::Float>(b: &bnbound::BatchNorm<T>) -> (Vec<Vec<u64>>, u64) {
        let v = |x: &[T]| x.iter().map(|y| y.to_f64_exact().to_bits()).collect();
        (
            vec![
                v(b.gamma()),
                v(b.beta()),
                v(b.running_mean()),
                v(b.running_var()),
            ],
            b.eps().to_f64_exact().to_bits(),
        )
    }
    match bn {
        AnyBatchNorm::F32(b) => rows(b),
        AnyBatchNorm::F64(b) => rows(b),
    }
}

/// The ONNX model at `path`, opened as ONNX (the library's one opener, told the format).
fn onnx_file(path: impl AsRef<Path>) -> Result<OnnxModel, ModelError> {
    match Model::open(path, &Options::default().format(Format::Onnx))? {
        Model::Onnx(m) => Ok(m),
        other => panic!("an ONNX model, not {other:?}"),
    }
}

/// An ONNX model held in memory; `base_dir` holds its external data.
fn onnx_bytes(bytes: Vec<u8>, base_dir: Option<&Path>) -> Result<OnnxModel, ModelError> {
    match Model::from_bytes(bytes, Format::Onnx, base_dir, &Options::default())? {
        Model::Onnx(m) => Ok(m),
        other => panic!("an ONNX model, not {other:?}"),
    }
}

/// A state_dict held in memory, its layers' ε `eps`.
fn state_dict_bytes(bytes: &[u8], eps: Eps) -> Result<StateDict, ModelError> {
    let o = Options::default().eps(eps);
    match Model::from_bytes(bytes.to_vec(), Format::Safetensors, None, &o)? {
        Model::Safetensors(m) => Ok(m),
        other => panic!("a state_dict, not {other:?}"),
    }
}

/// Every layer of an opened model; the first invalid one is an error.
fn load_all(m: Result<OnnxModel, ModelError>) -> Result<Vec<ModelLayer>, ModelError> {
    m?.layers().map(|(_, l)| l).collect()
}

fn load(file: &str, layer: &str) -> ModelLayer {
    if file.ends_with(".onnx") || file.ends_with(".gz") {
        // One layer at a time: other layers of the file may be invalid on purpose.
        onnx_file(data(file))
            .unwrap()
            .layer(layer)
            .unwrap_or_else(|e| panic!("{file}: layer {layer}: {e}"))
    } else {
        Model::open(data(file), &Options::default())
            .unwrap()
            .layer(layer)
            .unwrap_or_else(|e| panic!("{file}: layer {layer}: {e}"))
    }
}

#[test]
fn fixtures_load_bit_for_bit() {
    let text = std::fs::read_to_string(data("expected.json")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = expected.as_object().unwrap();
    assert_eq!(cases.len(), 19, "every fixture layer is checked");
    for (key, want) in cases {
        let (file, layer) = key.split_once('/').unwrap();
        let got = load(file, layer);
        assert_eq!(
            got.bn.dtype().name(),
            want["dtype"].as_str().unwrap(),
            "{key}"
        );
        let (params, eps) = bits(&got.bn);
        assert_eq!(eps, want["eps_bits"].as_u64().unwrap(), "{key}: eps");
        let want_params: Vec<Vec<u64>> = want["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap())
                    .collect()
            })
            .collect();
        assert_eq!(params, want_params, "{key}: parameters");
    }
}

#[test]
fn default_epsilon_is_the_f32_value() {
    let l = load("bn_f64_default_eps.onnx", "bn64");
    assert_eq!(bits(&l.bn).1, (1e-5f32 as f64).to_bits());
    assert_eq!(1e-5f32 as f64, 9.999999747378752e-06);
}

#[test]
fn chain_neighbours_are_reported() {
    let l = load("conv_bn_relu_f32.onnx", "bn1");
    assert_eq!(l.producer.as_deref(), Some("conv1"));
    assert_eq!(l.consumers, vec!["relu1".to_string()]);
    assert_eq!((l.stored_as.as_str(), l.storage), ("float", None));
    let b = load("bn_bf16.onnx", "bnbf16");
    assert_eq!(
        (b.stored_as.as_str(), b.storage),
        ("bfloat16", Some(Storage::Bf16))
    );
}

#[test]
fn unsupported_models_are_typed_errors() {
    // Every error of a layer names it; the cause is inside.
    let err = |f: &str| {
        let e = load_all(onnx_file(data(f))).unwrap_err();
        assert!(e.layer().is_some_and(|l| f.contains(&l[2..])), "{f}: {e}");
        e.inner().clone()
    };
    assert!(
        matches!(err("bn_training_mode.onnx"), ModelError::UnsupportedNode { node, reason } if node == "bntrain" && reason.contains("training_mode"))
    );
    assert!(
        matches!(err("bn_stats_as_inputs.onnx"), ModelError::UnsupportedNode { reason, .. } if reason.contains("graph input"))
    );
    assert_eq!(
        err("bn_missing_initializer.onnx"),
        ModelError::MissingTensor("bnmissing.B".into())
    );
    assert!(
        matches!(err("bn_int_stats.onnx"), ModelError::UnsupportedTensorType { tensor, dtype } if tensor == "bnint.scale" && dtype == "int64")
    );
    // External data without a directory to find it in.
    let bytes = std::fs::read(data("bn_external.onnx")).unwrap();
    let e = load_all(onnx_bytes(bytes, None)).unwrap_err();
    assert_eq!(e.layer(), Some("bnext"));
    assert!(matches!(e.inner(), ModelError::Format(_)));
    assert!(matches!(
        load_all(onnx_file(data("no_such_model.onnx"))),
        Err(ModelError::Format(_))
    ));
    let st = std::fs::read(data("state.safetensors")).unwrap();
    let e = state_dict_bytes(&st, Eps::default())
        .unwrap()
        .layer("conv")
        .unwrap_err();
    assert_eq!(e.layer(), Some("conv"));
    assert_eq!(
        e.inner(),
        &ModelError::MissingTensor("conv.running_mean".into())
    );
    let e = state_dict_bytes(&st, Eps::F64(-1.0))
        .unwrap()
        .layer("features.1")
        .unwrap_err();
    assert!(
        matches!(e.inner(), ModelError::Invalid(Error::NegativeEps(_))),
        "{e:?}"
    );
}

/// The one opener: a file opened by path, or its bytes with the format its name says and
/// its folder, gives the same layers (or the same errors) in the same order; `Auto` is
/// refused for bytes, and a format chosen against the name reads the file as that format.
#[test]
fn open_and_from_bytes_agree() {
    let o = Options::default();
    let mut files = 0;
    for entry in std::fs::read_dir(data("")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.ends_with(".onnx") || name.ends_with(".gz") || name.ends_with(".safetensors")) {
            continue;
        }
        let by_path = Model::open(&path, &o).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let format = Format::of_path(&path);
        let by_bytes = Model::from_bytes(bytes.clone(), format, Some(&data("")), &o).unwrap();
        assert_eq!(by_path.names(), by_bytes.names(), "{name}");
        let a: Vec<_> = by_path.layers().collect();
        let b: Vec<_> = by_bytes.layers().collect();
        assert_eq!(a, b, "{name}");
        assert_eq!(
            Model::from_bytes(bytes, Format::Auto, None, &o).unwrap_err(),
            ModelError::FormatNeeded
        );
        files += 1;
    }
    assert!(files >= 10, "{files} files");
    let as_st = Options::default().format(Format::Safetensors);
    let e = Model::open(data("conv_bn_relu_f32.onnx"), &as_st).unwrap_err();
    assert!(matches!(e, ModelError::Format(m) if m.contains("safetensors")));
    let as_onnx = Options::default().format(Format::Onnx);
    let e = Model::open_layer(data("state.safetensors"), "half", &as_onnx).unwrap_err();
    assert!(matches!(e, ModelError::Format(m) if m.contains("ONNX")));
}

/// Every truncation and a sweep of single-byte corruptions of every fixture: an error or
/// a valid layer, never a panic.
#[test]
fn damaged_files_never_panic() {
    let files = [
        "conv_bn_relu_f32.onnx",
        "bn_f64_default_eps.onnx",
        "bn_f16.onnx",
        "bn_bf16.onnx",
        "bn_external.onnx",
        "state.safetensors",
    ];
    for f in files {
        let bytes = std::fs::read(data(f)).unwrap();
        let try_load = |b: &[u8]| {
            if f.ends_with(".onnx") {
                let _ = load_all(onnx_bytes(b.to_vec(), Some(&data(""))));
            } else if let Ok(sd) = state_dict_bytes(b, Eps::default()) {
                for (_, l) in sd.layers() {
                    let _ = l;
                }
            }
        };
        for n in 0..bytes.len() {
            try_load(&bytes[..n]);
        }
        for i in (0..bytes.len()).step_by(3) {
            for x in [0x00u8, 0xff, 0x80, 0x01] {
                let mut b = bytes.clone();
                b[i] ^= x.max(1);
                try_load(&b);
            }
        }
    }
}

// ------------------------------------------------------- graph inputs, constants, attributes

use bnbound::model::Options;
use bnbound_testkit::onnx::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorTypeProto, TypeProto, ValueInfoProto,
};
use prost::Message;

/// FNV-1a-64 of the four statistics' exact values as little-endian f64 bytes (the digest
/// tests/data/gen_backend.py records with numpy).
fn digest(bn: &AnyBatchNorm) -> u64 {
    let (rows, _) = bits(bn);
    let mut h: u64 = 0xcbf29ce484222325;
    for b in rows.iter().flatten().flat_map(|x| x.to_le_bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    h
}

/// ONNX's own backend models (IR 3): statistics are initializers listed as graph inputs
/// (all five PyTorch-converted BatchNorm tests, 7 layers of the light ResNet-50) or
/// ConstantOfShape nodes of such a shape (its other 46 layers). Every layer loads as the
/// constants the file holds, as numpy read them (tests/data/gen_backend.py), marked
/// overridable; with strict initializers every one is refused.
#[test]
fn initializers_listed_as_inputs_are_constants() {
    let dir = data("onnx_backend");
    let text = std::fs::read_to_string(dir.join("expected.json")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = expected.as_object().unwrap();
    assert_eq!(cases.len(), 58);
    let strict = Options::default().strict_initializers(true);
    let mut resnet = 0;
    for (key, want) in cases {
        let (file, layer) = key.split_once('/').unwrap();
        let m = onnx_file(dir.join(file)).unwrap();
        let l = m.layer(layer).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(
            l.bn.channels() as u64,
            want["channels"].as_u64().unwrap(),
            "{key}"
        );
        assert_eq!(
            bits(&l.bn).1,
            want["eps_bits"].as_u64().unwrap(),
            "{key}: eps"
        );
        assert_eq!(
            digest(&l.bn),
            want["digest"].as_u64().unwrap(),
            "{key}: values"
        );
        assert_eq!(
            l.overridable,
            want["overridable"].as_bool().unwrap(),
            "{key}"
        );
        // The single-layer path reads the same.
        assert_eq!(
            Model::open_layer(dir.join(file), layer, &Options::default()).unwrap(),
            l,
            "{key}"
        );
        let e = m.clone().with_options(&strict).layer(layer).unwrap_err();
        assert!(e.to_string().contains("graph input"), "{key}: {e}");
        resnet += usize::from(file == "light_resnet50.onnx");
    }
    assert_eq!(resnet, 53, "53 of 53 layers of the light ResNet-50");
    let m = onnx_file(dir.join("light_resnet50.onnx")).unwrap();
    assert_eq!(m.layers().filter(|(_, l)| l.is_ok()).count(), 53);
}

#[test]
fn initializer_also_input_loads_unless_strict() {
    let f = data("multi_initializer_is_input.onnx");
    let m = onnx_file(&f).unwrap();
    let (good, other) = (m.layer("good").unwrap(), m.layer("other").unwrap());
    assert!(!good.overridable && other.overridable);
    let strict = Options::default().strict_initializers(true);
    let e = Model::open_layer(&f, "other", &strict).unwrap_err();
    assert!(
        matches!(e.inner(), ModelError::UnsupportedNode { node, reason } if node == "other" && reason.contains("other.B") && reason.contains("override")),
        "{e}"
    );
    assert!(!Model::open_layer(&f, "good", &strict).unwrap().overridable);
    // A graph input without an initializer has no value: still refused, strict or not.
    for o in [Options::default(), strict] {
        let e = Model::open(data("bn_stats_as_inputs.onnx"), &o)
            .unwrap()
            .layer("bninputs")
            .unwrap_err();
        assert!(
            matches!(e.inner(), ModelError::UnsupportedNode { reason, .. } if reason.contains("graph input, not an initializer")),
            "{e}"
        );
    }
}

/// A float tensor of rank 1 with the given values.
fn f32_tensor(name: &str, values: &[f32]) -> TensorProto {
    TensorProto {
        dims: vec![values.len() as i64],
        data_type: 1,
        name: name.into(),
        float_data: values.to_vec(),
        ..Default::default()
    }
}

fn i64_tensor(name: &str, values: &[i64]) -> TensorProto {
    TensorProto {
        dims: vec![values.len() as i64],
        data_type: 7,
        name: name.into(),
        int64_data: values.to_vec(),
        ..Default::default()
    }
}

fn node(op: &str, name: &str, input: &[&str], output: &[&str]) -> NodeProto {
    NodeProto {
        input: input.iter().map(|s| s.to_string()).collect(),
        output: output.iter().map(|s| s.to_string()).collect(),
        name: name.into(),
        op_type: op.into(),
        ..Default::default()
    }
}

fn tensor_attr(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        t: Some(t),
        r#type: 4,
        ..Default::default()
    }
}

/// A model with one BatchNormalization node "bn" on x (statistics s, b, m, v), the given
/// nodes before it and the given initializers; opset 15.
fn bn_graph(
    nodes: Vec<NodeProto>,
    initializer: Vec<TensorProto>,
    inputs: &[&str],
    bn_attrs: Vec<AttributeProto>,
) -> ModelProto {
    let mut bn = node(
        "BatchNormalization",
        "bn",
        &["x", "s", "b", "m", "v"],
        &["y"],
    );
    bn.attribute = bn_attrs;
    let mut node = nodes;
    node.push(bn);
    ModelProto {
        ir_version: 0,
        graph: Some(GraphProto {
            node,
            initializer,
            input: inputs
                .iter()
                .map(|n| ValueInfoProto {
                    name: n.to_string(),
                    r#type: None,
                })
                .collect(),
            ..Default::default()
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 15,
        }],
    }
}

/// Loads layer "bn"; an error must name it, and its cause is returned.
fn load_model(m: &ModelProto) -> Result<ModelLayer, ModelError> {
    onnx_bytes(m.encode_to_vec(), None)?
        .layer("bn")
        .map_err(|e| {
            assert_eq!(e.layer(), Some("bn"), "{e}");
            assert!(e.to_string().contains("\"bn\""), "{e}");
            e.inner().clone()
        })
}

/// Constant, ConstantOfShape of a constant shape (value default float 0) and Identity of
/// a constant are constants; the values are those written.
#[test]
fn constant_nodes_fold_into_constants() {
    let mut constant = node("Constant", "c", &[], &["s"]);
    constant.attribute = vec![tensor_attr("value", f32_tensor("", &[2.0, -3.0, 0.5]))];
    let mut ones = node("ConstantOfShape", "cos_v", &["shape"], &["v"]);
    ones.attribute = vec![tensor_attr("value", f32_tensor("", &[4.0]))];
    let nodes = vec![
        constant,
        node("ConstantOfShape", "cos_b", &["shape"], &["b0"]), // value: float 0
        node("Identity", "id1", &["b0"], &["b1"]),
        node("Identity", "id2", &["b1"], &["b"]),
        node("Identity", "idm", &["m0"], &["m"]),
        ones,
    ];
    let inits = vec![
        i64_tensor("shape", &[3]),
        f32_tensor("m0", &[1.0, 2.0, 3.0]),
    ];
    let l = load_model(&bn_graph(nodes.clone(), inits.clone(), &["x"], vec![])).unwrap();
    let AnyBatchNorm::F32(bn) = &l.bn else {
        panic!("f32 statistics make an f32 layer")
    };
    assert_eq!(bn.gamma(), [2.0, -3.0, 0.5]);
    assert_eq!(bn.beta(), [0.0; 3]);
    assert_eq!(bn.running_mean(), [1.0, 2.0, 3.0]);
    assert_eq!(bn.running_var(), [4.0; 3]);
    assert!(!l.overridable);
    // The shape listed as a graph input: the fills can be overridden.
    let l = load_model(&bn_graph(
        nodes.clone(),
        inits.clone(),
        &["x", "shape"],
        vec![],
    ))
    .unwrap();
    assert!(l.overridable);
    // value_floats is rank 1; value_float is rank 0 and refused.
    let mut floats = node("Constant", "c", &[], &["s"]);
    floats.attribute = vec![AttributeProto {
        name: "value_floats".into(),
        floats: vec![1.0, 1.0, 1.0],
        r#type: 6,
        ..Default::default()
    }];
    let mut n2 = nodes.clone();
    n2[0] = floats;
    assert!(load_model(&bn_graph(n2.clone(), inits.clone(), &["x"], vec![])).is_ok());
    n2[0].attribute = vec![AttributeProto {
        name: "value_float".into(),
        f: 1.0,
        r#type: 1,
        ..Default::default()
    }];
    let e = load_model(&bn_graph(n2, inits.clone(), &["x"], vec![])).unwrap_err();
    assert!(e.to_string().contains("rank 0"), "{e}");
    // Another operation is not folded.
    let mut n3 = nodes.clone();
    n3[4] = node("Relu", "relu", &["m0"], &["m"]);
    let e = load_model(&bn_graph(n3, inits, &["x"], vec![])).unwrap_err();
    assert!(
        matches!(&e, ModelError::UnsupportedNode { node, reason } if node == "bn" && reason.contains("Relu")),
        "{e}"
    );
}

/// ConstantOfShape's shape comes from the file: its count must equal the stored
/// statistics' length, and without a stored statistic it may not exceed the budget;
/// nothing is allocated from it first. A non-float value, a shape of the wrong rank and a
/// cycle of Identity nodes are typed errors.
#[test]
fn constant_of_shape_is_bounded() {
    let cos = |name: &str, out: &str| node("ConstantOfShape", name, &["shape"], &[out]);
    let stored = |n: &str| f32_tensor(n, &[1.0, 1.0, 1.0]);
    // 2^40 elements next to a stored statistic of three: a length error, no allocation.
    let m = bn_graph(
        vec![cos("huge", "v")],
        vec![
            stored("s"),
            stored("b"),
            stored("m"),
            i64_tensor("shape", &[1 << 40]),
        ],
        &["x"],
        vec![],
    );
    assert_eq!(
        load_model(&m).unwrap_err(),
        ModelError::TensorLength {
            tensor: "v".into(),
            expected: 3,
            found: 1 << 40
        }
    );
    // Every statistic a fill of 2^40: over the budget.
    let all = vec![cos("a", "s"), cos("b_", "b"), cos("c", "m"), cos("d", "v")];
    let m = bn_graph(
        all.clone(),
        vec![i64_tensor("shape", &[1 << 40])],
        &["x"],
        vec![],
    );
    let e = load_model(&m).unwrap_err();
    assert!(
        matches!(&e, ModelError::UnsupportedNode { reason, .. } if reason.contains("1099511627776")),
        "{e}"
    );
    // Within the budget they load (γ = 0, var = 0 + ε).
    let m = bn_graph(all.clone(), vec![i64_tensor("shape", &[5])], &["x"], vec![]);
    assert_eq!(load_model(&m).unwrap().bn.channels(), 5);
    // A negative length, a rank-2 shape, an int value.
    let m = bn_graph(
        all.clone(),
        vec![i64_tensor("shape", &[-1])],
        &["x"],
        vec![],
    );
    assert!(load_model(&m).unwrap_err().to_string().contains("negative"));
    let m = bn_graph(
        all.clone(),
        vec![i64_tensor("shape", &[3, 1])],
        &["x"],
        vec![],
    );
    assert!(load_model(&m).unwrap_err().to_string().contains("dims [2]"));
    let mut int_value = cos("d", "v");
    int_value.attribute = vec![tensor_attr("value", i64_tensor("", &[1]))];
    let m = bn_graph(
        vec![int_value],
        vec![
            stored("s"),
            stored("b"),
            stored("m"),
            i64_tensor("shape", &[3]),
        ],
        &["x"],
        vec![],
    );
    assert!(matches!(
        load_model(&m).unwrap_err(),
        ModelError::UnsupportedTensorType { .. }
    ));
    // A cycle of Identity nodes.
    let m = bn_graph(
        vec![
            node("Identity", "i1", &["v"], &["w"]),
            node("Identity", "i2", &["w"], &["v"]),
        ],
        vec![stored("s"), stored("b"), stored("m")],
        &["x"],
        vec![],
    );
    let e = load_model(&m).unwrap_err();
    assert!(e.to_string().contains("steps from a constant"), "{e}");
}

/// BatchNormalization-15 lets X have another type than the statistics: a declared
/// float16/bfloat16 X (graph input, value_info, or a Cast producer) makes the layer's
/// storage 16-bit even with f32 statistics; a float X keeps the statistics' storage.
#[test]
fn storage_follows_a_declared_16_bit_input() {
    let stored = |n: &str| f32_tensor(n, &[1.0, 1.0]);
    let typed = |name: &str, t: i32| ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto { elem_type: t }),
        }),
    };
    let base = || {
        bn_graph(
            vec![],
            ["s", "b", "m", "v"].map(stored).to_vec(),
            &[],
            vec![],
        )
    };
    for (x_type, want) in [
        (10, Some(Storage::F16)),
        (16, Some(Storage::Bf16)),
        (1, None),
    ] {
        let mut m = base();
        m.graph.as_mut().unwrap().input = vec![typed("x", x_type)];
        assert_eq!(load_model(&m).unwrap().storage, want, "x type {x_type}");
        // Declared in value_info instead.
        let mut m = base();
        m.graph.as_mut().unwrap().value_info = vec![typed("x", x_type)];
        assert_eq!(load_model(&m).unwrap().storage, want, "x type {x_type}");
        // The producer is a Cast to that type, nothing declared.
        let mut m = base();
        let g = m.graph.as_mut().unwrap();
        g.node[0].input[0] = "x16".into();
        let mut cast = node("Cast", "cast", &["x"], &["x16"]);
        cast.attribute = vec![AttributeProto {
            name: "to".into(),
            i: x_type as i64,
            r#type: 2,
            ..Default::default()
        }];
        g.node.insert(0, cast);
        assert_eq!(load_model(&m).unwrap().storage, want, "cast to {x_type}");
    }
    // Nothing declared: the statistics decide (f32 here).
    assert_eq!(load_model(&base()).unwrap().storage, None);
    // Double statistics (an f64 layer) keep no 16-bit storage.
    let mut m = base();
    let g = m.graph.as_mut().unwrap();
    g.input = vec![typed("x", 10)];
    g.initializer[0] = TensorProto {
        dims: vec![2],
        data_type: 11,
        name: "s".into(),
        double_data: vec![1.0, 1.0],
        ..Default::default()
    };
    let l = load_model(&m).unwrap();
    assert_eq!((l.bn.dtype(), l.storage), (bnbound::Dtype::F64, None));
}

/// Four f32 statistics of two channels as initializers.
fn plain_stats() -> Vec<TensorProto> {
    ["s", "b", "m", "v"]
        .map(|n| f32_tensor(n, &[1.0, 2.0]))
        .to_vec()
}

fn float_attr(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f,
        r#type: 1,
        ..Default::default()
    }
}

/// onnxruntime 1.32 refuses "Attribute 'epsilon' appeared multiple times" (any attribute),
/// and so does bnbound (reading the last one would bound another model).
#[test]
fn duplicated_attribute_is_refused() {
    let once = bn_graph(vec![], plain_stats(), &[], vec![float_attr("epsilon", 0.5)]);
    assert_eq!(bits(&load_model(&once).unwrap().bn).1, 0.5f64.to_bits());
    for attrs in [
        vec![float_attr("epsilon", 1e-5), float_attr("epsilon", 0.5)],
        vec![
            float_attr("momentum", 0.9),
            float_attr("epsilon", 1e-3),
            float_attr("momentum", 0.1),
        ],
    ] {
        let e = load_model(&bn_graph(vec![], plain_stats(), &[], attrs)).unwrap_err();
        assert!(
            matches!(&e, ModelError::UnsupportedNode { node, reason } if node == "bn" && reason.contains("more than once")),
            "{e}"
        );
    }
}

/// float16/bfloat16 in int32_data: onnxruntime refuses a value outside 0..=0xffff ("data
/// overflow"); bnbound kept its low 16 bits.
#[test]
fn int32_data_of_a_16_bit_tensor_with_upper_bits_is_refused() {
    for data_type in [10, 16] {
        let one = if data_type == 10 { 0x3c00 } else { 0x3f80 };
        let stats = |bad: i32| -> Vec<TensorProto> {
            ["s", "b", "m", "v"]
                .iter()
                .enumerate()
                .map(|(k, n)| TensorProto {
                    dims: vec![2],
                    data_type,
                    name: n.to_string(),
                    int32_data: vec![if k == 3 { bad } else { one }, one],
                    ..Default::default()
                })
                .collect()
        };
        let ok = load_model(&bn_graph(vec![], stats(one), &[], vec![])).unwrap();
        assert_eq!(bits(&ok.bn).0[3][0], 1.0f64.to_bits());
        for bad in [one | 0x10000, -1, i32::MIN] {
            let e = load_model(&bn_graph(vec![], stats(bad), &[], vec![])).unwrap_err();
            assert!(
                e.to_string().contains("int32_data[0]") && e.to_string().contains("\"v\""),
                "{data_type} {bad}: {e}"
            );
        }
    }
}

/// onnxruntime: "Input 1 expected to have rank 1 but has rank 0" (or 2); bnbound read the
/// values of any rank.
#[test]
fn statistics_not_of_rank_1_are_refused() {
    for dims in [vec![], vec![2, 1], vec![1, 2]] {
        let mut stats = plain_stats();
        let n = dims.iter().product::<i64>() as usize;
        stats[2] = TensorProto {
            dims: dims.clone(),
            ..f32_tensor("m", &[1.0, 2.0][..n])
        };
        let e = load_model(&bn_graph(vec![], stats, &[], vec![])).unwrap_err();
        assert!(
            matches!(&e, ModelError::UnsupportedNode { node, reason } if node == "bn" && reason.contains(&format!("rank {}", dims.len())) && reason.contains("\"m\"")),
            "{dims:?}: {e}"
        );
    }
}

/// Two different versions of the default domain: onnxruntime 1.32 follows the last one
/// listed, bnbound took the largest; the node's meaning depends on it. Refused; the same
/// version twice is not ambiguous.
#[test]
fn two_default_domain_opsets_are_refused() {
    let with = |ops: &[(&str, i64)]| {
        let mut m = bn_graph(vec![], plain_stats(), &[], vec![]);
        m.opset_import = ops
            .iter()
            .map(|&(d, v)| OperatorSetIdProto {
                domain: d.into(),
                version: v,
            })
            .collect();
        load_model(&m)
    };
    for ops in [
        &[("", 15), ("", 6)][..],
        &[("", 6), ("", 15)],
        &[("", 15), ("ai.onnx", 9)],
    ] {
        let e = with(ops).unwrap_err();
        assert!(
            matches!(&e, ModelError::UnsupportedNode { node, reason } if node == "bn" && reason.contains("ambiguous")),
            "{ops:?}: {e}"
        );
    }
    assert!(with(&[("", 15), ("ai.onnx", 15)]).is_ok());
    assert!(with(&[("", 15), ("com.microsoft", 1)]).is_ok());
}

// ------------------------------------------------------------------ graph-derived facts

use bnbound_testkit::onnx::{fusion_fixtures, x_type_fixtures};

/// The fixture models of tests/data/graph/ are the ones testkit builds (so that the engine
/// test, tests/engine/ort_graph.py, checks these very files against onnxruntime and onnx's
/// shape inference). `BNBOUND_BLESS=1` rewrites them and expected.json.
#[test]
fn graph_fixture_files_are_testkit_built() {
    let dir = data("graph");
    let mut expected = serde_json::Map::new();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for f in x_type_fixtures() {
        expected.insert(f.name.into(), serde_json::json!({ "x_type": f.x_type }));
        files.push((f.name.into(), f.model.to_bytes()));
    }
    for f in fusion_fixtures() {
        expected.insert(
            f.name.into(),
            serde_json::json!({ "fused": f.fused, "refused": f.refused }),
        );
        files.push((f.name.into(), f.model.to_bytes()));
    }
    let json = serde_json::to_string_pretty(&expected).unwrap() + "\n";
    if std::env::var_os("BNBOUND_BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &files {
            std::fs::write(dir.join(format!("{name}.onnx")), bytes).unwrap();
        }
        std::fs::write(dir.join("expected.json"), &json).unwrap();
    }
    for (name, bytes) in &files {
        let on_disk = std::fs::read(dir.join(format!("{name}.onnx"))).unwrap();
        assert!(
            &on_disk == bytes,
            "{name}.onnx differs from testkit's model"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("expected.json")).unwrap(),
        json
    );
}

/// X's element type follows from the graph when nothing declares it: an f16 graph input
/// through Relu, through Add/Reshape/Sigmoid, a Cast two nodes up (`storage: None` there
/// would claim f32 arithmetic for an f16 network). Where it cannot
/// be told (untyped input, custom op, a cycle), the layer says so at opset 15.
#[test]
fn x_type_inferred_through_the_graph() {
    for f in x_type_fixtures() {
        let m = onnx_bytes(f.model.to_bytes(), None).unwrap();
        let l = m.layer("bn").unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let want = match f.x_type {
            Some(10) => Some(Storage::F16),
            _ => None,
        };
        assert_eq!(l.storage, want, "{}", f.name);
        assert_eq!(l.x_type_known, f.x_type.is_some(), "{}", f.name);
    }
}

/// Below opset 15 BatchNormalization has one type T for X and the statistics: an unknown
/// X is the statistics' type, not an unknown.
#[test]
fn x_type_before_opset_15_is_the_statistics_type() {
    let f = x_type_fixtures()
        .into_iter()
        .find(|f| f.name == "xtype_untyped_input")
        .unwrap();
    let mut model = f.model;
    model.opset_import[0].version = 14;
    let l = onnx_bytes(model.to_bytes(), None)
        .unwrap()
        .layer("bn")
        .unwrap();
    assert!(l.x_type_known && l.storage.is_none());
}

/// A long chain of type-preserving nodes: the search stops (bounded), the type is
/// reported unknown, nothing recurses.
#[test]
fn x_type_search_is_bounded() {
    let mut f = x_type_fixtures()
        .into_iter()
        .find(|f| f.name == "xtype_relu_f16")
        .unwrap();
    let g = f.model.graph.as_mut().unwrap();
    let n = 100_000;
    g.node.retain(|n| n.op_type != "Relu");
    for k in 0..n {
        let input = if k == 0 {
            "x".to_string()
        } else {
            format!("r{k}")
        };
        let output = if k + 1 == n {
            "t".to_string()
        } else {
            format!("r{}", k + 1)
        };
        g.node.insert(
            k,
            bnbound_testkit::onnx::node("Relu", &format!("relu{k}"), &[&input], &[&output]),
        );
    }
    let l = onnx_bytes(f.model.to_bytes(), None)
        .unwrap()
        .layer("bn")
        .unwrap();
    assert!(!l.x_type_known && l.storage.is_none());
}

/// onnxruntime's ConvBNFusion conditions, read from the graph (each checked against
/// onnxruntime itself by tests/engine/ort_graph.py): a Conv producer alone does not make
/// a layer fused.
#[test]
fn onnxruntime_fusion_conditions_from_the_graph() {
    for f in fusion_fixtures() {
        assert!(f.fused || f.refused.is_some(), "{}: a false claim", f.name);
        let m = onnx_bytes(f.model.to_bytes(), None).unwrap();
        let l = m.layer("bn").unwrap_or_else(|e| panic!("{}: {e}", f.name));
        match (f.refused, &l.ort_unfused) {
            (None, None) => {}
            (Some(want), Some(got)) => assert!(got.contains(want), "{}: {got}", f.name),
            (want, got) => panic!("{}: expected {want:?}, got {got:?}", f.name),
        }
        let weight_overridable = f.name.starts_with("fusion_weight_overridable")
            || f.name.starts_with("fusion_bias_overridable");
        assert_eq!(
            l.producer_weight_overridable, weight_overridable,
            "{}",
            f.name
        );
    }
    // A Gemm or MatMul producer: bnbound does not check onnxruntime's MatMul fusion.
    let l = onnx_file(data("conv_bn_relu_f32.onnx"))
        .unwrap()
        .layer("bn1")
        .unwrap();
    assert_eq!(l.ort_unfused, None, "conv_bn_relu_f32's Conv→BN is fused");
}
