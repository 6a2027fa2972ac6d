//! Sound BatchNorm folding into the neighbouring linear or convolution layer.
//!
//! With the exact per-channel scale `s` and offset `o`:
//! - BatchNorm **after** a layer `y = W·x + b` (one output channel per BatchNorm channel):
//!   `BN(y) = W'·x + b'` with `W' = diag(s)·W`, `b' = s∘b + o`;
//! - BatchNorm **before** a layer `z = W·y + b` (one input channel per BatchNorm channel):
//!   `z = W'·x + b'` with `W'[o, c, …] = W[o, c, …]·s_c`, `b'_o = b_o + Σ_{c,…} W[o, c, …]·o_c`.
//!
//! The folded weights are *intervals* that contain these exact reals
//! ([`Folded`]); [`Folded::to_float`] gives plain float weights with a rigorous bound on
//! their distance to the exact ones, for verifiers that need floats.

use crate::error::{Error, Result};
use crate::layer::enclosure::Enclosure;
use crate::num::float::Float;
use crate::num::round;
use crate::tensor::{Shape, TensorBox};
use crate::transfer::form::AffineForm;

/// A linear or convolution layer's weight and bias: weight dims `[O, I, k…]` (`[O, I]` for
/// a linear layer, OIHW for a 2-D convolution), row-major; bias of length `O` (zeros when
/// the layer has none).
///
/// ```
/// use bnbound::fold::LinearLayer;
/// let conv = LinearLayer::new(&[2, 1, 2, 2], vec![1.0f32; 8], None)?;
/// assert_eq!((conv.out_channels(), conv.in_channels(), conv.kernel_len()), (2, 1, 4));
/// assert_eq!(conv.bias(), &[0.0, 0.0]);
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LinearLayer<T: Float> {
    dims: Vec<usize>,
    weight: Vec<T>,
    bias: Vec<T>,
    has_bias: bool,
}

impl<T: Float> LinearLayer<T> {
    /// Checks and wraps a layer. Errors: [`Error::WrongRank`] for fewer than two dims,
    /// [`Error::ShapeOverflow`], [`Error::LengthMismatch`] for a weight or bias of the wrong
    /// length, [`Error::NonFiniteWeight`] for a NaN or infinite weight or bias entry.
    ///
    /// ```
    /// use bnbound::fold::LinearLayer;
    /// assert!(LinearLayer::new(&[2, 3], vec![0.5f64; 6], Some(vec![1.0, 2.0])).is_ok());
    /// assert!(LinearLayer::new(&[2, 3], vec![0.5f64; 5], None).is_err());
    /// assert!(LinearLayer::new(&[1, 1], vec![f64::NAN], None).is_err());
    /// ```
    pub fn new(dims: &[usize], weight: Vec<T>, bias: Option<Vec<T>>) -> Result<Self> {
        let _env = crate::num::round::env::enter();
        if dims.len() < 2 {
            return Err(Error::WrongRank {
                what: "weight",
                expected: "[out, in, kernel…]",
                found: dims.to_vec(),
            });
        }
        let n = dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| Error::ShapeOverflow(dims.to_vec()))?;
        if weight.len() != n {
            return Err(Error::LengthMismatch {
                what: "weight",
                expected: n,
                found: weight.len(),
            });
        }
        let has_bias = bias.is_some();
        let bias = bias.unwrap_or_else(|| vec![T::zero(); dims[0]]);
        if bias.len() != dims[0] {
            return Err(Error::LengthMismatch {
                what: "bias",
                expected: dims[0],
                found: bias.len(),
            });
        }
        for (what, v) in [("weight", &weight), ("bias", &bias)] {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFiniteWeight {
                    what,
                    index: i,
                    value: v[i].to_f64_raw(),
                });
            }
        }
        Ok(LinearLayer {
            dims: dims.to_vec(),
            weight,
            bias,
            has_bias,
        })
    }

    /// `O`, the number of output channels.
    ///
    /// ```
    /// let l = bnbound::fold::LinearLayer::new(&[4, 3], vec![0.0f32; 12], None)?;
    /// assert_eq!(l.out_channels(), 4);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn out_channels(&self) -> usize {
        self.dims[0]
    }

    /// `I`, the number of input channels.
    ///
    /// ```
    /// let l = bnbound::fold::LinearLayer::new(&[4, 3], vec![0.0f32; 12], None)?;
    /// assert_eq!(l.in_channels(), 3);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn in_channels(&self) -> usize {
        self.dims[1]
    }

    /// The number of weights per (output, input) channel pair (`kh·kw` for OIHW, 1 for a
    /// linear layer).
    ///
    /// ```
    /// let l = bnbound::fold::LinearLayer::new(&[1, 2, 3, 3], vec![0.0f32; 18], None)?;
    /// assert_eq!(l.kernel_len(), 9);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn kernel_len(&self) -> usize {
        self.dims[2..].iter().product()
    }

    /// The weight dims.
    ///
    /// ```
    /// let l = bnbound::fold::LinearLayer::new(&[1, 2], vec![0.0f32; 2], None)?;
    /// assert_eq!(l.dims(), &[1, 2]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The weights, row-major.
    ///
    /// ```
    /// let l = bnbound::fold::LinearLayer::new(&[1, 2], vec![1.0f32, 2.0], None)?;
    /// assert_eq!(l.weight(), &[1.0, 2.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn weight(&self) -> &[T] {
        &self.weight
    }

    /// The bias.
    ///
    /// ```
    /// let l = bnbound::fold::LinearLayer::new(&[1, 2], vec![1.0f32, 2.0], Some(vec![0.5]))?;
    /// assert_eq!(l.bias(), &[0.5]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn bias(&self) -> &[T] {
        &self.bias
    }

    /// Whether the layer was given a bias (a runtime's fusion computes the folded bias
    /// differently without one; the real composition is the same).
    ///
    /// ```
    /// use bnbound::fold::LinearLayer;
    /// assert!(LinearLayer::new(&[1, 1], vec![1.0f32], Some(vec![0.0]))?.has_bias());
    /// assert!(!LinearLayer::new(&[1, 1], vec![1.0f32], None)?.has_bias());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn has_bias(&self) -> bool {
        self.has_bias
    }

    /// The layer as an affine form with one row per output channel.
    fn as_form(&self) -> Result<AffineForm<T>> {
        let rows = self.out_channels();
        let cols = self.weight.len().checked_div(rows).unwrap_or(0);
        AffineForm::point(rows, cols, self.weight.clone(), self.bias.clone())
    }
}

/// Folded interval weights: every entry contains the exact real weight (bias) of the
/// composition of the BatchNorm (exact real `s`, `o`) and the layer.
///
/// ```
/// use bnbound::{fold::LinearLayer, BatchNorm};
/// // s = 0.5, o = 1: BN after y = 2x + 1 gives 0.5·(2x + 1) + 1 = x + 1.5.
/// let bn = BatchNorm::new(vec![1.0f64], vec![1.0], vec![0.0], vec![4.0], 0.0)?;
/// let f = bn.enclose().fold_into_preceding(&LinearLayer::new(&[1, 1], vec![2.0], Some(vec![1.0]))?)?;
/// assert_eq!((f.weight().lo()[0], f.weight().hi()[0]), (1.0, 1.0));
/// let (lo, hi) = (f.bias().lo()[0], f.bias().hi()[0]);
/// assert!(lo <= 1.5 && 1.5 <= hi && hi - lo <= 1e-15);
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Folded<T: Float> {
    dims: Vec<usize>,
    form: AffineForm<T>,
}

impl<T: Float> Folded<T> {
    /// The weight dims (those of the layer).
    ///
    /// ```
    /// use bnbound::{fold::LinearLayer, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f32; 2], vec![0.0; 2], vec![0.0; 2], vec![1.0; 2], 0.0)?;
    /// let f = bn.enclose().fold_into_following(&LinearLayer::new(&[3, 2], vec![1.0; 6], None)?)?;
    /// assert_eq!(f.dims(), &[3, 2]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The interval weights, as an `[O, I·k…]` box in the layer's row-major order.
    ///
    /// ```
    /// use bnbound::{fold::LinearLayer, BatchNorm};
    /// let bn = BatchNorm::new(vec![-1.0f32], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// let f = bn.enclose().fold_into_following(&LinearLayer::new(&[1, 1], vec![3.0], None)?)?;
    /// assert_eq!(f.weight().lo(), &[-3.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn weight(&self) -> &TensorBox<T> {
        self.form.a()
    }

    /// The interval bias, of length `O`.
    ///
    /// ```
    /// use bnbound::{fold::LinearLayer, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f32], vec![2.0], vec![0.0], vec![1.0], 0.0)?; // o = 2
    /// let f = bn.enclose().fold_into_following(&LinearLayer::new(&[1, 1], vec![3.0], None)?)?;
    /// assert_eq!((f.bias().lo()[0], f.bias().hi()[0]), (6.0, 6.0));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn bias(&self) -> &TensorBox<T> {
        self.form.c()
    }

    /// Plain float weights with rigorous error bounds: for each entry the midpoint `m` of
    /// its interval and a radius `r` (rounded up) with `|exact − m| ≤ r`. A verifier that
    /// uses the float weights must add `Σ r·|x|` (and the bias radius) to its bounds.
    ///
    /// ```
    /// use bnbound::{fold::LinearLayer, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![2.0], 0.0)?; // s = 1/√2
    /// let f = bn.enclose().fold_into_preceding(&LinearLayer::new(&[1, 1], vec![1.0], None)?)?;
    /// let p = f.to_float();
    /// let exact = std::f64::consts::FRAC_1_SQRT_2; // within an ulp of 1/√2
    /// assert!((p.weight()[0] - exact).abs() <= p.weight_radius()[0] + 2e-16);
    /// assert!(p.max_weight_radius() > 0.0 && p.max_weight_radius() < 1e-15);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn to_float(&self) -> FloatFolded<T> {
        let _env = crate::num::round::env::enter();
        FloatFolded::from_parts(
            self.dims.clone(),
            mid_radius(self.form.a()),
            mid_radius(self.form.c()),
        )
    }
}

/// A layer's float weights and biases with per-entry radii: the exact real folded value
/// lies within `radius` of the float value. From [`Folded::to_float`] (midpoints of the
/// sound intervals), or from `Bounds::fold_into_preceding` under deployed semantics (the
/// runtime's own fused floats, with their distance to the exact composition).
///
/// ```
/// use bnbound::{fold::LinearLayer, BatchNorm};
/// let bn = BatchNorm::new(vec![2.0f32], vec![0.0], vec![0.0], vec![4.0], 0.0)?; // s = 1
/// let f = bn.enclose().fold_into_preceding(&LinearLayer::new(&[1, 2], vec![1.0, 3.0], None)?)?;
/// let p = f.to_float();
/// assert_eq!((p.dims(), p.weight(), p.weight_radius()), (&[1, 2][..], &[1.0, 3.0][..], &[0.0, 0.0][..]));
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FloatFolded<T: Float> {
    dims: Vec<usize>,
    weight: Vec<T>,
    weight_radius: Vec<T>,
    bias: Vec<T>,
    bias_radius: Vec<T>,
}

impl<T: Float> FloatFolded<T> {
    /// From its parts (lengths as the layer's; radii rounded up by the caller).
    pub(crate) fn from_parts(
        dims: Vec<usize>,
        (weight, weight_radius): (Vec<T>, Vec<T>),
        (bias, bias_radius): (Vec<T>, Vec<T>),
    ) -> Self {
        FloatFolded {
            dims,
            weight,
            weight_radius,
            bias,
            bias_radius,
        }
    }

    /// The weight dims (those of the layer folded into).
    ///
    /// ```
    /// use bnbound::{fold::LinearLayer, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// let f = bn.enclose().fold_into_preceding(&LinearLayer::new(&[1, 3], vec![1.0; 3], None)?)?;
    /// assert_eq!(f.to_float().dims(), &[1, 3]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The float weights, row-major as the layer's.
    ///
    /// ```
    /// use bnbound::{fold::LinearLayer, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![4.0], 0.0)?; // s = 1/2
    /// let f = bn.enclose().fold_into_preceding(&LinearLayer::new(&[1, 1], vec![3.0], None)?)?;
    /// assert_eq!(f.to_float().weight(), &[1.5]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn weight(&self) -> &[T] {
        &self.weight
    }

    /// `|exact weight − weight| ≤ weight_radius`, per entry (`+∞` if unbounded).
    ///
    /// ```
    /// use bnbound::{fold::LinearLayer, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![2.0], 0.0)?; // s = 1/√2
    /// let p = bn.enclose().fold_into_preceding(&LinearLayer::new(&[1, 1], vec![1.0], None)?)?.to_float();
    /// let exact = std::f64::consts::FRAC_1_SQRT_2; // within an ulp of 1/√2
    /// assert!((p.weight()[0] - exact).abs() <= p.weight_radius()[0] + 2e-16);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn weight_radius(&self) -> &[T] {
        &self.weight_radius
    }

    /// The float biases, one per output channel.
    ///
    /// ```
    /// use bnbound::{fold::LinearLayer, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f32], vec![2.0], vec![0.0], vec![1.0], 0.0)?; // o = 2
    /// let f = bn.enclose().fold_into_preceding(&LinearLayer::new(&[1, 1], vec![3.0], None)?)?;
    /// assert_eq!(f.to_float().bias(), &[2.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn bias(&self) -> &[T] {
        &self.bias
    }

    /// `|exact bias − bias| ≤ bias_radius`, per entry.
    ///
    /// ```
    /// use bnbound::{fold::LinearLayer, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f32], vec![2.0], vec![0.0], vec![1.0], 0.0)?;
    /// let f = bn.enclose().fold_into_preceding(&LinearLayer::new(&[1, 1], vec![3.0], None)?)?;
    /// assert_eq!(f.to_float().bias_radius(), &[0.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn bias_radius(&self) -> &[T] {
        &self.bias_radius
    }

    /// The largest weight radius.
    ///
    /// ```
    /// use bnbound::{fold::LinearLayer, BatchNorm};
    /// let bn = BatchNorm::new(vec![2.0f32], vec![0.0], vec![0.0], vec![4.0], 0.0)?; // s = 1
    /// let f = bn.enclose().fold_into_preceding(&LinearLayer::new(&[1, 2], vec![1.0, 3.0], None)?)?;
    /// assert_eq!(f.to_float().max_weight_radius(), 0.0); // exact
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn max_weight_radius(&self) -> T {
        let _env = crate::num::round::env::enter();
        self.weight_radius
            .iter()
            .fold(T::zero(), |a, &r| if r > a { r } else { a })
    }

    /// The largest bias radius.
    ///
    /// ```
    /// use bnbound::{fold::LinearLayer, BatchNorm};
    /// let bn = BatchNorm::new(vec![2.0f32], vec![0.0], vec![0.0], vec![4.0], 0.0)?;
    /// let f = bn.enclose().fold_into_preceding(&LinearLayer::new(&[1, 1], vec![1.0], None)?)?;
    /// assert_eq!(f.to_float().max_bias_radius(), 0.0);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn max_bias_radius(&self) -> T {
        let _env = crate::num::round::env::enter();
        self.bias_radius
            .iter()
            .fold(T::zero(), |a, &r| if r > a { r } else { a })
    }
}

/// Midpoints (inside each interval) and outward-rounded radii.
fn mid_radius<T: Float>(b: &TensorBox<T>) -> (Vec<T>, Vec<T>) {
    let mid: Vec<T> = b
        .lo()
        .iter()
        .zip(b.hi())
        .map(|(&l, &h)| crate::transfer::form::midpoint(l, h))
        .collect();
    let r = radii(&mid, b);
    (mid, r)
}

/// For floats `v` inside the intervals of `b`: `max(v − lo, hi − v)` per entry, rounded
/// up, so `|exact − v| ≤ radius` for every exact value in the interval.
pub(crate) fn radii<T: Float>(v: &[T], b: &TensorBox<T>) -> Vec<T> {
    v.iter()
        .zip(b.lo().iter().zip(b.hi()))
        .map(|(&x, (&l, &h))| {
            let x = x.to_f64_raw();
            let r = round::add_up(x, -l.to_f64_raw()).max(round::add_up(h.to_f64_raw(), -x));
            T::from_f64_up_raw(r)
        })
        .collect()
}

impl Enclosure {
    /// Folds this BatchNorm into the layer that *precedes* it (`BN(W·x + b)`): returns
    /// interval weights containing `diag(s)·W` and `s∘b + o` for the exact real `s`, `o`.
    /// The layer's output channels are the BatchNorm's channels.
    /// Errors: [`Error::ChannelMismatch`] when `O ≠ C`.
    ///
    /// ```
    /// use bnbound::{fold::LinearLayer, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f32, -2.0], vec![0.0; 2], vec![0.0; 2], vec![1.0; 2], 0.0)?;
    /// let conv = LinearLayer::new(&[2, 1, 1, 2], vec![1.0, 2.0, 3.0, 4.0], Some(vec![1.0, 1.0]))?;
    /// let f = bn.enclose().fold_into_preceding(&conv)?;
    /// assert_eq!(f.weight().lo(), &[1.0, 2.0, -6.0, -8.0]);
    /// let (lo, hi) = (f.bias().lo(), f.bias().hi());
    /// assert!(lo[0] <= 1.0 && 1.0 <= hi[0] && lo[1] <= -2.0 && -2.0 <= hi[1]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn fold_into_preceding<T: Float>(&self, layer: &LinearLayer<T>) -> Result<Folded<T>> {
        let _env = crate::num::round::env::enter();
        let form = self.compose(&layer.as_form()?)?;
        Ok(Folded {
            dims: layer.dims.clone(),
            form,
        })
    }

    /// Folds this BatchNorm into the layer that *follows* it (`W·BN(x) + b`): returns
    /// interval weights containing `W[o, c, …]·s_c` and `b_o + Σ_{c,…} W[o, c, …]·o_c` for the
    /// exact real `s`, `o`. The layer's input channels are the BatchNorm's channels.
    ///
    /// Only valid when the following layer does not pad its input: a zero-padded
    /// convolution sees `0`, not `o_c`, at the border, and no folded weights reproduce that.
    /// Errors: [`Error::ChannelMismatch`] when `I ≠ C`.
    ///
    /// ```
    /// use bnbound::{fold::LinearLayer, BatchNorm};
    /// // s = (1, −1), o = (1, 1); W = [[1, 2]], b = 0: W' = [[1, −2]], b' = 1 + 2 = 3.
    /// let bn = BatchNorm::new(vec![2.0f64, -1.0], vec![1.0, 0.0], vec![0.0, 1.0], vec![4.0, 1.0], 0.0)?;
    /// let f = bn.enclose().fold_into_following(&LinearLayer::new(&[1, 2], vec![1.0, 2.0], None)?)?;
    /// assert_eq!(f.weight().lo(), &[1.0, -2.0]);
    /// assert_eq!((f.bias().lo()[0], f.bias().hi()[0]), (3.0, 3.0));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn fold_into_following<T: Float>(&self, layer: &LinearLayer<T>) -> Result<Folded<T>> {
        let _env = crate::num::round::env::enter();
        if layer.in_channels() != self.channels() {
            return Err(Error::ChannelMismatch {
                expected: self.channels(),
                found: layer.in_channels(),
            });
        }
        let (rows, k) = (layer.out_channels(), layer.kernel_len());
        let cols = layer.weight.len().checked_div(rows).unwrap_or(0);
        // W as a back-substitution form: column (c, kk) of row o belongs to channel c, so
        // W·diag(s) and b + W·o are `backward_shaped` over the per-sample shape [C, k].
        let w = AffineForm::new(
            TensorBox::new(
                Shape::new(&[rows, cols])?,
                layer.weight.clone(),
                layer.weight.clone(),
            )?,
            TensorBox::new(Shape::new(&[rows])?, layer.bias.clone(), layer.bias.clone())?,
        )?;
        let form = if rows == 0 || k == 0 {
            // No weights: the folded layer is its bias, exactly.
            w
        } else {
            self.backward_shaped(&w, &[self.channels(), k])?
        };
        Ok(Folded {
            dims: layer.dims.clone(),
            form,
        })
    }
}
