//! One module per subcommand family: each loads the layer once, builds the library's
//! [`bnbound::Bounds`] (or checker) once, converts documents, calls, and maps errors.

pub(crate) mod boxes;
pub(crate) mod check;
pub(crate) mod fold;
pub(crate) mod forms;

use crate::files::Failure;

/// A library error about the request itself (mode, semantics), not about a document.
pub(crate) fn request(e: bnbound::Error) -> Failure {
    Failure::Invalid(e.to_string())
}

/// Runs `$body` with `$bn` bound to the layer's `BatchNorm<f32>` or `BatchNorm<f64>`.
macro_rules! typed {
    ($any:expr, $bn:ident => $body:expr) => {
        match $any {
            bnbound::AnyBatchNorm::F32($bn) => $body,
            bnbound::AnyBatchNorm::F64($bn) => $body,
        }
    };
}
pub(crate) use typed;
