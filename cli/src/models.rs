//! Layers from model files: ε for state_dicts, opening a model by path (I/O failures are
//! status 1, invalid models status 2), one layer for `--model/--layer`, and `inspect`.

use crate::args::{EpsArgs, LayerSource};
use crate::files::{invalid, write_to, Failure};
use bnbound::model::{Eps, Format, Model, ModelLayer, Options, Summary};
use bnbound::Storage;
use bnbound_cli::json;
use std::path::Path;

impl EpsArgs {
    /// The ε to use for a safetensors file; an error for an ONNX model given --eps.
    pub(crate) fn resolve(&self, onnx: bool) -> Result<Eps, Failure> {
        let bad = |m: String| Failure::Invalid(m);
        if onnx {
            return match self.eps {
                Some(_) => Err(bad(
                    "--eps applies to safetensors files; ONNX models carry epsilon".into(),
                )),
                None => Ok(Eps::default()),
            };
        }
        let dtype: bnbound::Dtype = self
            .eps_dtype
            .parse()
            .map_err(|e: bnbound::Error| bad(e.to_string()))?;
        let text = self.eps.as_deref().unwrap_or("1e-5");
        let bad_eps = |why: &str| bad(format!("--eps {:?} {why}", json::short(text)));
        // ε is a Python float (an f64 read from the decimal) that PyTorch converts to the
        // kernel's type with (float)eps, i.e. round to nearest.
        // Read like every number of the contract (exactly, then to nearest f64).
        let x = bnbound_cli::json::read_number(
            text.trim(),
            bnbound::exact::Format::F64,
            bnbound_cli::json::Rule::Nearest,
        )
        .map_err(|e| bad_eps(&format!("is not a number ({e})")))?;
        let e = match dtype {
            bnbound::Dtype::F32 => Eps::F32(x as f32),
            bnbound::Dtype::F64 => Eps::F64(x),
        };
        let v = e.value();
        if x.is_nan() || v.is_infinite() || x < 0.0 {
            return Err(bad_eps(&format!(
                "is not a finite non-negative {dtype} number"
            )));
        }
        if v == 0.0 && !json::is_zero_decimal(text) {
            return Err(bad_eps(&format!(
                "underflows to 0 in {dtype}: a nonzero epsilon would silently become 0"
            )));
        }
        Ok(e)
    }
}

/// Opens and indexes the model at `path` (by name: `.onnx`/`.onnx.gz`, else safetensors).
/// A path that cannot be read or is not a regular file is an I/O failure (status 1); a
/// file that is not a valid model is invalid input (status 2).
fn open_model(path: &Path, eps: &EpsArgs, options: &Options) -> Result<Model, Failure> {
    let eps = check_model_path(path, eps)?;
    Model::open(path, &options.eps(eps)).map_err(invalid(path))
}

/// The ε for the model at `path`, after checking that the path is a readable regular file
/// (else status 1).
pub(crate) fn check_model_path(path: &Path, eps: &EpsArgs) -> Result<Eps, Failure> {
    let eps = eps.resolve(Format::of_path(path) == Format::Onnx)?;
    let other =
        |m: String| Failure::Other(format!("cannot read model file {}: {m}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| other(e.to_string()))?;
    if !meta.is_file() {
        return Err(other("not a regular file (a folder or a device)".into()));
    }
    std::fs::File::open(path).map_err(|e| other(e.to_string()))?;
    Ok(eps)
}

/// `fold --model`: the preceding layer (weight dims `[O, I, k…]`) must be the layer's
/// producer as the model stores it ([`ModelLayer::check_preceding_dims`]), else folding
/// would scale the wrong axis; the error names the layer, the producer's op type and the
/// channel count.
///
/// With `--runtime onnxruntime-cpu`, the fold claims onnxruntime's fused weights: refused
/// (naming the layer and the condition) where the graph breaks a condition of its
/// ConvBNFusion ([`ModelLayer::ort_unfused`]), since onnxruntime then computes the
/// BatchNorm separately.
pub(crate) fn check_fold(
    layer: &ModelLayer,
    dims: &[usize],
    source: &LayerSource,
    runtime: bnbound::Runtime,
) -> Result<(), Failure> {
    let model = source.model.as_deref().unwrap_or(Path::new("model"));
    layer.check_preceding_dims(dims).map_err(invalid(model))?;
    match (runtime, &layer.ort_unfused) {
        (bnbound::Runtime::OnnxruntimeCpu, Some(why)) => Err(Failure::Invalid(format!(
            "layer {:?}: ONNX Runtime does not fuse this Conv→BatchNormalization (or bnbound \
             cannot confirm that it does): {why}; the deployed network computes the \
             BatchNorm separately — use ibp --semantics deployed",
            json::short(&layer.name)
        ))),
        _ => Ok(()),
    }
}

/// The `inspect` report: one JSON object per layer; a layer that cannot be loaded has its
/// name and an `"error"` field instead of a summary. `"overridable"`: a statistic is an
/// initializer also listed as a graph input (read as the file's constant unless `strict`);
/// `"producer_weight_overridable"`: the same for the producer's weight or bias.
/// `"onnxruntime_unfused"`: why onnxruntime's Conv→BatchNorm fusion does not apply.
pub(crate) fn inspect(
    path: &Path,
    prefix: Option<&str>,
    strict: bool,
    eps: &EpsArgs,
) -> Result<(), Failure> {
    let options = Options::default().strict_initializers(strict);
    let model = open_model(path, eps, &options)?;
    let names: Vec<&str> = match prefix {
        Some(p) => vec![p],
        None => model.names(),
    };
    let num = |x: f64| {
        if x.is_finite() {
            serde_json::json!(x)
        } else if x > 0.0 {
            serde_json::json!("inf")
        } else {
            serde_json::json!("-inf")
        }
    };
    let mut rows = Vec::with_capacity(names.len());
    for &name in &names {
        rows.push(match model.layer(name) {
            // The one layer asked for with --prefix must load.
            Err(e) if prefix.is_some() => return Err(invalid(path)(e)),
            Ok(l) => {
                let s = Summary::of(&l.bn);
                serde_json::json!({
                    "name": l.name,
                    "channels": s.channels,
                    "dtype": s.dtype.name(),
                    "stored_as": l.stored_as,
                    "storage": l.storage.map(Storage::name),
                    "eps": num(s.eps),
                    "scale_min": num(s.scale_min),
                    "scale_max": num(s.scale_max),
                    "zero_gamma": s.zero_gamma,
                    "tiny_denominator": s.tiny_denominator,
                    "overridable": l.overridable,
                    "producer_weight_overridable": l.producer_weight_overridable,
                    "x_type_known": l.x_type_known,
                    "onnxruntime_fuses": l.ort_unfused.is_none(),
                    "onnxruntime_unfused": l.ort_unfused,
                    "producer": l.producer,
                    "producer_op": l.producer_op.as_ref().map(|o| o.op_type()),
                    "consumers": l.consumers,
                })
            }
            Err(e) => serde_json::json!({ "name": name, "error": e.to_string() }),
        });
    }
    write_to(None, |w| {
        serde_json::to_writer_pretty(&mut *w, &serde_json::json!({ "layers": rows }))?;
        writeln!(w)
    })
}
