//! Named cases of the library: hard cases checked against the exact rational oracle, every
//! error path, model loading from the fixtures in `tests/data/`, the f32 tightness
//! measurement, and the committed fuzz corpora replayed through their harnesses. The
//! property tests are in `tests/props/`.

mod affine_hard;
mod f32_tightness;
mod fuzz_corpus;
mod ibp_errors;
mod ibp_hard;
mod layering;
mod model_load;
