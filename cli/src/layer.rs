//! The layer a subcommand works on, loaded once (a PARAMS file is read once), and the
//! rules a model file adds: deployed semantics needs the layer's input type, and a layer
//! stored in a 16-bit type runs 16-bit arithmetic.

use crate::args::LayerSource;
use crate::files::{invalid, read, Failure};
use bnbound::model::{ModelLayer, Options};
use bnbound::{AnyBatchNorm, BatchNorm, Semantics, Storage};
use bnbound_cli::json;

/// A loaded layer.
pub(crate) enum Layer {
    /// `f32`/`f64` values (a PARAMS file, or a model layer), with what the model says.
    Plain {
        bn: AnyBatchNorm,
        model: Option<Box<ModelLayer>>,
    },
    /// Values of a 16-bit storage type held in `f32` (f16/bf16 PARAMS, or a model layer
    /// stored so): `ibp` only.
    Stored {
        bn: BatchNorm<f32>,
        storage: Storage,
        /// The model layer's name (for messages), `None` for PARAMS.
        name: Option<String>,
    },
}

/// What a subcommand does with the layer, for the model's rules.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// `ibp` in fast mode.
    FastIbp,
    /// Any other use of the layer's real or deployed semantics.
    Other,
    /// `fold` (a runtime's fusion).
    Fold,
}

impl LayerSource {
    /// The layer, and with `--model` what the model says about it.
    pub(crate) fn load(&self) -> Result<Layer, Failure> {
        match (&self.params, &self.model, &self.layer) {
            (Some(p), _, _) => {
                let text = read(p, "params")?;
                if let Some(storage) = json::stored_dtype(&text) {
                    let bn = json::parse_stored_params(&text, storage).map_err(invalid(p))?;
                    return Ok(Layer::Stored {
                        bn,
                        storage,
                        name: None,
                    });
                }
                let bn = json::parse_params(&text).map_err(invalid(p))?;
                Ok(Layer::Plain { bn, model: None })
            }
            (None, Some(m), Some(name)) => {
                let eps = crate::models::check_model_path(m, &self.eps)?;
                let options = Options::default()
                    .strict_initializers(self.strict_initializers)
                    .eps(eps);
                let l = bnbound::model::Model::open_layer(m, name, &options).map_err(invalid(m))?;
                Ok(Layer::Plain {
                    bn: l.bn.clone(),
                    model: Some(Box::new(l)),
                })
            }
            // clap enforces --params or --model with --layer.
            _ => Err(Failure::Invalid(
                "give --params, or --model with --layer".into(),
            )),
        }
    }
}

impl Layer {
    /// The layer as the subcommand may use it under `semantics`: a model layer stored in
    /// a 16-bit type becomes [`Layer::Stored`] for deployed `ibp` (its 16-bit recipe,
    /// never the `f32` one) and is refused for other deployed uses; deployed semantics
    /// needs the input's element type; PARAMS of a storage type serve `ibp` only.
    pub(crate) fn for_use(self, semantics: Semantics, usage: Use) -> Result<Layer, Failure> {
        let deployed = semantics != Semantics::Real || usage == Use::Fold;
        let (bn, model) = match self {
            Layer::Stored {
                ref name, storage, ..
            } => {
                return if usage == Use::FastIbp {
                    Ok(self)
                } else {
                    Err(Failure::Invalid(format!(
                        "{}dtype {} is supported by ibp (fast mode, real or deployed semantics)",
                        name.as_ref()
                            .map(|n| format!("layer {:?}: ", json::short(n)))
                            .unwrap_or_default(),
                        storage.name()
                    )))
                };
            }
            Layer::Plain { bn, model: None } => return Ok(Layer::Plain { bn, model: None }),
            Layer::Plain {
                bn,
                model: Some(model),
            } => (bn, model),
        };
        let name = json::short(&model.name);
        if deployed && usage != Use::Fold && !model.x_type_known {
            return Err(Failure::Invalid(format!(
                "layer {name:?}: the element type of the layer's input is not declared and \
                 cannot be inferred (BatchNormalization-15 lets it differ from the \
                 statistics'), so the deployed arithmetic is unknown; declare it with \
                 value_info or use --semantics real"
            )));
        }
        let Some(storage) = model.storage else {
            return Ok(Layer::Plain {
                bn,
                model: Some(model),
            });
        };
        if !deployed {
            // Real semantics: the f32 layer of the same values.
            return Ok(Layer::Plain {
                bn,
                model: Some(model),
            });
        }
        let bn = match bn {
            AnyBatchNorm::F32(bn) => bn,
            AnyBatchNorm::F64(_) => {
                let e = bnbound::Error::StoredLayerNotF32(storage.name());
                return Err(Failure::Invalid(format!("layer {name:?}: {e}")));
            }
        };
        let s = storage.name();
        match usage {
            Use::Fold => Err(Failure::Invalid(format!(
                "layer {name:?} is stored as {s}: {} does not fold 16-bit layers \
                 (its Conv→BatchNorm fusion takes float and double only)",
                match semantics {
                    Semantics::Deployed(rt) => rt.name(),
                    Semantics::Real => "the runtime",
                }
            ))),
            Use::Other => Err(Failure::Invalid(format!(
                "layer {name:?} is stored as {s}: deployed semantics of 16-bit arithmetic \
                 is replayed for ibp (fast mode); use --semantics real for this command"
            ))),
            Use::FastIbp => {
                // BatchNormalization-15 with a 16-bit X and f32 statistics that are not
                // values of X's type: the 16-bit recipe takes storage-type statistics.
                let off_grid = [bn.gamma(), bn.beta(), bn.running_mean(), bn.running_var()]
                    .iter()
                    .any(|v| v.iter().any(|&x| !storage.holds(x)));
                if off_grid {
                    return Err(Failure::Invalid(format!(
                        "layer {name:?}: its input is {s} and its statistics are f32 values \
                         that are not all {s} values (BatchNormalization-15 with mixed \
                         types): deployed {s} arithmetic with such statistics is not \
                         replayed; use --semantics real"
                    )));
                }
                Ok(Layer::Stored {
                    bn,
                    storage,
                    name: Some(model.name.clone()),
                })
            }
        }
    }
}
