//! The file harnesses: the CLI's JSON parsers and the model loaders on hostile bytes,
//! generated ONNX graphs, and model folders with links that lead outside.

use super::value;
use crate::onnx::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, ValueInfoProto,
};
use arbitrary::Unstructured;
use bnbound::model::{Eps, Format, Model, Options};
use bnbound::{BatchNorm, Float};
/// `parse_no_panic`: arbitrary bytes through the CLI's parsers give a value or a typed
/// error, never a panic. Inputs are bounded by the fuzzer's maximum length.
pub fn parse_no_panic(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = bnbound_cli::json::parse_params(text);
    let _ = bnbound_cli::json::parse_box::<f32>(text);
    let _ = bnbound_cli::json::parse_box::<f64>(text);
    let _ = bnbound_cli::json::parse_output_box::<f64>(text);
    let _ = bnbound_cli::json::parse_form::<f32>(text, bnbound_cli::json::FormKind::Affine);
    let _ = bnbound_cli::json::parse_form::<f64>(text, bnbound_cli::json::FormKind::Linear);
}

/// `model_no_panic`: arbitrary bytes through the ONNX and safetensors loaders give layers
/// or typed errors, never a panic. The first byte chooses the loader; every layer is
/// loaded on its own, and loaded layers are enclosed and summarised (valid parameters must
/// not panic there either).
pub fn model_no_panic(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    // External data is looked up nowhere (no folder): a relative path must not reach the
    // disk.
    let (format, options) = if which % 2 == 0 {
        (Format::Onnx, Options::default())
    } else {
        let eps = Eps::F32(f32::from_bits(u32::from(which) << 20));
        (Format::Safetensors, Options::default().eps(eps))
    };
    let layers: Vec<bnbound::model::ModelLayer> =
        match Model::from_bytes(bytes.to_vec(), format, None, &options) {
            Ok(m) => m.layers().filter_map(|(_, l)| l.ok()).collect(),
            Err(_) => Vec::new(),
        };
    for l in layers {
        summarise(&l);
    }
}

fn summarise(l: &bnbound::model::ModelLayer) {
    let s = bnbound::model::Summary::of(&l.bn);
    assert_eq!(s.channels, l.bn.channels());
    assert!(s.scale_min <= s.scale_max);
}

/// The exact values of every parameter vector of a layer, as `f64` bits.
fn layer_vectors(bn: &bnbound::AnyBatchNorm) -> Vec<Vec<u64>> {
    fn rows<T: Float>(b: &BatchNorm<T>) -> Vec<Vec<u64>> {
        [b.gamma(), b.beta(), b.running_mean(), b.running_var()]
            .iter()
            .map(|v| v.iter().map(|x| x.to_f64_exact().to_bits()).collect())
            .collect()
    }
    match bn {
        bnbound::AnyBatchNorm::F32(b) => rows(b),
        bnbound::AnyBatchNorm::F64(b) => rows(b),
    }
}

/// A valid-looking ONNX model built from the fuzzer's bytes: nodes (many BatchNorms,
/// shared and duplicate names, training attributes of every type), initializers of every
/// storage (raw, typed, external with hostile locations, offsets and lengths), graph
/// inputs, an opset. `vectors` holds every initializer's values exactly (as `f64` bits):
/// a loaded layer's parameters must be among them (or γ = 1 / β = 0 never occur here).
struct GraphSpec {
    bytes: Vec<u8>,
    vectors: Vec<Vec<u64>>,
    /// The graph has a ConstantOfShape node: a statistic may then also be a fill of its
    /// default value +0.0 (no value attribute is generated), at most 2^20 long.
    fills: bool,
    /// External data files to write next to the model: (relative name, contents).
    files: Vec<(&'static str, Vec<u8>)>,
}

/// Values written outside the model's folder; no loaded layer may contain them.
const SECRET: f32 = 7777.25;

/// One initializer of `graph_spec`: stored as raw data, typed data or external data (in
/// `file`, with hostile locations, offsets and lengths sometimes); its exact values are
/// pushed to `vectors`.
fn init_tensor(
    u: &mut Unstructured<'_>,
    name: &str,
    data_type: i32,
    dims: Vec<i64>,
    values: Vec<f32>,
    file: &mut Vec<u8>,
    vectors: &mut Vec<Vec<u64>>,
) -> Option<TensorProto> {
    const LOCATIONS: [&str; 8] = [
        "w.data",
        "w.data",
        "sub/w.data",
        "../w.data",
        "/etc/hostname",
        "ln/w.data",
        "lnk.data",
        "",
    ];
    let values: Vec<f32> = values
        .into_iter()
        .map(|x| if x == SECRET { 0.0 } else { x })
        .collect();
    let mut t = TensorProto {
        dims,
        data_type,
        name: name.to_string(),
        ..Default::default()
    };
    let raw: Vec<u8> = match data_type {
        11 => values
            .iter()
            .flat_map(|&x| (x as f64).to_le_bytes())
            .collect(),
        10 => values
            .iter()
            .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
            .collect(),
        16 => values
            .iter()
            .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
            .collect(),
        _ => values.iter().flat_map(|&x| x.to_le_bytes()).collect(),
    };
    // The exact values a correct loader reads back.
    vectors.push(match data_type {
        10 => values
            .iter()
            .map(|&x| half::f16::from_f32(x).to_f64().to_bits())
            .collect(),
        16 => values
            .iter()
            .map(|&x| half::bf16::from_f32(x).to_f64().to_bits())
            .collect(),
        _ => values.iter().map(|&x| (x as f64).to_bits()).collect(),
    });
    match u.int_in_range(0..=3u8).ok()? {
        0 if data_type == 1 => t.float_data = values,
        1 => {
            let offset = file.len();
            file.extend_from_slice(&raw);
            let mut kv = vec![("location", u.choose(&LOCATIONS).ok()?.to_string())];
            match u.int_in_range(0..=5u8).ok()? {
                0 => kv.push(("offset", "18446744073709551615".to_string())),
                1 => kv.push(("length", "-1".to_string())),
                2 => kv.push(("length", (raw.len() + 1).to_string())),
                _ => {
                    kv.push(("offset", offset.to_string()));
                    kv.push(("length", raw.len().to_string()));
                }
            }
            t.external_data = kv
                .into_iter()
                .map(|(k, v)| StringStringEntryProto {
                    key: k.to_string(),
                    value: v,
                })
                .collect();
            t.data_location = 1;
        }
        _ => t.raw_data = raw.into(),
    }
    Some(t)
}

fn graph_spec(u: &mut Unstructured<'_>) -> Option<GraphSpec> {
    use prost::Message;
    const TENSORS: [&str; 10] = ["x", "y", "s", "b", "m", "v", "t0", "t1", "", "z"];
    const NODES: [&str; 6] = ["bn", "bn2", "", "conv", "x", "y"];
    const OPS: [&str; 8] = [
        "BatchNormalization",
        "BatchNormalization",
        "BatchNormalization",
        "Relu",
        "Constant",
        "Conv",
        "Identity",
        "ConstantOfShape",
    ];
    const ATTRS: [&str; 6] = [
        "epsilon",
        "training_mode",
        "is_test",
        "spatial",
        "momentum",
        "foo",
    ];
    let name = |u: &mut Unstructured<'_>, pool: &[&str]| -> Option<String> {
        Some(u.choose(pool).ok()?.to_string())
    };
    let mut nodes = Vec::new();
    for _ in 0..u.int_in_range(0..=12u8).ok()? {
        let mut attribute = Vec::new();
        for _ in 0..u.int_in_range(0..=3u8).ok()? {
            attribute.push(AttributeProto {
                name: name(u, &ATTRS)?,
                f: u.arbitrary().ok()?,
                i: *u.choose(&[0i64, 0, 1, 1, -1, 2, i64::MAX]).ok()?,
                r#type: *u.choose(&[0, 1, 2, 2, 3, 7]).ok()?,
                ..Default::default()
            });
        }
        let node = NodeProto {
            input: (0..u.int_in_range(0..=7u8).ok()?)
                .map(|_| name(u, &TENSORS))
                .collect::<Option<_>>()?,
            output: (0..u.int_in_range(0..=5u8).ok()?)
                .map(|_| name(u, &TENSORS))
                .collect::<Option<_>>()?,
            name: name(u, &NODES)?,
            op_type: name(u, &OPS)?,
            attribute,
            domain: String::new(),
        };
        nodes.push(node);
    }
    let mut vectors = Vec::new();
    let mut file = Vec::new();
    let mut initializer = Vec::new();
    // Well-formed BatchNorm blocks (so that many layers do load), named "k0.s", ... .
    const BLOCKS: [[&str; 4]; 3] = [
        ["k0.s", "k0.b", "k0.m", "k0.v"],
        ["k1.s", "k1.b", "k1.m", "k1.v"],
        ["k2.s", "k2.b", "k2.m", "k2.v"],
    ];
    for stats in BLOCKS.iter().take(u.int_in_range(0..=3usize).ok()?) {
        let n = u.int_in_range(1..=4usize).ok()?;
        let data_type = *u.choose(&[1, 1, 11, 10, 16]).ok()?;
        for (k, stat) in stats.iter().enumerate() {
            let values: Vec<f32> = (0..n)
                .map(|_| value::<f32>(u))
                .map(|x| if k == 3 { x.abs() + 1.0 } else { x })
                .collect();
            let dims = vec![n as i64];
            initializer.push(init_tensor(
                u,
                stat,
                data_type,
                dims,
                values,
                &mut file,
                &mut vectors,
            )?);
        }
        let mut attribute = Vec::new();
        if u.ratio(1u8, 2).ok()? {
            attribute.push(AttributeProto {
                name: "epsilon".into(),
                f: 1e-5,
                i: 0,
                r#type: 1,
                ..Default::default()
            });
        }
        let node = NodeProto {
            input: ["x", stats[0], stats[1], stats[2], stats[3]]
                .map(String::from)
                .to_vec(),
            output: vec![name(u, &TENSORS)?],
            name: name(u, &NODES)?,
            op_type: "BatchNormalization".into(),
            attribute,
            domain: String::new(),
        };
        let at = u.int_in_range(0..=nodes.len()).ok()?;
        nodes.insert(at, node);
    }
    for _ in 0..u.int_in_range(0..=10u8).ok()? {
        let data_type = *u.choose(&[1, 1, 1, 11, 10, 16, 7]).ok()?;
        let n = u.int_in_range(0..=5usize).ok()?;
        let dims: Vec<i64> = match u.int_in_range(0..=9u8).ok()? {
            0 => vec![-1],
            1 => vec![i64::MAX, 2],
            2 => vec![],
            _ => vec![n as i64],
        };
        let values: Vec<f32> = (0..n).map(|_| value(u)).collect();
        let stat = name(u, &TENSORS)?;
        initializer.push(init_tensor(
            u,
            &stat,
            data_type,
            dims,
            values,
            &mut file,
            &mut vectors,
        )?);
    }
    // Shapes for ConstantOfShape (statistics computed from constants), with counts a
    // loader must never allocate before checking: huge, negative, over the budget.
    for _ in 0..u.int_in_range(0..=2u8).ok()? {
        const COUNTS: [i64; 8] = [0, 1, 2, 3, 4, (1 << 20) + 1, 1 << 40, -1];
        let count = *u.choose(&COUNTS).ok()?;
        let dims = match u.int_in_range(0..=5u8).ok()? {
            0 => vec![],
            1 => vec![1, 1],
            _ => vec![1],
        };
        initializer.push(TensorProto {
            dims,
            data_type: 7,
            name: name(u, &TENSORS)?,
            int64_data: vec![count],
            ..Default::default()
        });
    }
    let fills = nodes.iter().any(|n| n.op_type == "ConstantOfShape");
    let input = (0..u.int_in_range(0..=2u8).ok()?)
        .map(|_| {
            Some(ValueInfoProto {
                name: name(u, &TENSORS)?,
                r#type: None,
            })
        })
        .collect::<Option<_>>()?;
    let opset_import = match u.int_in_range(0..=20i64).ok()? {
        0 => Vec::new(),
        v => vec![OperatorSetIdProto {
            domain: String::new(),
            version: v,
        }],
    };
    let model = ModelProto {
        ir_version: 0,
        graph: Some(GraphProto {
            node: nodes,
            initializer,
            input,
            ..Default::default()
        }),
        opset_import,
    };
    let mut bytes = model.encode_to_vec();
    if u.ratio(1u8, 8).ok()? {
        // Compressed, as VNN-COMP ships models.
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).ok()?;
        bytes = gz.finish().ok()?;
    }
    Some(GraphSpec {
        bytes,
        vectors,
        fills,
        files: vec![("w.data", file.clone()), ("sub/w.data", file)],
    })
}

/// Checks every layer of a model built from `spec`: loaded or a typed error, and a loaded
/// layer's parameter vectors are initializers of the spec (never bytes from elsewhere).
fn check_graph_layers(spec: &GraphSpec, model: &Model) {
    let names: Vec<&str> = model.names();
    for (name, l) in model.layers() {
        assert!(names.contains(&name));
        if let Ok(l) = l {
            summarise(&l);
            for v in layer_vectors(&l.bn).iter() {
                // f16/bf16/f32 statistics may be widened to an f64 layer: compare values.
                let fill = spec.fills && v.len() <= 1 << 20 && v.iter().all(|&b| b == 0);
                assert!(
                    spec.vectors.contains(v) || fill,
                    "layer {name}: parameters {v:?} are not an initializer of the model"
                );
                assert!(
                    !v.contains(&(SECRET as f64).to_bits()),
                    "layer {name} read data from outside the model's folder"
                );
            }
        }
    }
}

/// `model_graph_no_panic`: valid-looking ONNX graphs (many nodes, shared and duplicate
/// names, training attributes, initializers stored every way) load layer by layer into
/// layers whose parameters are the model's initializers, or typed errors; never a panic.
/// External data has no folder here (it must be refused, not looked up).
pub fn model_graph_no_panic(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Some(spec) = graph_spec(&mut u) else {
        return;
    };
    let options = Options::default();
    if let Ok(m) = Model::from_bytes(spec.bytes.clone(), Format::Onnx, None, &options) {
        check_graph_layers(&spec, &m);
    }
}

/// `model_files_no_escape`: the CLI's file paths. A generated model is written into a
/// folder with its external data, a symlinked folder and a symlinked file that lead to a
/// folder outside holding `SECRET` values, then opened by path ([`bnbound::model::Model::open`])
/// and every layer loaded: typed errors or the model's own initializers, never a panic and
/// never a value from outside the folder.
pub fn model_files_no_escape(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Some(spec) = graph_spec(&mut u) else {
        return;
    };
    let root = std::env::temp_dir().join(format!("bnbound-fuzz-files-{}", std::process::id()));
    let (inside, outside) = (root.join("model"), root.join("outside"));
    let _ = std::fs::remove_dir_all(&root);
    let setup = || -> std::io::Result<()> {
        std::fs::create_dir_all(inside.join("sub"))?;
        std::fs::create_dir_all(&outside)?;
        let secret: Vec<u8> = std::iter::repeat_n(SECRET.to_le_bytes(), 1024)
            .flatten()
            .collect();
        std::fs::write(outside.join("w.data"), &secret)?;
        std::fs::write(root.join("w.data"), &secret)?;
        for (name, bytes) in &spec.files {
            std::fs::write(inside.join(name), bytes)?;
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&outside, inside.join("ln"))?;
            std::os::unix::fs::symlink(outside.join("w.data"), inside.join("lnk.data"))?;
        }
        std::fs::write(inside.join("model.onnx"), &spec.bytes)
    };
    if setup().is_err() {
        let _ = std::fs::remove_dir_all(&root);
        return;
    }
    if let Ok(m) = Model::open(inside.join("model.onnx"), &Options::default()) {
        check_graph_layers(&spec, &m);
    }
    let _ = std::fs::remove_dir_all(&root);
}
