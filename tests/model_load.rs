//! Model loading: the fixtures in tests/data (written by tests/data/gen_fixtures.py) load
//! bit for bit as the generator recorded them in expected.json; malformed and unsupported
//! models give typed errors and never panic.
#![cfg(all(feature = "onnx", feature = "safetensors"))]

use bnbound::model::Error as ModelError;
use bnbound::model::{onnx, onnx::OnnxModel, safetensors, ModelLayer};
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

fn load(file: &str, layer: &str) -> ModelLayer {
    if file.ends_with(".onnx") || file.ends_with(".gz") {
        // One layer at a time: other layers of the file may be invalid on purpose.
        OnnxModel::open(data(file))
            .unwrap()
            .layer(layer)
            .unwrap_or_else(|e| panic!("{file}: layer {layer}: {e}"))
    } else {
        let layers =
            safetensors::load_file(data(file), Some(layer), safetensors::Eps::default()).unwrap();
        layers
            .into_iter()
            .find(|l| l.name == layer)
            .unwrap_or_else(|| panic!("{file}: no layer {layer}"))
    }
}

#[test]
fn fixtures_load_bit_for_bit() {
    let text = std::fs::read_to_string(data("expected.json")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = expected.as_object().unwrap();
    assert_eq!(cases.len(), 18, "every fixture layer is checked");
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
    let err = |f: &str| onnx::load_file(data(f)).unwrap_err();
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
    assert!(matches!(
        onnx::load_bytes(&bytes, None),
        Err(ModelError::Format(_))
    ));
    assert!(matches!(
        onnx::load_file(data("no_such_model.onnx")),
        Err(ModelError::Format(_))
    ));
    let st = std::fs::read(data("state.safetensors")).unwrap();
    let e = safetensors::load_bytes(&st, "conv", safetensors::Eps::default()).unwrap_err();
    assert_eq!(e, ModelError::MissingTensor("conv.running_mean".into()));
    let e = safetensors::load_bytes(&st, "features.1", safetensors::Eps::F64(-1.0)).unwrap_err();
    assert!(
        matches!(e, ModelError::Invalid(Error::NegativeEps(_))),
        "{e:?}"
    );
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
                let _ = onnx::load_bytes(b, Some(&data("")));
            } else if let Ok(p) = safetensors::prefixes(b) {
                for prefix in p {
                    let _ = safetensors::load_bytes(b, &prefix, safetensors::Eps::default());
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
