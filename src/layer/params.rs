//! BatchNorm parameters, validated.

use crate::error::{Error, Field, Result};
use crate::num::float::{Dtype, Float};

/// The frozen parameters of one inference-time BatchNorm layer over `C` channels:
/// `y_c = γ_c (x − μ_c) / √(σ²_c + ε) + β_c`.
///
/// The values are stored exactly as given; bnbound encloses the real-number function of
/// these float values (not of any decimal they were printed from). A `BatchNorm` can only
/// be built through [`BatchNorm::new`], so every instance satisfies: `C ≥ 1`, all vectors of
/// length `C`, every value finite, `σ²_c ≥ 0` (`−0.0` allowed), `ε ≥ 0` and
/// `σ²_c + ε > 0` exactly.
///
/// ```
/// use bnbound::BatchNorm;
/// let bn = BatchNorm::new(vec![1.0f32, -2.0], vec![0.0, 0.5], vec![0.1, 0.2], vec![1.0, 4.0], 1e-5)?;
/// assert_eq!(bn.channels(), 2);
/// assert!(BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![-1.0], 1e-5).is_err());
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm<T: Float> {
    gamma: Vec<T>,
    beta: Vec<T>,
    running_mean: Vec<T>,
    running_var: Vec<T>,
    eps: T,
}

impl<T: Float> BatchNorm<T> {
    /// Validates and builds a layer from γ (`weight`), β (`bias`), the running mean and
    /// variance, and ε.
    ///
    /// Errors: [`Error::NoChannels`], [`Error::ParamLength`], [`Error::NonFiniteParam`]
    /// (NaN or ±∞ anywhere), [`Error::NegativeVariance`], [`Error::NegativeEps`],
    /// [`Error::ZeroDenominator`] (`σ² + ε = 0`). Nothing is clamped.
    ///
    /// ```
    /// use bnbound::{BatchNorm, Error};
    /// let e = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![0.0], 0.0).unwrap_err();
    /// assert_eq!(e, Error::ZeroDenominator { channel: 0 });
    /// ```
    pub fn new(
        gamma: Vec<T>,
        beta: Vec<T>,
        running_mean: Vec<T>,
        running_var: Vec<T>,
        eps: T,
    ) -> Result<Self> {
        let _env = crate::num::round::env::enter();
        let c = gamma.len();
        if c == 0 {
            return Err(Error::NoChannels);
        }
        for (field, v) in [
            (Field::Beta, &beta),
            (Field::RunningMean, &running_mean),
            (Field::RunningVar, &running_var),
        ] {
            if v.len() != c {
                return Err(Error::ParamLength {
                    field,
                    expected: c,
                    found: v.len(),
                });
            }
        }
        for (field, v) in [
            (Field::Gamma, &gamma),
            (Field::Beta, &beta),
            (Field::RunningMean, &running_mean),
            (Field::RunningVar, &running_var),
        ] {
            if let Some(channel) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFiniteParam {
                    field,
                    channel,
                    value: v[channel].to_f64_raw(),
                });
            }
        }
        if !eps.is_finite() {
            return Err(Error::NonFiniteParam {
                field: Field::Eps,
                channel: 0,
                value: eps.to_f64_raw(),
            });
        }
        if eps < T::zero() {
            return Err(Error::NegativeEps(eps.to_f64_raw()));
        }
        for (channel, &v) in running_var.iter().enumerate() {
            if v < T::zero() {
                return Err(Error::NegativeVariance {
                    channel,
                    value: v.to_f64_raw(),
                });
            }
            // Both are ≥ 0, so the exact sum is 0 exactly when both are zero.
            if v == T::zero() && eps == T::zero() {
                return Err(Error::ZeroDenominator { channel });
            }
        }
        Ok(BatchNorm {
            gamma,
            beta,
            running_mean,
            running_var,
            eps,
        })
    }

    /// The number of channels `C`.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![1.0f64; 3], vec![0.0; 3], vec![0.0; 3], vec![1.0; 3], 0.0)?;
    /// assert_eq!(bn.channels(), 3);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn channels(&self) -> usize {
        self.gamma.len()
    }

    /// γ, one entry per channel.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![2.0f64], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// assert_eq!(bn.gamma(), &[2.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn gamma(&self) -> &[T] {
        &self.gamma
    }

    /// β, one entry per channel.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![2.0f64], vec![0.5], vec![0.0], vec![1.0], 0.0)?;
    /// assert_eq!(bn.beta(), &[0.5]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn beta(&self) -> &[T] {
        &self.beta
    }

    /// The running mean μ, one entry per channel.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![2.0f64], vec![0.5], vec![0.25], vec![1.0], 0.0)?;
    /// assert_eq!(bn.running_mean(), &[0.25]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn running_mean(&self) -> &[T] {
        &self.running_mean
    }

    /// The running variance σ², one entry per channel.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![2.0f64], vec![0.5], vec![0.25], vec![4.0], 0.0)?;
    /// assert_eq!(bn.running_var(), &[4.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn running_var(&self) -> &[T] {
        &self.running_var
    }

    /// ε.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![2.0f32], vec![0.5], vec![0.25], vec![4.0], 1e-5)?;
    /// assert_eq!(bn.eps(), 1e-5f32);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn eps(&self) -> T {
        self.eps
    }

    /// Channel `c`'s parameters as exact `f64` values `(γ, β, μ, σ², ε)`.
    pub(crate) fn channel_f64(&self, c: usize) -> crate::num::params::Params {
        crate::num::params::Params {
            gamma: self.gamma[c].to_f64_raw(),
            beta: self.beta[c].to_f64_raw(),
            mean: self.running_mean[c].to_f64_raw(),
            var: self.running_var[c].to_f64_raw(),
            eps: self.eps.to_f64_raw(),
        }
    }
}

/// Layer parameters of either dtype, as read from a PARAMS file or a model file.
///
/// ```
/// use bnbound::{AnyBatchNorm, BatchNorm};
/// let p = AnyBatchNorm::F32(BatchNorm::new(vec![0.1f32], vec![0.0], vec![0.0], vec![1.0], 1e-5)?);
/// match p {
///     AnyBatchNorm::F32(bn) => assert_eq!(bn.gamma(), &[0.1f32]),
///     AnyBatchNorm::F64(_) => unreachable!(),
/// }
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum AnyBatchNorm {
    /// `f32` parameters.
    F32(BatchNorm<f32>),
    /// `f64` parameters.
    F64(BatchNorm<f64>),
}

impl AnyBatchNorm {
    /// The dtype.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// assert_eq!(bnbound::AnyBatchNorm::F64(bn).dtype(), bnbound::Dtype::F64);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn dtype(&self) -> Dtype {
        match self {
            AnyBatchNorm::F32(_) => Dtype::F32,
            AnyBatchNorm::F64(_) => Dtype::F64,
        }
    }

    /// The number of channels.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![1.0f32; 3], vec![0.0; 3], vec![0.0; 3], vec![1.0; 3], 0.0)?;
    /// assert_eq!(bnbound::AnyBatchNorm::F32(bn).channels(), 3);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn channels(&self) -> usize {
        match self {
            AnyBatchNorm::F32(b) => b.channels(),
            AnyBatchNorm::F64(b) => b.channels(),
        }
    }
}
