//! One channel's parameters as exact `f64` values: every layer above reads them by name.

/// A channel's `(γ, β, μ, σ², ε)`, each an `f64` holding the stored float exactly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Params {
    /// γ.
    pub(crate) gamma: f64,
    /// β.
    pub(crate) beta: f64,
    /// μ (the running mean).
    pub(crate) mean: f64,
    /// σ² (the running variance).
    pub(crate) var: f64,
    /// ε.
    pub(crate) eps: f64,
}

impl Params {
    /// From `[γ, β, μ, σ², ε]`.
    pub(crate) fn from_array([gamma, beta, mean, var, eps]: [f64; 5]) -> Params {
        Params {
            gamma,
            beta,
            mean,
            var,
            eps,
        }
    }

    /// `[γ, β, μ, σ², ε]`, to map a function over them.
    pub(crate) fn array(self) -> [f64; 5] {
        [self.gamma, self.beta, self.mean, self.var, self.eps]
    }

    /// The scale-only map `x ↦ s·x` of the same channel (`β = μ = 0`).
    pub(crate) fn scale_only(self) -> Params {
        Params {
            beta: 0.0,
            mean: 0.0,
            ..self
        }
    }
}
